import { ROOT_CONTEXT, TraceFlags, context, diag, propagation, trace } from '@opentelemetry/api';
import fc from 'fast-check';
import { setupTestTelemetry } from '@brokertrace/testing';
import { extractContext, extractSpanContext, headerValueToString } from '@brokertrace/core';

const t = setupTestTelemetry();

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';
const TP = `00-${TRACE_ID}-${SPAN_ID}-01`;

const spanIdOf = (carrier: unknown): string | undefined => extractSpanContext(carrier)?.spanId;

describe('headerValueToString', () => {
  test.each<[unknown, string | undefined]>([
    ['abc', 'abc'],
    [Buffer.from('abc'), 'abc'],
    [new TextEncoder().encode('äbc'), 'äbc'],
    [['x', 'y'], 'x'],
    [[undefined, null, 'y'], 'y'],
    [{ '!': 'longstr', value: 'typed' }, 'typed'],
    [{ '!': 'longstr', value: Buffer.from('typed-bytes') }, 'typed-bytes'],
    [{ DataType: 'String', StringValue: 'sqs' }, 'sqs'],
    [{ DataType: 'Binary', BinaryValue: Buffer.from('bin') }, 'bin'],
    [42, '42'],
    [null, undefined],
    [undefined, undefined],
    [{ some: 'object' }, undefined],
    [() => 'fn', undefined],
  ])('%p -> %p', (input, expected) => {
    expect(headerValueToString(input)).toBe(expected);
  });
});

