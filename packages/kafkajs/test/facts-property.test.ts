// Property-based hostile input through the Kafka facts readers (src/facts.ts), with the message shapes of both
// clients: kafkajs (string or Buffer header values, `timestamp` a decimal string) and Confluent's KafkaJS API
// (header values always Buffers, repeated keys as Buffer[], `timestamp` '' when the record has none). Whatever a
// consumed message holds — timestamps, keys, values, retry-count and delivery-count headers, dead-letter headers
// of every wrong type, frozen objects — the readers never throw, return only values a span or core's policy can
// take, and never write to what they read. `consumedFacts`, which the consumer calls for every message, never throws
// at all: headers whose getters or proxy traps throw read as no retry and no dead-letter marker. The lower-level
// readers (findHeader, retryCount, ...) let what the input itself throws through unchanged (HostileError, or the
// TypeError of a revoked proxy); anything else they throw, from their own code, fails.
import { HostileError, checkFacts, hostileObject, hostileValue, isSafeAttributeValue, problems, snapshot, unwrap, watched } from '@brokertrace/testing';
import fc from 'fast-check';
import { DEFAULT_DEAD_LETTER_HEADERS, DEFAULT_RETRY_COUNT_HEADERS } from '../src/config.js';
import { consumedFacts, findHeader, hasAnyHeader, HeaderMarkers, keyToString, payloadBytes, recordId, retryCount, timestampMs } from '../src/facts.js';
import type { KafkaHeaders } from '../src/internal-types.js';

/** Header names the readers look for (and case variants, since a miss searches case-insensitively), and others. */
const HEADERS = [
  ...DEFAULT_RETRY_COUNT_HEADERS,
  ...DEFAULT_DEAD_LETTER_HEADERS,
  'X-Retry-Count',
  'KAFKA_DLT-ORIGINAL-TOPIC',
  'delivery-count',
  'traceparent',
  '__proto__',
  'constructor',
] as const;
const RETRY_NAMES = [...DEFAULT_RETRY_COUNT_HEADERS, 'delivery-count'];
const DEAD_LETTER_NAMES = [...DEFAULT_DEAD_LETTER_HEADERS];
const MARKERS = new HeaderMarkers(RETRY_NAMES, DEAD_LETTER_NAMES);

/** A count header value as a client hands it over: text, 4- or 8-byte big-endian, in a Buffer or not, repeated or not. */
const countValue = fc.oneof(
  fc.oneof(fc.nat(), fc.integer({ min: -5, max: 5 }), fc.constant(2 ** 53)).map(String),
  fc.integer().map((n) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    return b;
  }),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(n);
    return b;
  }),
  fc.constantFrom('', ' 3 ', '1e3', '-1', 'x', '9'.repeat(16), '\u0000'),
);
/** One header value: kafkajs's string or Buffer, Confluent's Buffer, or an array of them (repeated keys), or anything. */
const headerValue: fc.Arbitrary<unknown> = fc.oneof(
  countValue,
  countValue.map((v) => (typeof v === 'string' ? Buffer.from(v) : v)), // Confluent: every value a Buffer
  fc.array(fc.oneof(countValue, countValue.map((v) => Buffer.from(v as string))), { maxLength: 4 }), // repeated keys
  fc.array(hostileValue, { maxLength: 3 }),
  hostileValue,
);

/** Headers of one message: plain (as either client builds them) with hostile values, or a hostile object. */
const hostileHeaders = fc.oneof(
  fc.dictionary(fc.constantFrom(...HEADERS), headerValue, { maxKeys: 6 }).map((values) => ({
    describe: `plain ${Object.keys(values).join(',')}`,
    build: (): object => {
      const target: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(values)) Object.defineProperty(target, key, { value: unwrap(value), enumerable: true, writable: true, configurable: true });
      return target;
    },
  })),
  hostileObject(HEADERS),
);
/** `timestamp`: kafkajs's decimal string, Confluent's '' when none, garbage, or any value. */
const hostileTimestamp = fc.oneof(
  fc.constantFrom('', '-1', '0', '1700000000000', ' 1700000000000 ', '1e400', 'NaN', 'garbage', '8.64e15', '-1700000000000'),
  fc.nat().map(String),
  hostileValue,
);
/** Keys and values: strings, Buffers (invalid UTF-8 included), null, or any value. */
const hostileBytes = fc.oneof(fc.string(), fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)), fc.constant(null), hostileValue);

/** Whether `err` is what the hostile input itself threw (a throwing getter or proxy, a revoked proxy). */
function fromInput(err: unknown): boolean {
  // by name, not instanceof: V8's own TypeError may come from another realm than jest's sandbox
  return err instanceof HostileError || ((err as Error | undefined)?.name === 'TypeError' && /revoked/.test(String((err as Error).message)));
}

/** Runs `read`; a throw is recorded unless it is the input's own (see {@link fromInput}). */
function reading<T>(read: () => T, thrown: unknown[]): T | undefined {
  try {
    return read();
  } catch (err) {
    if (!fromInput(err)) thrown.push(err);
    return undefined;
  }
}

