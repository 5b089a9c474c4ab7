// Owns hostile inputs for property tests: values of every wrong type (throwing getters, hostile and revoked
// proxies, throwing Dates, huge buffers, NaN), objects built from them, and the checks that a reader never writes
// to what it reads (a deep snapshot of own properties, and a proxy that records every write).
import { createHash } from 'node:crypto';
import fc from 'fast-check';

/** What hostile values throw: a reader must catch it, never let it out. */
export class HostileError extends Error {}

/** An object whose every trap throws (a revoked proxy behaves the same). */
export function throwingProxy(): object {
  return new Proxy(
    {},
    {
      get: () => {
        throw new HostileError('get');
      },
      has: () => {
        throw new HostileError('has');
      },
      ownKeys: () => {
        throw new HostileError('ownKeys');
      },
      getOwnPropertyDescriptor: () => {
        throw new HostileError('getOwnPropertyDescriptor');
      },
      getPrototypeOf: () => {
        throw new HostileError('getPrototypeOf');
      },
    },
  );
}

/** A revoked proxy: every access throws a TypeError. */
export function revoked(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

/** A Date whose methods throw, and one claiming to be a Date. */
export class ThrowingDate extends Date {
  override getTime(): number {
    throw new HostileError('getTime');
  }
}

/** A value made only when a message is built (fast-check inspects generated values, and these throw when looked at). */
export class Lazy {
  constructor(readonly make: () => unknown) {}
}
export const lazy = (make: () => unknown): fc.Arbitrary<Lazy> => fc.constant(new Lazy(make));
/** The value itself, made now if it is {@link Lazy}. */
export const unwrap = (v: unknown): unknown => (v instanceof Lazy ? v.make() : v);

export const weirdNumber = fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, -1, 1, 1.5, 2 ** 53, 2 ** 53 + 2, -(2 ** 63), Number.MAX_VALUE, Number.MIN_VALUE);
export const weirdString = fc.oneof(
  fc.constantFrom('', ' ', 'NaN', '0', '-1', '1e400', '0x10', '\u0000', '\ud800', 'x'.repeat(100_000)),
  fc.string({ maxLength: 40 }),
);
/** Objects posing as a Long or bigint: a `toString` that works, throws, or returns no string. */
export const longLike = fc.oneof(
  fc.bigInt().map((n) => ({ toString: () => n.toString() })),
  lazy(() => ({
    toString: () => {
      throw new HostileError('toString');
    },
  })),
  lazy(() => ({ toString: () => ({}) })),
  fc.constant(Object.create(null) as object),
);

/** Any value, with the wrong types a field can hold (some {@link Lazy}: pass them through {@link unwrap}). */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ withBigInt: true, withBoxedValues: true, withDate: true, withMap: true, withNullPrototype: true, withSet: true, withTypedArray: true, withSparseArray: true, maxDepth: 2 }),
  weirdNumber,
  weirdString,
  longLike,
  fc.date({ noInvalidDate: false }),
  fc.constantFrom(null, undefined, Symbol('s'), () => 1, new Date(NaN), new Date(0), new Date(8.64e15)),
  lazy(() => new ThrowingDate()),
  fc.constant(Buffer.alloc(0)),
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  lazy(() => Buffer.alloc(1 << 20, 0xab)),
  lazy(throwingProxy),
  lazy(revoked),
  fc.dictionary(weirdString, fc.oneof(weirdNumber, weirdString, fc.constant(null)), { maxKeys: 5 }),
);

type How = 'value' | 'throwing getter' | 'getter';

/** A hostile object, built fresh on each `build()` (so that each run reads one nobody has touched). */
export interface HostileObject<T = object> {
  build: () => T;
  describe: string;
}

/**
 * An object with some of `fields`: each a hostile value, as a data property, a getter, or a getter that throws;
 * maybe frozen (with its object-valued fields), or a proxy that throws on every access, or a revoked one.
 */
export function hostileObject(fields: readonly string[]): fc.Arbitrary<HostileObject> {
  return fc
    .record({
      values: fc.dictionary(fc.constantFrom(...fields), fc.record({ value: hostileValue, how: fc.constantFrom<How>('value', 'value', 'getter', 'throwing getter') })),
      frozen: fc.boolean(),
      proxy: fc.constantFrom('none', 'none', 'none', 'throwing', 'revoked'),
    })
    .map(({ values, frozen, proxy }) => ({
      describe: `${Object.keys(values).join(',')} frozen=${frozen} proxy=${proxy}`,
      build: (): object => {
        if (proxy === 'throwing') return throwingProxy();
        if (proxy === 'revoked') return revoked();
        const target: Record<string, unknown> = {};
        for (const [key, field] of Object.entries(values)) {
          const value = unwrap(field.value);
          // defined, not assigned: `__proto__` becomes an own property, as JSON.parse makes it
          if (field.how === 'value') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
          else
            Object.defineProperty(target, key, {
              enumerable: true,
              get: () => {
                if (field.how === 'throwing getter') throw new HostileError(key);
                return value;
              },
            });
        }
        if (frozen) {
          for (const d of Object.values(Object.getOwnPropertyDescriptors(target))) {
            try {
              if ('value' in d && d.value !== null && typeof d.value === 'object') Object.freeze(d.value);
            } catch {
              // a typed array with elements or a proxy cannot be frozen: left as it is
            }
          }
          Object.freeze(target);
        }
        return target;
      },
    }));
}

