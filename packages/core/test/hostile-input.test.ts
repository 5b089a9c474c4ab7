// Hostile input from untrusted producers: whatever a message carries, core reads it in bounded time and
// memory, never throws, and never re-propagates more than the broker's budget allows.
import { ROOT_CONTEXT, TraceFlags, context, createTraceState, propagation, trace } from '@opentelemetry/api';
import type { Context, TextMapGetter } from '@opentelemetry/api';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { revoked, setupTestTelemetry, throwingProxy } from '@brokertrace/testing';
import {
  BROKER_LIMITS,
  DeliveryCounter,
  MessagingTelemetry,
  extractContext,
  extractSpanContext,
  headerValueToString,
  injectContext,
  utf8Length,
  valueByteSize,
} from '@brokertrace/core';
import type { CarrierLimits, MessagingSystem } from '@brokertrace/core';

const t = setupTestTelemetry();
beforeEach(() => t.reset());

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';
const TP = `00-${TRACE_ID}-${SPAN_ID}-01`;
const MB = 1024 * 1024;

// Timings are reported, not asserted tightly: one generous bound (a whole second for one message) catches a
// quadratic blow-up without failing on a busy CI machine. BROKERTRACE_TIMINGS=1 prints them.
const CALL_BUDGET_MS = 1000;
const timings: [string, number][] = [];
function timed<T>(label: string, fn: () => T): T {
  const start = performance.now();
  const out = fn();
  const ms = performance.now() - start;
  timings.push([label, ms]);
  expect(ms).toBeLessThan(CALL_BUDGET_MS);
  return out;
}
/** A full garbage collection, for measuring what is retained (jest does not pass --expose-gc). */
function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

afterAll(() => {
  if (process.env.BROKERTRACE_TIMINGS === '1') {
    process.stdout.write(timings.map(([l, ms]) => `${ms.toFixed(2).padStart(9)} ms  ${l}\n`).join(''));
  }
});

/** A consumer that re-publishes from its handler: what the next hop would receive from us. */
function hopThrough(carrier: unknown, system: MessagingSystem = 'kafka', existing: Record<string, unknown> = {}) {
  const tel = new MessagingTelemetry({ system, instrumentationName: 'hostile' });
  const { span, context: handlerCtx } = tel.startProcess({ destination: 'in', carrier, facts: {} });
  const { fields, dropped } = propagationFrom(tel, handlerCtx, existing);
  tel.end(span);
  return { fields, dropped, handlerCtx, span };
}

function propagationFrom(tel: MessagingTelemetry, handlerCtx: Context, existing: Record<string, unknown>) {
  const send = tel.startSend({ destination: 'out', parent: handlerCtx }).span;
  // inject() reads the baggage of the active context, as a producer call inside the handler would.
  const result = context.with(handlerCtx, () => tel.inject(send, existing));
  tel.end(send);
  return result;
}

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