/** Everything the readers return for one message; a reader that threw adds to `thrown` (see {@link reading}). */
function readAll(headers: object | undefined, lazyTimestamp: unknown, lazyKey: unknown, lazyValue: unknown, thrown: unknown[] = []): {
  facts: ReturnType<typeof consumedFacts>[];
  found: unknown[];
  counts: unknown[];
  flags: unknown[];
  keys: unknown[];
  sizes: unknown[];
  times: unknown[];
} {
  const [timestamp, key, value] = [unwrap(lazyTimestamp), unwrap(lazyKey), unwrap(lazyValue)];
  const h = headers as KafkaHeaders | undefined;
  const t = thrown;
  const facts = [1, 2].flatMap((seenCount) => {
    // the facts of a message are read whatever its headers throw: no exception for the input's own throws here
    try {
      return [consumedFacts({ topic: 'orders', partition: 0, offset: '42', timestamp, headers: h, seenCount, markers: MARKERS })];
    } catch (err) {
      t.push(err);
      return [];
    }
  });
  const found = HEADERS.map((name) => reading(() => findHeader(h, name), t));
  const counts = [RETRY_NAMES, ['retry_topic-attempts'], []].map((names) => reading(() => retryCount(h, names), t));
  const flags = [DEAD_LETTER_NAMES, [...HEADERS]].map((names) => reading(() => hasAnyHeader(h, names), t) ?? false);
  const keys = [key, value].map((k) => reading(() => keyToString(k), t));
  const sizes = [key, value].map((k) => reading(() => payloadBytes(k), t) ?? 0);
  // timestampMs looks only at strings and numbers: it must never throw, whatever it is given
  return { facts, found, counts, flags, keys, sizes, times: [timestampMs(timestamp)] };
}

describe('Kafka facts readers under hostile input, both clients\u2019 message shapes', () => {
  test('never throw (but what the input throws), and return only safe values', () => {
    fc.assert(
      fc.property(hostileHeaders, hostileTimestamp, hostileBytes, hostileBytes, (headers, timestamp, key, value) => {
        const thrown: unknown[] = [];
        const out = readAll(headers.build(), timestamp, key, value, thrown);
        const { bad, check } = problems();
        for (const err of thrown) check(false, 'thrown by the reader itself', err);
        for (const facts of out.facts) checkFacts(facts, check);
        for (const n of out.counts) check(n === undefined || (Number.isSafeInteger(n) && (n as number) >= 0), 'retry count', n);
        for (const f of out.flags) check(typeof f === 'boolean', 'dead-letter flag', f);
        for (const k of out.keys) check(k === undefined || isSafeAttributeValue(k), 'key string', k);
        for (const s of out.sizes) check(Number.isSafeInteger(s) && (s as number) >= 0, 'payload bytes', s);
        for (const t of out.times) check(t === undefined || (typeof t === 'number' && Number.isFinite(t) && t > 0), 'timestamp', t);
        // findHeader hands back the message's own value (whatever it is): reading it must simply not throw.
        check(out.found.length === HEADERS.length, 'headers found', out.found.length);
        expect(bad).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  test('no headers at all (undefined, as a record without any arrives) is no retry, no dead letter', () => {
    const [facts] = readAll(undefined, '', null, null).facts;
    expect(facts).toEqual({ destination: 'orders', enqueuedAtMs: undefined, deliveryCount: 1, replayedFromDeadLetter: undefined });
  });

  test('never write to what they read', () => {
    fc.assert(
      fc.property(hostileHeaders, hostileTimestamp, hostileBytes, hostileBytes, (headersArb, timestamp, key, value) => {
        const headers = headersArb.build();
        const before = snapshot(headers, 3);
        readAll(headers, timestamp, key, value);
        expect(snapshot(headers, 3)).toEqual(before);
        const writes: string[] = [];
        try {
          readAll(watched(headers, writes), timestamp, key, value);
        } catch {
          return; // a revoked proxy cannot be watched
        }
        expect(writes).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  test('the readers give known values for both clients\u2019 well-formed shapes', () => {
    const input = { topic: 't', partition: 0, offset: '1', seenCount: 1, markers: MARKERS };
    // kafkajs: string header values, a decimal timestamp
    expect(consumedFacts({ ...input, timestamp: '1700000000000', headers: { 'x-retry-count': '2', 'kafka_dlt-original-topic': 'orders' } })).toEqual({
      destination: 't',
      enqueuedAtMs: 1_700_000_000_000,
      deliveryCount: 3,
      replayedFromDeadLetter: true,
    });
    // Confluent: Buffer values, repeated keys as Buffer[], '' for no timestamp
    const attempts = Buffer.alloc(4);
    attempts.writeInt32BE(2);
    expect(consumedFacts({ ...input, timestamp: '', headers: { 'retry_topic-attempts': [Buffer.from('x'), attempts] } })).toEqual({
      destination: 't',
      enqueuedAtMs: undefined,
      deliveryCount: 2,
      replayedFromDeadLetter: undefined,
    });
    expect(timestampMs('0')).toBeUndefined();
    expect(keyToString(Buffer.from([0xc0, 0xb0]))).toBeUndefined();
    expect(keyToString(Buffer.from('k'))).toBe('k');
    expect(recordId('t', 2, '7')).toBe('t/2/7');
  });
});
