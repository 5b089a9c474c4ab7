// Property-based hostile input through the Service Bus facts readers (src/facts.ts, and the carrier read of
// src/carrier.ts): whatever a received message holds — ids, times, counts, sequence numbers, dead-letter
// markers and application properties of every wrong type, null, huge, NaN, throwing getters, hostile proxies,
// frozen objects — the readers never throw, return only values a span or core's policy can take, and never
// write to the message.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { deliveryCount, enqueuedAtMs, fromDeadLetter, idString, messageAttributes, messageFacts, sequenceNumber } from '../src/facts.js';
import { propertiesGetter, propertiesOf } from '../src/carrier.js';
import { entityOf } from '../src/destination.js';
import type { ReceivedMessageLike } from '../src/internal-types.js';

const FIELDS = [
  'messageId',
  'correlationId',
  'enqueuedTimeUtc',
  'deliveryCount',
  'sequenceNumber',
  'deadLetterSource',
  'deadLetterReason',
  'applicationProperties',
  'body',
  'lockToken',
] as const;

class HostileError extends Error {}

/** An object whose every trap throws (a revoked proxy behaves the same). */
function throwingProxy(): object {
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

function revoked(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

/** A Date whose methods throw, and one claiming to be a Date. */
class ThrowingDate extends Date {
  override getTime(): number {
    throw new HostileError('getTime');
  }
}

/** A value made only when a message is built (fast-check inspects generated values, and these throw when looked at). */
class Lazy {
  constructor(readonly make: () => unknown) {}
}
const lazy = (make: () => unknown): fc.Arbitrary<Lazy> => fc.constant(new Lazy(make));
const unwrap = (v: unknown): unknown => (v instanceof Lazy ? v.make() : v);

const weirdNumber = fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, -1, 1, 1.5, 2 ** 53, 2 ** 53 + 2, -(2 ** 63), Number.MAX_VALUE, Number.MIN_VALUE);
const weirdString = fc.oneof(
  fc.constantFrom('', ' ', 'NaN', '0', '-1', '1e400', '0x10', '\u0000', '\ud800', 'x'.repeat(100_000)),
  fc.string({ maxLength: 40 }),
);
const longLike = fc.oneof(
  fc.bigInt().map((n) => ({ toString: () => n.toString() })),
  lazy(() => ({
    toString: () => {
      throw new HostileError('toString');
    },
  })),
  lazy(() => ({ toString: () => ({}) })),
  fc.constant(Object.create(null) as object),
);

/** Any value, with the wrong types a field can hold. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
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

/**
 * An object with some of `fields`: each a hostile value, as a data property, a getter, or a getter that throws;
 * maybe frozen (with its object-valued fields), or a proxy that throws on every access, or a revoked one.
 */
function hostileObject(fields: readonly string[]): fc.Arbitrary<{ build: () => object; describe: string }> {
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

/** Own properties, read without calling getters: what a reader must leave exactly as it found it. */
const ids = new WeakMap<object, number>();
let nextId = 0;
/** An object's identity, without touching it (a revoked proxy throws on any access). */
function ref(value: object): string {
  if (!ids.has(value)) ids.set(value, ++nextId);
  return `object #${ids.get(value)}`;
}

function snapshot(value: unknown, depth = 2): unknown {
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
      return [key, d.get && ref(d.get), d.set && ref(d.set), d.enumerable, d.writable, 'value' in d ? snapshot(d.value, depth - 1) : undefined];
    }),
  };
}