describe('oversized context headers', () => {
  test('a 1 MB traceparent: no context, nothing re-propagated from it', () => {
    const junk = 'f'.repeat(MB);
    const validThenJunk = `${TP}-${'a'.repeat(MB)}`; // version 00 allows no trailing data
    for (const [name, value] of [
      ['1 MB of hex', junk],
      ['valid prefix + 1 MB', validThenJunk],
      ['1 MB Buffer', Buffer.from(validThenJunk)],
      ['1 MB of spaces around a valid one', ' '.repeat(MB / 2) + TP + ' '.repeat(MB / 2)],
    ] as const) {
      const sc = timed(`extract: traceparent ${name}`, () => extractSpanContext({ traceparent: value }));
      expect(sc).toBeUndefined();
    }
    // W3C: a FUTURE version may carry trailing data; the ids are read, the megabyte is not kept or forwarded.
    const future = `01-${TRACE_ID}-${SPAN_ID}-01-${'a'.repeat(MB)}`;
    const hop = timed('consume + re-publish: future-version traceparent + 1 MB', () => hopThrough({ traceparent: future }));
    expect(hop.fields.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));

    const { fields, span } = timed('consume + re-publish: 1 MB traceparent', () => hopThrough({ traceparent: validThenJunk }));
    // The next hop gets our own, fresh context only.
    expect(fields.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    expect(fields.traceparent).not.toContain(TRACE_ID);
    expect(span.spanContext().traceId).not.toBe(TRACE_ID);
  });

  test('1 MB under every interop key as well: no context', () => {
    const big = `${TP}-${'a'.repeat(MB)}`;
    const carrier = {
      googclient_traceparent: big,
      googclient_tracestate: 'a='.padEnd(MB, 'b'),
      'Diagnostic-Id': big,
      AWSTraceHeader: `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;${'x'.repeat(MB)}`,
    };
    expect(timed('extract: 1 MB interop keys', () => extractSpanContext(carrier))).toBeUndefined();
  });

  test('a 100 KB tracestate: the parent is kept, the tracestate is bounded, and at most W3C limits travel on', () => {
    const members = Array.from({ length: 4000 }, (_, i) => `v${i}=${'x'.repeat(20)}`).join(',');
    expect(members.length).toBeGreaterThan(100 * 1024);
    const ctx = timed('extract: 100 KB tracestate', () => extractContext({ traceparent: TP, tracestate: members }, undefined, ROOT_CONTEXT));
    const sc = trace.getSpanContext(ctx)!;
    expect(sc.spanId).toBe(SPAN_ID);
    // W3C: a tracestate over 512 characters may be discarded; what is kept is never larger.
    expect((sc.traceState?.serialize() ?? '').length).toBeLessThanOrEqual(512);

    const { fields } = timed('consume + re-publish: 100 KB tracestate', () => hopThrough({ traceparent: TP, tracestate: members }));
    expect(fields.traceparent).toContain(TRACE_ID); // a fresh message continues the producer's trace
    expect(bytes(fields.tracestate ?? '')).toBeLessThanOrEqual(512);
  });

  test('10,000 baggage members: bounded in the handler context and in what is re-published', () => {
    const baggage = Array.from({ length: 10_000 }, (_, i) => `k${i}=v${i}`).join(',');
    const ctx = timed('extract: 10,000 baggage members', () => extractContext({ traceparent: TP, baggage }, undefined, ROOT_CONTEXT));
    const entries = propagation.getBaggage(ctx)?.getAllEntries() ?? [];
    expect(entries.length).toBeLessThanOrEqual(180); // W3C baggage: at most 180 members, 8192 bytes
    expect(entries.length).toBeGreaterThan(0);

    for (const system of ['kafka', 'rabbitmq', 'aws_sqs', 'gcp_pubsub', 'servicebus'] as const) {
      const { fields, handlerCtx } = timed(`consume + re-publish (${system}): 10,000 baggage members`, () =>
        hopThrough({ traceparent: TP, baggage }, system),
      );
      expect(propagation.getBaggage(handlerCtx)!.getAllEntries().length).toBeLessThanOrEqual(180);
      expect(bytes(fields.baggage ?? '')).toBeLessThanOrEqual(Math.min(8192, BROKER_LIMITS[system].maxValueBytes ?? Infinity));
      expect(fields.traceparent).toContain(TRACE_ID);
    }
  });

  test('a 10 MB baggage header made of one member: dropped, not parsed into the context', () => {
    const ctx = timed('extract: one 10 MB baggage member', () =>
      extractContext({ traceparent: TP, baggage: `k=${'v'.repeat(10 * MB)}` }, undefined, ROOT_CONTEXT),
    );
    expect(propagation.getBaggage(ctx)).toBeUndefined();
    expect(trace.getSpanContext(ctx)?.spanId).toBe(SPAN_ID);
  });

  test('100,000 header keys, none of them ours: no context on extract; on inject, the budget counts them all', () => {
    const carrier = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`X-Header-${i}`, `value-${i}`]));
    expect(timed('extract: 100,000 unrelated keys', () => extractSpanContext(carrier))).toBeUndefined();
    const ctx = trace.setSpanContext(ROOT_CONTEXT, sampled());
    // About 2.5 MB of headers: already over Kafka's 1 MiB record budget, so nothing of ours is added...
    const full = timed('inject (kafka): 100,000 existing keys', () => injectContext(ctx, carrier, BROKER_LIMITS.kafka));
    expect(full).toEqual({ fields: {}, dropped: ['traceparent'] });
    // ...while 20,000 of them (about 500 KB) leave room.
    const some = Object.fromEntries(Object.entries(carrier).slice(0, 20_000));
    expect(timed('inject (kafka): 20,000 existing keys', () => injectContext(ctx, some, BROKER_LIMITS.kafka)).fields.traceparent).toBe(TP);
  });

  test('a repeated header of 100,000 garbage values before a valid one: found, values never joined', () => {
    const values = [...Array.from({ length: 100_000 }, (_, i) => Buffer.from(`garbage-${i}`)), Buffer.from(TP)];
    expect(timed('extract: 100,000 repeated values', () => extractSpanContext({ traceparent: values }))?.spanId).toBe(SPAN_ID);
  });
});

