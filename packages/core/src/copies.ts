// Copies of a caller's message with one field replaced (its headers, attributes or properties), so that the
// caller's object is never written. The copy is always a plain object, because clients spread what they are
// given (kafkajs's encoder) or test own fields (Confluent's `Object.hasOwn(msg, 'partition')`). A plain source
// is copied field by field; any other (a class instance, an object made with Object.create) also gets the value
// of each getter its classes define, read on the source itself (so one that reads a private field works): a
// spread would keep own fields only and lose a payload behind a getter.

function isPlain(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A new plain object that reads as `source` with `key` set to `value` (without `key`: the same fields, a new
 * identity, e.g. for a client that rewrites what it is given). `source` itself is never written, frozen or not.
 * A getter that throws makes this throw: the caller then sends the message as it is, untraced.
 */
export function copyWith<T extends object>(source: T, key?: string, value?: unknown): T {
  if (isPlain(source)) {
    const copy = { ...source } as Record<string, unknown>;
    if (key !== undefined) copy[key] = value;
    return copy as T;
  }
  const copy = materialize(source);
  if (key !== undefined) setOwn(copy, key, value);
  return copy as T;
}

/**
 * Sets `key` as an own, enumerable, writable field of `copy` (an object of ours, e.g. from {@link copyWith}).
 * defineProperty, not assignment: a field named `__proto__` stays a field.
 */
export function setOwn(copy: object, key: PropertyKey, value: unknown): void {
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Every enumerable field of `source` (own or inherited), then the values of the getters its prototypes define. */
function materialize(source: object): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  const fields = source as Record<string, unknown>;
  for (const name in fields) setOwn(copy, name, fields[name]);
  for (const symbol of Object.getOwnPropertySymbols(source)) {
    if (Object.prototype.propertyIsEnumerable.call(source, symbol)) setOwn(copy, symbol, (source as Record<symbol, unknown>)[symbol]);
  }
  for (let at = Object.getPrototypeOf(source) as object | null; at !== null && at !== Object.prototype; at = Object.getPrototypeOf(at) as object | null) {
    for (const name of Object.getOwnPropertyNames(at)) {
      if (Object.hasOwn(copy, name)) continue;
      if (Object.getOwnPropertyDescriptor(at, name)?.get === undefined) continue;
      // Read on the source: the getter sees its own instance, private fields included.
      setOwn(copy, name, fields[name]);
    }
  }
  return copy;
}