/** `target` behind a proxy that records every write (and refuses it); nested plain objects are watched too. */
function watched<T extends object>(target: T, writes: string[]): T {
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

const hostileMessage = hostileObject(FIELDS) as fc.Arbitrary<{ build: () => ReceivedMessageLike; describe: string }>;

const ENTITIES = [entityOf('orders', {}), entityOf('orders/$DeadLetterQueue', {}), entityOf('events/Subscriptions/audit', { host: 'h', port: 5671 })];

function isSafeAttributeValue(v: unknown): boolean {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

/** Everything every reader returns for one message (each call on its own: one must not depend on another). */
function readAll(message: ReceivedMessageLike): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const m = message as unknown as Record<string, unknown>;
  const read = (key: string): unknown => {
    try {
      return m[key];
    } catch {
      return undefined;
    }
  };
  out.id = idString(read('messageId'));
  out.correlation = idString(read('correlationId'));
  out.enqueued = enqueuedAtMs(message);
  out.count = deliveryCount(message);
  out.sequence = sequenceNumber(read('sequenceNumber') as never);
  out.facts = ENTITIES.map((e) => messageFacts(message, e));
  out.deadLetter = ENTITIES.map((e) => fromDeadLetter(message, e));
  out.attributes = ENTITIES.map((e) => messageAttributes(message, messageFacts(message, e)));
  const props = propertiesOf(message);
  out.props = props;
  out.keys = propertiesGetter.keys(props);
  out.traceparent = propertiesGetter.get(props, 'traceparent');
  return out;
}

describe('Service Bus facts readers under hostile input', () => {
  test('never throw, and return only safe values', () => {
    fc.assert(
      fc.property(hostileMessage, ({ build }) => {
        const out = readAll(build());
        const bad: string[] = [];
        const check = (ok: boolean, what: string, value: unknown): void => void (ok || bad.push(`${what}: ${String(value).slice(0, 40)}`));
        const isId = (v: unknown): boolean => v === undefined || (typeof v === 'string' && v.length > 0 && v.length <= 256);
        for (const facts of out.facts as ReturnType<typeof messageFacts>[]) {
          check(typeof facts.destination === 'string', 'destination', facts.destination);
          check(isId(facts.messageId), 'messageId', facts.messageId);
          check(facts.enqueuedAtMs === undefined || (Number.isFinite(facts.enqueuedAtMs) && facts.enqueuedAtMs > 0), 'enqueuedAtMs', facts.enqueuedAtMs);
          check(facts.deliveryCount === undefined || (Number.isSafeInteger(facts.deliveryCount) && facts.deliveryCount >= 1), 'deliveryCount', facts.deliveryCount);
          check(facts.replayedFromDeadLetter === undefined || facts.replayedFromDeadLetter === true, 'replayedFromDeadLetter', facts.replayedFromDeadLetter);
          for (const v of Object.values(facts.linkAttributes ?? {})) check(Number.isSafeInteger(v), 'link attribute', v);
        }
        for (const attributes of out.attributes as Record<string, unknown>[]) {
          for (const [key, v] of Object.entries(attributes)) check(isSafeAttributeValue(v) && (typeof v !== 'string' || v.length <= 256), key, v);
        }
        check(isId(out.id), 'id', out.id);
        check(isId(out.correlation), 'correlation id', out.correlation);
        check(out.sequence === undefined || Number.isSafeInteger(out.sequence), 'sequence', out.sequence);
        check(out.traceparent === undefined || typeof out.traceparent === 'string', 'traceparent', out.traceparent);
        check(Array.isArray(out.keys), 'keys', out.keys);
        expect(bad).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  test('never write to the message or its properties', () => {
    fc.assert(
      fc.property(hostileMessage, ({ build }) => {
        const message = build();
        const before = snapshot(message);
        readAll(message);
        expect(snapshot(message)).toEqual(before);
      }),
      { numRuns: 200 },
    );
  });

  test('a message whose every access is recorded: only reads happen', () => {
    fc.assert(
      fc.property(hostileMessage, ({ build }) => {
        const writes: string[] = [];
        let message: ReceivedMessageLike;
        try {
          message = watched(build(), writes);
        } catch {
          return; // a revoked proxy cannot be watched
        }
        readAll(message);
        expect(writes).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  test('the readers give known values for well-formed fields', () => {
    const entity = ENTITIES[0]!;
    const message = {
      messageId: 'm-1',
      correlationId: Buffer.from([1, 2]),
      enqueuedTimeUtc: new Date(1_700_000_000_000),
      deliveryCount: 0,
      sequenceNumber: { toString: () => '42' },
      deadLetterReason: 'MaxDeliveryCountExceeded',
    } as unknown as ReceivedMessageLike;
    const facts = messageFacts(message, entity);
    expect(facts).toMatchObject({ destination: 'orders', messageId: 'm-1', enqueuedAtMs: 1_700_000_000_000, deliveryCount: 1, replayedFromDeadLetter: true });
    expect(idString(Buffer.from([1, 2]))).toBe('0102');
    expect(sequenceNumber({ toString: () => String(2n ** 64n) })).toBeUndefined();
  });
});