function sampled(): { traceId: string; spanId: string; traceFlags: number; isRemote: boolean } {
  return { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED, isRemote: false };
}

describe('invalid UTF-8 and wrong types', () => {
  test.each<[string, number[]]>([
    ['lone continuation bytes', [0x80, 0x81, 0x82]],
    ['0xff 0xfe', [0xff, 0xfe, 0x30, 0x30]],
    ['overlong encoding of "0"', [0xc0, 0xb0, 0xc0, 0xb0]],
    ['truncated 4-byte sequence', [0xf0, 0x9f, 0x98]],
    ['UTF-16 surrogate encoded in UTF-8', [0xed, 0xa0, 0x80]],
  ])('invalid UTF-8 (%s) in a Buffer and a Uint8Array: no context, no throw', (_name, raw) => {
    // Invalid bytes mixed into an otherwise valid traceparent must not turn into a valid one.
    const poisoned = Buffer.concat([Buffer.from('00-'), Buffer.from(raw), Buffer.from(TP.slice(3 + raw.length))]);
    for (const value of [Buffer.from(raw), new Uint8Array(raw), poisoned, new Uint8Array(poisoned)]) {
      expect(extractSpanContext({ traceparent: value, tracestate: value, baggage: value })).toBeUndefined();
      expect(typeof headerValueToString(value)).toBe('string');
    }
    // ...and the first VALID value of a repeated header still wins over them.
    expect(extractSpanContext({ traceparent: [Buffer.from(raw), poisoned, Buffer.from(TP)] })?.spanId).toBe(SPAN_ID);
  });

  test('invalid UTF-8 in baggage is dropped or replaced, never thrown, and re-published as valid UTF-8', () => {
    const baggage = Buffer.concat([Buffer.from('ok=1,bad='), Buffer.from([0xff, 0xfe]), Buffer.from(',bad%ZZ=2,also=%E0%A4%A')]);
    const { fields, handlerCtx } = hopThrough({ traceparent: TP, baggage });
    expect(propagation.getBaggage(handlerCtx)?.getEntry('ok')?.value).toBe('1');
    expect(Buffer.from(fields.baggage ?? '', 'utf8').toString('utf8')).toBe(fields.baggage ?? '');
  });

  const revokedProxy = revoked();
  const throwing = throwingProxy();
  const throwingGetter = Object.defineProperty({ '!': 'longstr' }, 'value', {
    enumerable: true,
    get: () => {
      throw new Error('getter');
    },
  });
  const throwingToString = {
    toString: () => {
      throw new Error('toString');
    },
    [Symbol.toPrimitive]: () => {
      throw new Error('toPrimitive');
    },
  };
  const deep: unknown[] = [];
  let cursor = deep;
  for (let i = 0; i < 100_000; i++) {
    const next: unknown[] = [];
    cursor.push(next);
    cursor = next;
  }
  const cyclic: Record<string, unknown> = { '!': 'table' };
  cyclic.value = cyclic;
  const wrongValues: [string, unknown][] = [
    ['undefined', undefined],
    ['null', null],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['bigint', 12345678901234567890n],
    ['true', true],
    ['symbol', Symbol('traceparent')],
    ['function', () => TP],
    ['plain object', { traceparent: TP }],
    ['Date', new Date()],
    ['RegExp', /00-/],
    ['Map', new Map([['traceparent', TP]])],
    ['Set', new Set([TP])],
    ['Promise', Promise.resolve(TP)],
    ['WeakMap', new WeakMap()],
    ['ArrayBuffer', new TextEncoder().encode(TP).buffer],
    ['DataView', new DataView(new TextEncoder().encode(TP).buffer)],
    ['Float64Array', new Float64Array(8)],
    ['empty array', []],
    ['array of nulls', Array.from({ length: 10_000 }, () => null)],
    ['100,000-deep nested array', deep],
    ['cyclic AMQP table', cyclic],
    ['AMQP typed, value an object', { '!': 'table', value: { a: 1 } }],
    ['AMQP typed, value null', { '!': 'void', value: null }],
    ['SQS, StringValue a number', { DataType: 'String', StringValue: 42 }],
    ['SQS, BinaryValue a string', { DataType: 'Binary', BinaryValue: TP }],
    ['SQS, no value', { DataType: 'String' }],
    ['revoked Proxy', revokedProxy],
    ['Proxy throwing on every trap', throwing],
    ['throwing getter', throwingGetter],
    ['throwing toString/toPrimitive', throwingToString],
    ['Object.create(null)', Object.create(null) as unknown],
    ['Error', new Error(TP)],
  ];

  test.each(wrongValues)('a header value of the wrong type (%s): no throw, no context', (label, value) => {
    const carrier = { traceparent: value, tracestate: value, baggage: value, 'Diagnostic-Id': value, AWSTraceHeader: value };
    const ctx = timed(`extract: wrong type ${label}`, () => extractContext(carrier, undefined, ROOT_CONTEXT));
    expect(trace.getSpanContext(ctx)).toBeUndefined();
    expect(() => headerValueToString(value)).not.toThrow();
    expect(() => valueByteSize(value)).not.toThrow();
    // The same value already in a message we publish: sized without a throw; our context still written
    // unless the value's size leaves no room.
    const { fields } = injectContext(trace.setSpanContext(ROOT_CONTEXT, sampled()), { other: value }, BROKER_LIMITS.kafka);
    expect(fields.traceparent).toBe(TP);
    // And through the whole process-span path.
    expect(() => hopThrough(carrier)).not.toThrow();
  });

  const wrongCarriers: [string, unknown][] = [
    ['a string', TP],
    ['a number', 42],
    ['a function', () => ({ traceparent: TP })],
    ['an array', [TP]],
    ['a Buffer', Buffer.from(TP)],
    ['a Proxy throwing on every trap', throwing],
    ['a revoked Proxy', revokedProxy],
    ['a Map with non-string keys', new Map<unknown, unknown>([[1, TP], [Symbol('traceparent'), TP], [{}, TP]])],
    ['a Set', new Set([TP])],
    ['a Promise', Promise.resolve({ traceparent: TP })],
  ];

  test.each(wrongCarriers)('a carrier that is %s: no throw, no context', (_label, carrier) => {
    expect(() => extractContext(carrier)).not.toThrow();
    expect(extractSpanContext(carrier)).toBeUndefined();
    expect(() => hopThrough(carrier)).not.toThrow();
    // ...and as the "existing entries" of a message we publish.
    expect(() => injectContext(trace.setSpanContext(ROOT_CONTEXT, sampled()), carrier as Record<string, unknown>, BROKER_LIMITS.aws_sqs)).not.toThrow();
  });

  test('a carrier with a throwing getter on the traceparent key itself', () => {
    const carrier = Object.defineProperty({}, 'traceparent', {
      enumerable: true,
      get: () => {
        throw new Error('boom');
      },
    });
    expect(extractSpanContext(carrier)).toBeUndefined();
    const { fields } = injectContext(trace.setSpanContext(ROOT_CONTEXT, sampled()), carrier, BROKER_LIMITS.aws_sqs);
    // Sizing the message failed: the message goes out without our context rather than with a throw.
    expect(fields).toEqual({});
  });

  test('a getter that throws or returns garbage', () => {
    const getter: TextMapGetter<unknown> = {
      keys: (): string[] => {
        throw new Error('keys');
      },
      // Getters are typed to return strings; a broken one returns anything.
      get: (_c: unknown, key: string) => (key === 'traceparent' ? ({ nested: [Symbol('x')] } as unknown as string) : undefined),
    };
    expect(extractSpanContext({}, getter)).toBeUndefined();
  });
});

