// Property-based hostile input through the SQS facts readers (src/facts.ts, src/carrier.ts, src/queue.ts): whatever
// a received message or Lambda record holds — system attributes (SentTimestamp, ApproximateReceiveCount,
// DeadLetterQueueSourceArn), ids, message attributes and bodies of every wrong type, null, huge, NaN, throwing
// getters, hostile proxies, frozen objects — the readers never throw, return only values a span or core's policy
// can take, and never write to what they read.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { carrierOf, snsEnvelopeAttributes, sqsCarrierGetter } from '../src/carrier.js';
import { factsOf } from '../src/facts.js';
import { queueNameOf } from '../src/queue.js';

/** System attributes SQS may return, and a few it does not. */
const SYSTEM = ['SentTimestamp', 'ApproximateReceiveCount', 'DeadLetterQueueSourceArn', 'AWSTraceHeader', 'MessageGroupId', 'ApproximateFirstReceiveTimestamp', '__proto__', 'constructor'] as const;
/** Message attribute names, each holding a hostile value (or a hostile `{DataType, StringValue}`). */
const ATTRIBUTES = ['traceparent', 'tracestate', 'baggage', 'app', 'Content-Type'] as const;

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


const hostileSystem = hostileObject(SYSTEM);
const hostileAttributes = fc.oneof(
  hostileObject(ATTRIBUTES),
  // SDK and Lambda shapes whose fields are hostile
  fc.record({ key: fc.constantFrom(...ATTRIBUTES), shape: hostileObject(['DataType', 'StringValue', 'BinaryValue', 'stringValue', 'dataType', 'Type', 'Value']) }).map(({ key, shape }) => ({
    describe: `${key}: ${shape.describe}`,
    build: (): object => ({ [key]: shape.build() }),
  })),
);
const hostileId = hostileValue;
const hostileBody = fc.oneof(
  hostileValue,
  fc.constantFrom(
    '{"Type":"Notification","TopicArn":"arn","MessageAttributes":null}',
    '{"Type":"Notification","TopicArn":"arn","MessageAttributes":{"traceparent":{"Type":"String","Value":7}}}',
    '{"Type":"Notification","TopicArn":"arn","MessageAttributes":{"traceparent":{"Type":"String","Value":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}}',
    '{"Type":"Notification","TopicArn":"arn","MessageAttributes":[1,2]}',
    `{"TopicArn":"${'x'.repeat(100_000)}","MessageAttributes":{}`,
    '{"Type":"Notification","TopicArn":"arn","MessageAttributes":{"__proto__":{"polluted":1}}}',
  ),
);

const isId = (v: unknown): boolean => v === undefined || (typeof v === 'string' && v.length > 0 && v.length <= 256);

/** Everything the readers return for one message: its id, system attributes, message attributes and body. */
function readAll(lazyId: unknown, system: object, attributes: object, lazyBody: unknown): { facts: ReturnType<typeof factsOf>[]; got: unknown[]; keys: string[]; names: string[] } {
  const [id, body] = [unwrap(lazyId), unwrap(lazyBody)];
  const facts = ['orders', ''].map((queue) => factsOf(queue, id as string, system as Record<string, string>));
  let xray: unknown;
  try {
    xray = (system as Record<string, unknown>).AWSTraceHeader; // the caller's read (process.ts), not the readers'
  } catch {
    xray = undefined;
  }
  const carriers = [true, false].map((sns) => carrierOf(attributes as Record<string, unknown>, xray as string, body, sns));
  const got = carriers.flatMap((c) => [...ATTRIBUTES, 'AWSTraceHeader'].map((key) => sqsCarrierGetter.get(c, key)));
  const keys = carriers.flatMap((c) => sqsCarrierGetter.keys(c));
  snsEnvelopeAttributes(body);
  const names = [queueNameOf(id as string), queueNameOf(body as string)];
  return { facts, got, keys, names };
}

describe('SQS facts readers under hostile input', () => {
  test('never throw, and return only safe values', () => {
    fc.assert(
      fc.property(hostileId, hostileSystem, hostileAttributes, hostileBody, (id, system, attributes, body) => {
        const out = readAll(id, system.build(), attributes.build(), body);
        const bad: string[] = [];
        const check = (ok: boolean, what: string, value: unknown): void => void (ok || bad.push(`${what}: ${String(value).slice(0, 40)}`));
        for (const facts of out.facts) {
          check(typeof facts.destination === 'string', 'destination', facts.destination);
          check(isId(facts.messageId), 'messageId', facts.messageId);
          check(facts.enqueuedAtMs === undefined || (Number.isFinite(facts.enqueuedAtMs) && facts.enqueuedAtMs > 0), 'enqueuedAtMs', facts.enqueuedAtMs);
          check(facts.deliveryCount === undefined || (Number.isSafeInteger(facts.deliveryCount) && facts.deliveryCount >= 1), 'deliveryCount', facts.deliveryCount);
          check(facts.replayedFromDeadLetter === undefined || facts.replayedFromDeadLetter === true, 'replayedFromDeadLetter', facts.replayedFromDeadLetter);
        }
        // The getter hands core strings, or the SDK's attribute object for core to normalise, or nothing.
        for (const v of out.got) check(v === undefined || typeof v === 'string' || (typeof v === 'object' && v !== null), 'carrier value', typeof v);
        for (const k of out.keys) check(typeof k === 'string', 'carrier key', k);
        for (const n of out.names) check(typeof n === 'string', 'queue name', n);
        expect(bad).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  test('never write to what they read', () => {
    fc.assert(
      fc.property(hostileId, hostileSystem, hostileAttributes, hostileBody, (id, systemArb, attributesArb, body) => {
        const [system, attributes] = [systemArb.build(), attributesArb.build()];
        const before = [snapshot(system), snapshot(attributes)];
        readAll(id, system, attributes, body);
        expect([snapshot(system), snapshot(attributes)]).toEqual(before);
        const writes: string[] = [];
        try {
          readAll(id, watched(system, writes), watched(attributes, writes), body);
        } catch {
          return; // a revoked proxy cannot be watched
        }
        expect(writes).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  test('the readers give known values for well-formed attributes', () => {
    expect(factsOf('q', 'id-1', { SentTimestamp: '1700000000000', ApproximateReceiveCount: '2', DeadLetterQueueSourceArn: 'arn:aws:sqs:r:1:dlq' })).toEqual({
      destination: 'q',
      messageId: 'id-1',
      enqueuedAtMs: 1_700_000_000_000,
      deliveryCount: 2,
      replayedFromDeadLetter: true,
    });
    // A timestamp of 0 is no time (it would make the message 56 years old)
    expect(factsOf('q', undefined, { SentTimestamp: '0' }).enqueuedAtMs).toBeUndefined();
    expect(queueNameOf('https://sqs.eu-west-1.amazonaws.com/123/orders')).toBe('orders');
  });
});
