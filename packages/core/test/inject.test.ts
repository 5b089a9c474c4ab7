import { ROOT_CONTEXT, TraceFlags, createTraceState, diag, propagation, trace, DiagLogLevel } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import { setupTestTelemetry } from '@brokertrace/testing';
import { BROKER_LIMITS, injectContext, truncateTraceState, trimBaggage } from '@brokertrace/core';

/** Registers a DiagLogger recording `level` calls (core logs through component loggers, not diag.* directly). */
function captureDiag(level: 'warn' | 'error'): { calls: unknown[][]; restore: () => void } {
  const calls: unknown[][] = [];
  const none = () => undefined;
  const logger = { error: none, warn: none, info: none, debug: none, verbose: none, [level]: (...args: unknown[]) => void calls.push(args) };
  diag.setLogger(logger, { logLevel: DiagLogLevel.ALL, suppressOverrideMessage: true });
  return { calls, restore: () => diag.disable() };
}

setupTestTelemetry();

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';
const TRACEPARENT = `00-${TRACE_ID}-${SPAN_ID}-01`;

function ctxWith(traceState?: string, baggage?: Record<string, string>): Context {
  let ctx = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: TRACE_ID,
    spanId: SPAN_ID,
    traceFlags: TraceFlags.SAMPLED,
    traceState: traceState === undefined ? undefined : createTraceState(traceState),
  });
  if (baggage !== undefined) {
    const entries = Object.fromEntries(Object.entries(baggage).map(([k, v]) => [k, { value: v }]));
    ctx = propagation.setBaggage(ctx, propagation.createBaggage(entries));
  }
  return ctx;
}

const sqsAttributes = (n: number): Record<string, { DataType: string; StringValue: string }> =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`attr${i}`, { DataType: 'String', StringValue: `v${i}` }]));