describe('keys differing only in case', () => {
  const OTHER = `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`;
  test('the exact key wins over a case variant, whatever the order of the keys', () => {
    expect(extractSpanContext({ TraceParent: OTHER, traceparent: TP })?.spanId).toBe(SPAN_ID);
    expect(extractSpanContext({ traceparent: TP, TRACEPARENT: OTHER })?.spanId).toBe(SPAN_ID);
    expect(extractSpanContext(new Map([['TRACEPARENT', OTHER], ['traceparent', TP]]))?.spanId).toBe(SPAN_ID);
  });

  test('an exact key holding undefined does not hide a case variant', () => {
    expect(extractSpanContext({ traceparent: undefined, TRACEPARENT: TP })?.spanId).toBe(SPAN_ID);
  });

  test('without the exact key, a case variant is read; baggage and tracestate likewise', () => {
    const ctx = extractContext({ TRACEPARENT: TP, TraceState: 'v=1', BAGGAGE: 'k=v' }, undefined, ROOT_CONTEXT);
    expect(trace.getSpanContext(ctx)?.spanId).toBe(SPAN_ID);
    expect(trace.getSpanContext(ctx)?.traceState?.get('v')).toBe('1');
    expect(propagation.getBaggage(ctx)?.getEntry('k')?.value).toBe('v');
  });

  test('on inject, an existing key that differs only in case is a different key: counted, ours added', () => {
    const existing = { TraceParent: 'stale', TRACESTATE: 'x=1' };
    const { fields } = injectContext(trace.setSpanContext(ROOT_CONTEXT, sampled()), existing, BROKER_LIMITS.aws_sqs);
    expect(fields.traceparent).toBe(TP);
    expect(existing).toEqual({ TraceParent: 'stale', TRACESTATE: 'x=1' });
  });

  test('10,000 case variants of traceparent, all garbage: no context, bounded time', () => {
    const carrier: Record<string, string> = {};
    for (let i = 0; i < 10_000; i++) {
      const variant = [...'traceparent'].map((c, j) => ((i >> j) & 1 ? c.toUpperCase() : c)).join('');
      if (variant !== 'traceparent') carrier[variant] = `garbage-${i}`;
    }
    expect(timed('extract: 2,047 case variants', () => extractSpanContext(carrier))).toBeUndefined();
  });
});

