// Copies of a caller's message with one field replaced (its headers, attributes or properties), so that the
// caller's object is never written. A plain object (a literal, parsed JSON) is copied field by field; anything
// else (a class instance, getters on a prototype) becomes the prototype of the copy, so that the client's reads
// still find every field it inherits, and its getters run on the original: a spread would keep own fields only
// and lose a payload behind a getter.

function isPlain(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A new object that reads as `source` with `key` set to `value` (without `key`: the same fields, a new identity,
 * e.g. for a client that rewrites what it is given). `source` itself is never written, frozen or not.
 */
export function copyWith<T extends object>(source: T, key?: string, value?: unknown): T {
  if (isPlain(source)) {
    const copy = { ...source } as Record<string, unknown>;
    if (key !== undefined) copy[key] = value;
    return copy as T;
  }
  const copy = Object.create(source) as T;
  delegateAccessors(copy, source, key);
  if (key !== undefined) setOwn(copy, key, value);
  return copy;
}

/**
 * Each getter of `source` (its own and its classes'), read through the copy, runs on `source` itself: one
 * reading a private field (`#body`) would throw with the copy as `this`.
 */
function delegateAccessors(copy: object, source: object, except: string | undefined): void {
  for (let at: object | null = source; at !== null && at !== Object.prototype; at = Object.getPrototypeOf(at) as object | null) {
    for (const name of Object.getOwnPropertyNames(at)) {
      if (name === except || Object.hasOwn(copy, name)) continue;
      const descriptor = Object.getOwnPropertyDescriptor(at, name);
      if (descriptor?.get === undefined) continue;
      Object.defineProperty(copy, name, {
        get: () => (source as Record<string, unknown>)[name],
        enumerable: descriptor.enumerable ?? false,
        configurable: true,
      });
    }
  }
}

/**
 * Sets `key` as an own, enumerable field of `copy` (an object of ours, e.g. from {@link copyWith}). Plain
 * assignment would throw on a read-only field the copy inherits, or run a setter it inherits.
 */
export function setOwn(copy: object, key: string, value: unknown): void {
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
}