const ids = new WeakMap<object, number>();
let nextId = 0;
/** An object's identity, without touching it (a revoked proxy throws on any access). */
function ref(value: object): string {
  if (!ids.has(value)) ids.set(value, ++nextId);
  return `object #${ids.get(value)}`;
}

/** Own properties, read without calling getters: what a reader must leave exactly as it found it. */
export function snapshot(value: unknown, depth = 2): unknown {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return value;
  if (depth === 0 || typeof value === 'function') return ref(value);
  let keys: (string | symbol)[];
  try {
    if (Buffer.isBuffer(value)) return `bytes ${createHash('sha1').update(value).digest('hex')}`; // contents, not the reference
    keys = Reflect.ownKeys(value);
  } catch {
    return 'a proxy that throws';
  }
  return {
    frozen: Object.isFrozen(value),
    extensible: Object.isExtensible(value),
    keys: keys.map((key) => {
      const d = Object.getOwnPropertyDescriptor(value, key)!;
      // eslint-disable-next-line @typescript-eslint/unbound-method -- the accessors' identity only: never called
      const { get, set } = d;
      return [key, get && ref(get), set && ref(set), d.enumerable, d.writable, 'value' in d ? snapshot(d.value, depth - 1) : undefined];
    }),
  };
}

/** `target` behind a proxy that records every write (and refuses it); nested plain objects are watched too. */
export function watched<T extends object>(target: T, writes: string[]): T {
  return new Proxy(target, {
    set: (_t, key) => (writes.push(`set ${String(key)}`), false),
    defineProperty: (_t, key) => (writes.push(`define ${String(key)}`), false),
    deleteProperty: (_t, key) => (writes.push(`delete ${String(key)}`), false),
    setPrototypeOf: () => (writes.push('setPrototypeOf'), false),
    preventExtensions: () => (writes.push('preventExtensions'), false),
    get: (t, key, receiver) => {
      const v: unknown = Reflect.get(t, key, receiver);
      // not Dates or Buffers: their methods need the real object
      return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype ? watched(v, writes) : v;
    },
  });
}

/** A message id as a span may carry it: absent, or a string of 1 to 256 characters. */
export const isId = (v: unknown): boolean => v === undefined || (typeof v === 'string' && v.length > 0 && v.length <= 256);

/** A value an OpenTelemetry attribute can take (no NaN, no Infinity, no object). */
export const isSafeAttributeValue = (v: unknown): boolean => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

/** Collects failed checks, so that one run reports all of them: `expect(bad).toEqual([])` at the end. */
export function problems(): { bad: string[]; check: (ok: boolean, what: string, value: unknown) => void } {
  const bad: string[] = [];
  return { bad, check: (ok, what, value) => void (ok || bad.push(`${what}: ${String(value).slice(0, 40)}`)) };
}

/** The fields of core's MessageFacts that every client's reader fills. */
export interface FactsLike {
  destination?: unknown;
  messageId?: unknown;
  enqueuedAtMs?: unknown;
  deliveryCount?: unknown;
  replayedFromDeadLetter?: unknown;
}

/** Checks what core's policy takes of a reader's facts: a string destination, an id, a positive time, a count >= 1. */
export function checkFacts(facts: FactsLike, check: (ok: boolean, what: string, value: unknown) => void): void {
  const { enqueuedAtMs, deliveryCount } = facts;
  check(typeof facts.destination === 'string', 'destination', facts.destination);
  check(isId(facts.messageId), 'messageId', facts.messageId);
  check(enqueuedAtMs === undefined || (typeof enqueuedAtMs === 'number' && Number.isFinite(enqueuedAtMs) && enqueuedAtMs > 0), 'enqueuedAtMs', enqueuedAtMs);
  check(deliveryCount === undefined || (Number.isSafeInteger(deliveryCount) && (deliveryCount as number) >= 1), 'deliveryCount', deliveryCount);
  check(facts.replayedFromDeadLetter === undefined || facts.replayedFromDeadLetter === true, 'replayedFromDeadLetter', facts.replayedFromDeadLetter);
}