describe('SQS budget of 10 attributes', () => {
  const full = ctxWith('vendor=abc', { tenant: 'acme' });
  test.each([
    [0, ['traceparent', 'tracestate', 'baggage'], []],
    [7, ['traceparent', 'tracestate', 'baggage'], []],
    [9, ['traceparent'], ['tracestate', 'baggage']],
    [10, [], ['traceparent', 'tracestate', 'baggage']],
  ])('%i existing attributes: writes %j, drops %j', (existing, written, dropped) => {
    const result = injectContext(full, sqsAttributes(existing), BROKER_LIMITS.aws_sqs);
    expect(Object.keys(result.fields)).toEqual(written);
    expect(result.dropped).toEqual(dropped);
    if (written.includes('traceparent')) expect(result.fields.traceparent).toBe(TRACEPARENT);
  });

  test('an existing traceparent is replaced, not counted twice', () => {
    const existing = { ...sqsAttributes(8), traceparent: { DataType: 'String', StringValue: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01` } };
    const result = injectContext(full, existing, BROKER_LIMITS.aws_sqs);
    // 9 entries, one of them ours to replace: traceparent (replace) + tracestate (10th) fit, baggage does not.
    expect(result.fields).toEqual({ traceparent: TRACEPARENT, tracestate: 'vendor=abc' });
    expect(result.dropped).toEqual(['baggage']);
  });

  test('a Map of existing entries counts the same', () => {
    const existing = new Map(Object.entries(sqsAttributes(9)));
    expect(Object.keys(injectContext(full, existing, BROKER_LIMITS.aws_sqs).fields)).toEqual(['traceparent']);
  });
});

describe('tracestate: W3C truncation', () => {
  test('members longer than 128 characters go first, then from the right end', () => {
    const big = 'big=' + 'x'.repeat(140);
    const value = `a=1,${big},b=2,c=3`;
    const dropped: string[] = [];
    // Room for "a=1,b=2,c=3" (11 bytes): only the big member goes.
    expect(truncateTraceState(value, 11, dropped)).toBe('a=1,b=2,c=3');
    expect(dropped).toEqual(['tracestate:big']);
    const dropped2: string[] = [];
    expect(truncateTraceState(value, 7, dropped2)).toBe('a=1,b=2');
    expect(dropped2).toEqual(['tracestate:big', 'tracestate:c']);
  });

  test('within a value limit, through injectContext', () => {
    const m = (k: string): string => `${k}=${k.repeat(18)}`; // 20 bytes each
    const result = injectContext(ctxWith(`${m('a')},${m('b')},${m('c')}`), {}, { maxValueBytes: 55 });
    expect(result.fields.traceparent).toBe(TRACEPARENT);
    expect(result.fields.tracestate).toBe(`${m('a')},${m('b')}`);
    expect(result.dropped).toEqual(['tracestate:c']);
  });

  test('a tracestate that cannot fit at all is dropped whole; parts are not listed', () => {
    const result = injectContext(ctxWith('vendor=' + 'v'.repeat(60)), {}, { maxValueBytes: 60 });
    expect(result.fields.traceparent).toBe(TRACEPARENT);
    expect(result.fields.tracestate).toBeUndefined();
    expect(result.dropped).toEqual(['tracestate']);
  });

  test('without room for traceparent, tracestate is not written either', () => {
    const result = injectContext(ctxWith('vendor=abc'), {}, { maxTotalBytes: 40 });
    expect(result.fields).toEqual({});
    expect(result.dropped).toEqual(['traceparent', 'tracestate']);
  });
});

describe('baggage: whole members trimmed from the end', () => {
  test('trimBaggage keeps members intact, with their properties', () => {
    const dropped: string[] = [];
    expect(trimBaggage('k1=v1;p=1,k2=v2,k3=v3', 15, dropped)).toBe('k1=v1;p=1,k2=v2');
    expect(dropped).toEqual(['baggage:k3']);
  });

  test('through injectContext with a total budget', () => {
    const ctx = ctxWith(undefined, { one: '1', two: '2', three: '3' });
    const all = injectContext(ctx, {}, undefined).fields;
    expect(all.baggage).toBe('one=1,two=2,three=3');
    const budget = 'traceparent'.length + TRACEPARENT.length + 'baggage'.length + 'one=1,two=2'.length;
    const result = injectContext(ctx, {}, { maxTotalBytes: budget });
    expect(result.fields.baggage).toBe('one=1,two=2');
    expect(result.dropped).toEqual(['baggage:three']);
  });
});

describe('byte limits count UTF-8 bytes', () => {
  test('a field with multi-byte characters is measured in bytes, not characters', () => {
    // Baggage is percent-encoded (ASCII); a propagator may still write raw UTF-8, e.g. a vendor header.
    const note = 'ü'.repeat(30); // 30 characters, 60 bytes
    const spy = jest.spyOn(propagation, 'inject').mockImplementation((_ctx, carrier) => {
      (carrier as Record<string, string>)['x-note'] = note;
    });
    try {
      expect(injectContext(ctxWith(), {}, { maxValueBytes: 60 }).fields['x-note']).toBe(note);
      expect(injectContext(ctxWith(), {}, { maxValueBytes: 59 }).dropped).toEqual(['x-note']);
      expect(injectContext(ctxWith(), {}, { maxTotalBytes: 6 + 60 }).fields['x-note']).toBe(note);
      expect(injectContext(ctxWith(), {}, { maxTotalBytes: 6 + 59 }).dropped).toEqual(['x-note']);
    } finally {
      spy.mockRestore();
    }
  });

  test('existing multi-byte values use their UTF-8 size against the total', () => {
    const existing = { note: 'ü'.repeat(50) }; // 100 bytes, 50 characters
    const need = 'traceparent'.length + TRACEPARENT.length;
    const fits = injectContext(ctxWith(), existing, { maxTotalBytes: 4 + 100 + need });
    expect(fits.fields.traceparent).toBe(TRACEPARENT);
    const short = injectContext(ctxWith(), existing, { maxTotalBytes: 4 + 100 + need - 1 });
    expect(short.dropped).toEqual(['traceparent']);
  });

  test('a key longer than maxKeyBytes is dropped', () => {
    const result = injectContext(ctxWith(), {}, { maxKeyBytes: 5 });
    expect(result.fields).toEqual({});
    expect(result.dropped).toEqual(['traceparent']);
  });

  test('RabbitMQ entries pay their table encoding overhead', () => {
    const per = BROKER_LIMITS.rabbitmq.entryOverheadBytes!;
    const need = 'traceparent'.length + TRACEPARENT.length + per;
    const total = BROKER_LIMITS.rabbitmq.maxTotalBytes!;
    const filler = { big: 'x'.repeat(total - need - 3 - per) };
    expect(injectContext(ctxWith(), filler, BROKER_LIMITS.rabbitmq).fields.traceparent).toBe(TRACEPARENT);
    const fuller = { big: 'x'.repeat(total - need - 3 - per + 1) };
    expect(injectContext(ctxWith(), fuller, BROKER_LIMITS.rabbitmq).dropped).toEqual(['traceparent']);
  });
});

describe('never mutates, never throws', () => {
  test('frozen inputs are read, never written', () => {
    const existing = Object.freeze({ a: Object.freeze({ DataType: 'String', StringValue: 'x' }), traceparent: 'old' });
    const limits = Object.freeze({ maxEntries: 10 });
    const snapshot = JSON.stringify(existing);
    const result = injectContext(ctxWith('v=1', { k: 'v' }), existing, limits);
    expect(Object.keys(result.fields)).toEqual(['traceparent', 'tracestate', 'baggage']);
    expect(JSON.stringify(existing)).toBe(snapshot);
    expect(Object.isFrozen(result.fields)).toBe(false);
  });

  test('a throwing propagator gives no fields, logs, and does not throw', () => {
    const warn = captureDiag('warn');
    const spy = jest.spyOn(propagation, 'inject').mockImplementation(() => {
      throw new Error('propagator bug');
    });
    try {
      expect(injectContext(ctxWith(), {}, BROKER_LIMITS.kafka)).toEqual({ fields: {}, dropped: [] });
      expect(warn.calls.map((c) => c[0])).toContain('@brokertrace/core');
    } finally {
      spy.mockRestore();
      warn.restore();
    }
    expect(injectContext(ctxWith(), {}, BROKER_LIMITS.kafka).fields.traceparent).toBe(TRACEPARENT);
  });

  test('no limits: everything the propagator wrote', () => {
    expect(injectContext(ctxWith('a=1', { b: '2' }), undefined, undefined).fields).toEqual({
      traceparent: TRACEPARENT,
      tracestate: 'a=1',
      baggage: 'b=2',
    });
  });

  test('an unsampled context still travels (sampled flag 00)', () => {
    const ctx = trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.NONE });
    expect(injectContext(ctx, {}, BROKER_LIMITS.kafka).fields.traceparent).toBe(`00-${TRACE_ID}-${SPAN_ID}-00`);
  });
});