describe('prototype-pollution-shaped input', () => {
  afterEach(() => {
    // Fail loudly in the test that polluted, and clean up so the next test starts clean.
    const polluted = ['traceparent', 'polluted', 'isAdmin'].filter((k) => k in Object.prototype);
    for (const k of polluted) delete (Object.prototype as Record<string, unknown>)[k];
    expect(polluted).toEqual([]);
  });

  test('__proto__ / constructor / prototype header keys and baggage members pollute nothing', () => {
    const carrier = JSON.parse(
      `{"__proto__": {"traceparent": "${TP}", "polluted": true}, "constructor": {"prototype": {"isAdmin": true}},` +
        ` "prototype": "${TP}", "baggage": "__proto__=x,constructor=y,prototype=z,toString=w,hasOwnProperty=v,polluted=1"}`,
    ) as Record<string, unknown>;
    expect(Object.hasOwn(carrier, '__proto__')).toBe(true);
    // traceparent exists only under the own key "__proto__", never as a key of the carrier.
    expect(extractSpanContext(carrier)).toBeUndefined();
    const { fields, handlerCtx } = hopThrough({ ...carrier, traceparent: TP });
    const bag = propagation.getBaggage(handlerCtx);
    expect(bag?.getEntry('polluted')?.value).toBe('1');
    expect(bag?.getEntry('toString')?.value).toBe('w');
    expect(Object.getPrototypeOf(fields)).toBe(Object.prototype);
    expect(Object.keys(fields).sort()).toEqual(['baggage', 'traceparent']);
    const { fields: again } = injectContext(trace.setSpanContext(ROOT_CONTEXT, sampled()), carrier, BROKER_LIMITS.rabbitmq);
    expect(Object.keys(again)).toEqual(['traceparent']);
  });

  test('an inherited traceparent (someone else polluted Object.prototype) is not read from a plain carrier', () => {
    (Object.prototype as Record<string, unknown>).polluted = TP;
    try {
      expect(extractSpanContext({ polluted: undefined })).toBeUndefined();
      expect(extractSpanContext({})).toBeUndefined();
    } finally {
      delete (Object.prototype as Record<string, unknown>).polluted;
    }
  });

  test('a null-prototype carrier (what some parsers build) works like a plain one', () => {
    const carrier = Object.assign(Object.create(null) as Record<string, unknown>, { traceparent: TP, baggage: '__proto__=1' });
    expect(extractSpanContext(carrier)?.spanId).toBe(SPAN_ID);
    const { fields } = injectContext(trace.setSpanContext(ROOT_CONTEXT, sampled()), carrier, BROKER_LIMITS.aws_sqs);
    expect(fields.traceparent).toBe(TP);
  });
});