describe('extractContext', () => {
  test.each<[string, unknown]>([
    ['string', { traceparent: TP }],
    ['Buffer (kafkajs)', { traceparent: Buffer.from(TP) }],
    ['Uint8Array', { traceparent: new TextEncoder().encode(TP) }],
    ['AMQP typed value', { traceparent: { '!': 'longstr', value: TP } }],
    ['SQS message attribute', { traceparent: { DataType: 'String', StringValue: TP } }],
    ['Map', new Map([['traceparent', TP]])],
    ['other case', { TraceParent: TP }],
    ['array, first invalid', { traceparent: ['garbage', Buffer.from(TP), `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`] }],
  ])('reads %s', (_name, carrier) => {
    expect(spanIdOf(carrier)).toBe(SPAN_ID);
  });

  test('a repeated header is never joined (valid values after the first valid one are ignored)', () => {
    const other = `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`;
    expect(spanIdOf({ traceparent: [TP, other] })).toBe(SPAN_ID);
    const ctx = extractContext({ traceparent: TP, baggage: ['a=1', 'b=2'] }, undefined, ROOT_CONTEXT);
    expect(propagation.getBaggage(ctx)?.getAllEntries().map(([k]) => k)).toEqual(['a']);
  });

  test('a message with canonical keys is read without scanning its headers (hot path)', () => {
    let scans = 0;
    const headers = new Proxy({ traceparent: TP, 'user-header': 'x' }, {
      ownKeys: (target) => {
        scans++;
        return Reflect.ownKeys(target);
      },
    });
    expect(spanIdOf(headers)).toBe(SPAN_ID);
    expect(scans).toBe(0);
    // Without the exact key, one scan finds the other spelling.
    const other = new Proxy({ TraceParent: TP }, { ownKeys: (target) => (scans++, Reflect.ownKeys(target)) });
    expect(spanIdOf(other)).toBe(SPAN_ID);
    expect(scans).toBe(1);
  });

  test('a message without traceparent and with lower-case keys builds no case index (hot path)', () => {
    const headers: Record<string, string> = {};
    for (let i = 0; i < 1000; i++) headers[`x-header-${i}`] = 'v';
    const set = jest.spyOn(Map.prototype, 'set');
    try {
      expect(extractContext(headers, undefined, ROOT_CONTEXT)).toBe(ROOT_CONTEXT);
      expect(set.mock.calls.length).toBeLessThan(10);
    } finally {
      set.mockRestore();
    }
    // Lower-case spellings of the mixed-case interop names are still found.
    expect(spanIdOf({ 'diagnostic-id': TP })).toBe(SPAN_ID);
    // And with one mixed-case key, the first spelling in key order wins, as before.
    expect(spanIdOf({ TRACEPARENT: TP, TraceParent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01` })).toBe(SPAN_ID);
  });

  test('tracestate and baggage travel with the span context; remote, flags kept', () => {
    const ctx = extractContext({ traceparent: TP, tracestate: 'v=1', baggage: 'tenant=acme' }, undefined, ROOT_CONTEXT);
    const sc = trace.getSpanContext(ctx)!;
    expect(sc).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED, isRemote: true });
    expect(sc.traceState?.get('v')).toBe('1');
    expect(propagation.getBaggage(ctx)?.getEntry('tenant')?.value).toBe('acme');
  });

  test('a custom getter; values it returns are normalised too', () => {
    const headers = [{ key: 'traceparent', value: Buffer.from(TP) }];
    const getter = {
      keys: (c: unknown) => (c as typeof headers).map((h) => h.key),
      get: (c: unknown, key: string) => (c as typeof headers).find((h) => h.key === key)?.value as unknown as string,
    };
    expect(extractSpanContext(headers, getter)?.spanId).toBe(SPAN_ID);
  });

  describe('interop keys when the W3C ones are absent', () => {
    test('googclient_traceparent / googclient_tracestate (Google client libraries)', () => {
      const sc = extractSpanContext({ googclient_traceparent: TP, googclient_tracestate: 'g=1' });
      expect(sc?.spanId).toBe(SPAN_ID);
      expect(sc?.traceState?.get('g')).toBe('1');
    });

    test('Diagnostic-Id (Azure SDKs)', () => {
      expect(spanIdOf({ 'Diagnostic-Id': TP })).toBe(SPAN_ID);
      expect(spanIdOf({ 'diagnostic-id': TP })).toBe(SPAN_ID);
      expect(spanIdOf({ 'Diagnostic-Id': '|abc.def.' })).toBeUndefined();
    });

    test('AWSTraceHeader (X-Ray)', () => {
      const sc = extractSpanContext({ AWSTraceHeader: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1' });
      expect(sc).toMatchObject({ traceId: '5759e988bd862e3fe1be46a994272793', spanId: '53995c3f42cd8ad8', traceFlags: TraceFlags.SAMPLED });
      const unsampled = extractSpanContext({ AWSTraceHeader: 'Sampled=0;Parent=53995c3f42cd8ad8;Root=1-5759e988-bd862e3fe1be46a994272793' });
      expect(unsampled?.traceFlags).toBe(TraceFlags.NONE);
      expect(extractSpanContext({ AWSTraceHeader: 'Root=1-5759e988-bd862e3fe1be46a994272793' })).toBeUndefined();
    });

    test('the W3C key wins over interop keys', () => {
      const other = `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`;
      expect(spanIdOf({ traceparent: TP, googclient_traceparent: other, 'Diagnostic-Id': other })).toBe(SPAN_ID);
    });
  });

  test.each<[string, unknown]>([
    ['garbage', { traceparent: 'not a traceparent' }],
    ['all-zero trace id', { traceparent: `00-${'0'.repeat(32)}-${SPAN_ID}-01` }],
    ['version ff', { traceparent: `ff-${TRACE_ID}-${SPAN_ID}-01` }],
    ['joined array', { traceparent: [`${TP},${TP}`] }],
    ['number', { traceparent: 7 }],
    ['null carrier', null],
    ['string carrier', 'traceparent'],
    ['hostile getter', { get traceparent(): string { throw new Error('boom'); } }],
  ])('malformed (%s): the base context, unchanged, no throw', (_name, carrier) => {
    const base = ROOT_CONTEXT.setValue(Symbol('marker'), 1);
    expect(extractContext(carrier, undefined, base)).toBe(base);
  });

  test('default base is the active context', () => {
    t.withSpan('ambient', (span) => {
      expect(trace.getSpan(extractContext({})) ?? undefined).toBe(span);
      expect(context.active()).toBeDefined();
    });
  });

  test('a throwing propagator never reaches the caller', () => {
    const spy = jest.spyOn(propagation, 'extract').mockImplementation(() => {
      throw new Error('propagator bug');
    });
    const debug = jest.spyOn(diag, 'debug').mockImplementation(() => undefined);
    try {
      expect(extractContext({ traceparent: TP }, undefined, ROOT_CONTEXT)).toBe(ROOT_CONTEXT);
    } finally {
      spy.mockRestore();
      debug.mockRestore();
    }
  });
});

describe('property: 10,000 random carriers', () => {
  const hex = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
  const traceparentLike = fc
    .tuple(fc.constantFrom('00', '01', 'ff', 'zz'), hex(32), hex(16), fc.constantFrom('00', '01', 'x1'))
    .map((parts) => parts.join('-'));
  const key = fc.oneof(
    fc.constantFrom('traceparent', 'TRACEPARENT', 'tracestate', 'baggage', 'googclient_traceparent', 'Diagnostic-Id', 'AWSTraceHeader'),
    fc.string(),
  );
  const scalar = fc.oneof(fc.string(), traceparentLike, fc.integer(), fc.constant(null), fc.constant(undefined), fc.boolean());
  const value = fc.oneof(
    scalar,
    scalar.map((s) => (typeof s === 'string' ? Buffer.from(s) : s)),
    fc.array(fc.oneof(scalar, traceparentLike), { maxLength: 4 }),
    scalar.map((s) => ({ '!': 'longstr', value: s })),
    scalar.map((s) => ({ DataType: 'String', StringValue: s })),
    fc.object(),
  );
  const carrier = fc.oneof(
    fc.dictionary(key, value, { maxKeys: 6 }),
    fc.array(fc.tuple(key, value), { maxLength: 6 }).map((entries) => new Map(entries)),
    fc.anything(),
  );

  /** Every string the carrier holds anywhere (keys, values, bytes, nested), lowercased. */
  function strings(v: unknown, out: string[] = [], depth = 0): string[] {
    if (depth > 8 || v === null || v === undefined) return out;
    if (typeof v === 'string') out.push(v.toLowerCase());
    else if (v instanceof Uint8Array) out.push(Buffer.from(v).toString('utf8').toLowerCase());
    else if (v instanceof Map) for (const [k, x] of v) { strings(k, out, depth + 1); strings(x, out, depth + 1); }
    else if (typeof v === 'object') for (const k of Object.keys(v)) { out.push(k.toLowerCase()); strings((v as Record<string, unknown>)[k], out, depth + 1); }
    return out;
  }

  test('no throw; a context only when the input held that very trace and span id', () => {
    fc.assert(
      fc.property(carrier, (c) => {
        const ctx = extractContext(c, undefined, ROOT_CONTEXT);
        const sc = trace.getSpanContext(ctx);
        if (sc === undefined) return true;
        expect(trace.isSpanContextValid(sc)).toBe(true);
        const all = strings(c).join('\n');
        // W3C ids appear verbatim; X-Ray splits the trace id as 1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy.
        const xray = `${sc.traceId.slice(0, 8)}-${sc.traceId.slice(8)}`;
        expect(all.includes(sc.traceId) || all.includes(xray)).toBe(true);
        expect(all.includes(sc.spanId)).toBe(true);
        return true;
      }),
      { numRuns: 10_000 },
    );
  });

  test('a valid traceparent anywhere in a repeated value is found, whatever garbage precedes it', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 5 }), hex(32), hex(16), (garbage, traceId, spanId) => {
        fc.pre(/[1-9a-f]/.test(traceId) && /[1-9a-f]/.test(spanId));
        const tp = `00-${traceId}-${spanId}-01`;
        const sc = extractSpanContext({ traceparent: [...garbage.filter((g) => !g.startsWith('00-')), tp] });
        expect(sc?.spanId).toBe(spanId);
      }),
      { numRuns: 1000 },
    );
  });
});