describe('bounded per-message state', () => {
  test('the duplicate window never holds more than maxEntries ids, whatever the ids', () => {
    const window = new DeliveryCounter({ maxEntries: 1000, ttlMs: 60_000 });
    for (let i = 0; i < 50_000; i++) window.record(`id-${i}`, 1_000_000);
    expect(window.size).toBe(1000);
  });

  test('hostile 1 MB message ids cost bounded memory in the duplicate window', () => {
    const tel = new MessagingTelemetry({
      system: 'rabbitmq',
      instrumentationName: 'hostile',
      config: { policy: { duplicateWindow: { maxEntries: 100 } } },
    });
    const heap = (): number => {
      gc();
      return process.memoryUsage().heapUsed;
    };
    const before = heap();
    const start = performance.now();
    for (let i = 0; i < 200; i++) {
      const { span } = tel.startProcess({ destination: 'q', carrier: { traceparent: TP }, facts: { messageId: `${i}`.padEnd(MB, 'x') } });
      tel.end(span);
    }
    const ms = performance.now() - start;
    t.exporter.reset();
    const retained = heap() - before; // exported spans were dropped above: what stays is core's own state
    timings.push([`200 process spans with 1 MB message ids; heap retained ${(retained / MB).toFixed(1)} MB`, ms]);
    expect(tel.policy.defaults.duplicates!.size).toBe(100);
    // 100 remembered ids of 1 MB each would hold 100 MB; bounded state holds a digest of each.
    expect(retained).toBeLessThan(10 * MB);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Property-based tests over the getter (headerValueToString), extractContext and injectContext.

const hex = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
const traceId = hex(32).filter((s) => /[1-9a-f]/.test(s));
const spanId = hex(16).filter((s) => /[1-9a-f]/.test(s));
const tokenChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789_-*/');
const vendorKey = fc.string({ unit: tokenChar, minLength: 1, maxLength: 12 }).map((s) => `a${s}`);
const vendorValue = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&*+./:;<>?@[]^_`{|}~'), minLength: 1, maxLength: 200 });
const traceState = fc.uniqueArray(fc.tuple(vendorKey, vendorValue), { maxLength: 40, selector: ([k]) => k }).map((ms) => ms.map(([k, v]) => `${k}=${v}`).join(','));
const baggageEntries = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 30 }).filter((k) => k.trim() === k && k !== '__proto__'),
  fc.string({ minLength: 1, maxLength: 300 }),
  { maxKeys: 60 },
);
const spanCtxArb = fc.record({ traceId, spanId, sampled: fc.boolean(), traceState, baggage: baggageEntries });

function contextOf(a: { traceId: string; spanId: string; sampled: boolean; traceState: string; baggage: Record<string, string> }): Context {
  let ctx = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: a.traceId,
    spanId: a.spanId,
    traceFlags: a.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
    traceState: a.traceState === '' ? undefined : createTraceState(a.traceState),
  });
  const keys = Object.keys(a.baggage);
  if (keys.length > 0) ctx = propagation.setBaggage(ctx, propagation.createBaggage(Object.fromEntries(keys.map((k) => [k, { value: a.baggage[k]! }]))));
  return ctx;
}

/** Any value a broker client could hand us, and many it could not. */
const headerValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  fc.uint8Array({ maxLength: 64 }),
  fc.integer(),
  fc.double(),
  fc.bigInt(),
  fc.boolean(),
  fc.constantFrom(null, undefined),
  fc.array(fc.oneof(fc.string(), fc.uint8Array({ maxLength: 16 }), fc.constant(null)), { maxLength: 5 }),
  fc.string().map((value) => ({ '!': 'longstr', value })),
  fc.string().map((StringValue) => ({ DataType: 'String', StringValue })),
  fc.anything({ maxDepth: 2 }),
);

describe('property: the getter (headerValueToString)', () => {
  test('never throws; a string or undefined; strings and bytes unchanged; arrays never joined', () => {
    fc.assert(
      fc.property(headerValue, (value) => {
        const out = headerValueToString(value);
        expect(out === undefined || typeof out === 'string').toBe(true);
        if (typeof value === 'string') expect(out).toBe(value);
        if (value instanceof Uint8Array) expect(out).toBe(Buffer.from(value).toString('utf8'));
        if (Array.isArray(value) && out !== undefined) {
          expect(value.map((v: unknown) => headerValueToString(v))).toContain(out);
        }
      }),
      { numRuns: 5000 },
    );
  });
});

/** What a broker client might turn a header we wrote into, by the time a consumer sees it. */
const shapes: ((v: string, key: string) => unknown)[] = [
  (v) => v,
  (v) => Buffer.from(v),
  (v) => new TextEncoder().encode(v),
  // Repeated keys: the first VALID traceparent wins; other keys take their first value (never joined).
  (v, key) => (key === 'traceparent' ? [Buffer.from('not-a-traceparent'), Buffer.from(v)] : [Buffer.from(v), Buffer.from('x=1')]),
  (v) => ({ '!': 'longstr', value: v }),
  (v) => ({ DataType: 'String', StringValue: v }),
];

describe('property: injectContext then extractContext round-trips through every header shape', () => {
  test('same trace id, span id, sampled flag; baggage members the budget kept; junk headers change nothing', () => {
    fc.assert(
      fc.property(
        spanCtxArb,
        fc.nat(shapes.length - 1),
        fc.boolean(),
        fc.dictionary(fc.string({ maxLength: 20 }), headerValue, { maxKeys: 8 }),
        (a, shape, upperCase, junk) => {
          const { fields } = injectContext(contextOf(a), undefined, BROKER_LIMITS.gcp_pubsub);
          const carrier: Record<string, unknown> = {};
          // Junk first: keys that are ours (in any case) are overwritten with what we wrote.
          for (const k of Object.keys(junk)) if (!['traceparent', 'tracestate', 'baggage'].includes(k.toLowerCase())) carrier[k] = junk[k];
          for (const k of Object.keys(fields)) carrier[upperCase ? k.toUpperCase() : k] = shapes[shape]!(fields[k]!, k);
          const ctx = extractContext(carrier, undefined, ROOT_CONTEXT);
          const sc = trace.getSpanContext(ctx);
          expect(sc).toMatchObject({ traceId: a.traceId, spanId: a.spanId, traceFlags: a.sampled ? 1 : 0, isRemote: true });
          const sent = fields.baggage === undefined ? 0 : fields.baggage.split(',').length;
          expect(propagation.getBaggage(ctx)?.getAllEntries().length ?? 0).toBe(sent);
          for (const [k, entry] of propagation.getBaggage(ctx)?.getAllEntries() ?? []) expect(entry.value).toBe(a.baggage[k]);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

const limitsArb: fc.Arbitrary<CarrierLimits> = fc.oneof(
  fc.constantFrom(...Object.values(BROKER_LIMITS)),
  fc.record(
    {
      maxEntries: fc.nat(15),
      maxKeyBytes: fc.nat(300),
      maxValueBytes: fc.nat(2000),
      maxTotalBytes: fc.nat(4000),
      entryOverheadBytes: fc.nat(8),
    },
    { requiredKeys: [] },
  ),
);
const existingArb = fc.dictionary(
  fc.oneof(fc.constantFrom('traceparent', 'tracestate', 'baggage', 'TraceParent'), fc.string({ maxLength: 40 })),
  headerValue,
  { maxKeys: 14 },
);

/** Entries and bytes a message holds once `fields` are added to `existing` (replacing keys it already has). */
function after(existing: Record<string, unknown>, fields: Record<string, string>, overhead: number): { entries: number; total: number } {
  let entries = 0;
  let total = 0;
  for (const k of Object.keys(existing)) {
    if (Object.hasOwn(fields, k)) continue;
    entries++;
    total += utf8Length(k) + valueByteSize(existing[k]) + overhead;
  }
  for (const k of Object.keys(fields)) {
    entries++;
    total += bytes(k) + bytes(fields[k]!) + overhead;
  }
  return { entries, total };
}

describe('property: injectContext stays within any budget and never touches the message', () => {
  test('limits hold whenever something is written; traceparent exact; tracestate only with it; whole baggage members', () => {
    fc.assert(
      fc.property(spanCtxArb, existingArb, limitsArb, (a, existing, limits) => {
        const snapshot = structuredCloneSafe(existing);
        const { fields: unlimited } = injectContext(contextOf(a), undefined, undefined);
        const { fields, dropped } = injectContext(contextOf(a), existing, limits);
        // Never mutated.
        expect(structuredCloneSafe(existing)).toEqual(snapshot);
        // Every field the propagator wrote is either written or reported.
        for (const k of Object.keys(unlimited)) expect(Object.hasOwn(fields, k) || dropped.includes(k) || dropped.some((d) => d.startsWith(`${k}:`))).toBe(true);
        if (fields.traceparent !== undefined) expect(fields.traceparent).toBe(unlimited.traceparent);
        if (fields.tracestate !== undefined) expect(fields.traceparent).toBeDefined();
        if (fields.baggage !== undefined) {
          const all = new Set(unlimited.baggage!.split(','));
          for (const member of fields.baggage.split(',')) expect(all.has(member)).toBe(true);
        }
        for (const k of Object.keys(fields)) {
          expect(bytes(k)).toBeLessThanOrEqual(limits.maxKeyBytes ?? Infinity);
          expect(bytes(fields[k]!)).toBeLessThanOrEqual(limits.maxValueBytes ?? Infinity);
        }
        if (Object.keys(fields).length > 0) {
          // Only checkable when what the message held was itself within the budget.
          const held = after(existing, {}, limits.entryOverheadBytes ?? 0);
          if (held.entries <= (limits.maxEntries ?? Infinity) && held.total <= (limits.maxTotalBytes ?? Infinity)) {
            const { entries, total } = after(existing, fields, limits.entryOverheadBytes ?? 0);
            expect(entries).toBeLessThanOrEqual(limits.maxEntries ?? Infinity);
            expect(total).toBeLessThanOrEqual(limits.maxTotalBytes ?? Infinity);
          }
        }
      }),
      { numRuns: 3000 },
    );
  });
});

/** A comparable snapshot of arbitrary values (functions and symbols by identity). */
function structuredCloneSafe(value: Record<string, unknown>): unknown {
  return Object.keys(value).map((k) => [k, snapshotOf(value[k], 0)]);
}
function snapshotOf(v: unknown, depth: number): unknown {
  if (depth > 4 || v === null || typeof v !== 'object') return v;
  if (v instanceof Uint8Array) return ['bytes', Buffer.from(v).toString('hex')];
  if (Array.isArray(v)) return v.map((x) => snapshotOf(x, depth + 1));
  return Object.keys(v).map((k) => [k, snapshotOf((v as Record<string, unknown>)[k], depth + 1)]);
}
