// The per-message cost rules of issue 12 that a unit test can see: no metric work while no meter provider is
// registered (and metrics as soon as one is), one context object per message or send span where one does, one
// shared start-attribute set per destination, operation and decision for process spans, and no settle span under
// a span that is not sampled while no metric needs it.
// No setupTestTelemetry here: this file's global meter provider must stay the API's no-op one.
import { ROOT_CONTEXT, TraceFlags, metrics, propagation, trace } from '@opentelemetry/api';
import type { Context, MeterProvider, Span, SpanOptions, Tracer, TracerProvider } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { MessagingTelemetry } from '@brokertrace/core';
import { MetricScope } from '../src/messaging-metrics.js';

const creation = { traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', traceFlags: TraceFlags.SAMPLED };
const headers = { traceparent: `00-${creation.traceId}-${creation.spanId}-01` };

/** A tracer that remembers the parent context of every span it starts. */
function recordingProvider(parents: Context[]): TracerProvider {
  const tracer = {
    startSpan(_name: string, _options: SpanOptions | undefined, ctx: Context): Span {
      parents.push(ctx);
      return trace.wrapSpanContext({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: TraceFlags.NONE });
    },
  } as unknown as Tracer;
  return { getTracer: () => tracer };
}

beforeAll(() => propagation.setGlobalPropagator(new W3CTraceContextPropagator()));
afterEach(() => jest.restoreAllMocks());

test('no meter provider registered: no metric attribute work per message; a provider registered later is used', () => {
  const set = jest.spyOn(MetricScope.prototype, 'set');
  const m = new MessagingTelemetry({ system: 'kafka', instrumentationName: 'hot-path', config: { tracerProvider: recordingProvider([]) } });
  const once = () => {
    const p = m.startProcess({ destination: 'orders', carrier: headers, facts: { enqueuedAtMs: Date.now(), deliveryCount: 1 } });
    m.end(p.span);
    m.end(m.startBatch({ destination: 'orders', operationType: 'process', messages: [{ facts: {}, carrier: headers }] }).span);
    m.end(m.startSend({ destination: 'orders', messages: [{ existing: {} }] }).span);
  };
  once();
  expect(set).not.toHaveBeenCalled();

  const add = jest.fn();
  const record = jest.fn();
  const meterProvider = {
    getMeter: () => ({ createCounter: () => ({ add }), createHistogram: () => ({ record }) }),
  } as unknown as MeterProvider;
  metrics.setGlobalMeterProvider(meterProvider);
  try {
    once();
  } finally {
    metrics.disable();
  }
  expect(set).toHaveBeenCalled();
  expect(add).toHaveBeenCalled();
  expect(record).toHaveBeenCalled();
});

test('a fresh message from a root: the extracted context is the parent (one context object, plus the handler\'s)', () => {
  const parents: Context[] = [];
  const m = new MessagingTelemetry({ system: 'kafka', instrumentationName: 'hot-path', config: { tracerProvider: recordingProvider(parents) } });
  const setSpanContext = jest.spyOn(trace, 'setSpanContext');
  const { context, decision } = m.startProcess({ destination: 'orders', carrier: headers, facts: { deliveryCount: 1 } });
  expect(decision.relationship).toBe('child');
  // Only the propagator's own, when it extracted the creation context: core does not set it again on a root.
  expect(setSpanContext).toHaveBeenCalledTimes(1);
  expect(setSpanContext.mock.results[0]!.value).toBe(parents[0]);
  expect(trace.getSpanContext(parents[0]!)).toMatchObject({ traceId: creation.traceId, spanId: creation.spanId, isRemote: true });
  expect(trace.getSpanContext(context)?.spanId).toBe('b'.repeat(16));
});

/** A tracer whose spans record (or not), remembering every span it started and the attributes it was given. */
function spanProvider(recording: boolean, started: Array<{ span: Span; options: SpanOptions | undefined }>): TracerProvider {
  const tracer = {
    startSpan(_name: string, options: SpanOptions | undefined): Span {
      const base = trace.wrapSpanContext({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: recording ? TraceFlags.SAMPLED : TraceFlags.NONE });
      const attributes: Record<string, unknown> = {};
      const span = recording
        ? (Object.assign(Object.create(base) as Span, {
            isRecording: () => true,
            setAttribute: (k: string, v: unknown) => ((attributes[k] = v), span),
            setAttributes: (a: Record<string, unknown>) => (Object.assign(attributes, a), span),
            attributes,
          }) as Span)
        : base;
      started.push({ span, options });
      return span;
    },
  } as unknown as Tracer;
  return { getTracer: () => tracer };
}

test('recordedAttributes: set after the start on a span that records, never built for one that does not', () => {
  for (const recording of [true, false]) {
    const started: Array<{ span: Span; options: SpanOptions | undefined }> = [];
    const m = new MessagingTelemetry({ system: 'rabbitmq', instrumentationName: 'hot-path', config: { tracerProvider: spanProvider(recording, started) } });
    const build = jest.fn(() => ({ 'messaging.rabbitmq.message.delivery_tag': 7 }));
    m.end(m.startProcess({ destination: 'q', carrier: headers, facts: { deliveryCount: 1 }, recordedAttributes: build }).span);
    m.end(m.startSettle({ destination: 'q', operationName: 'ack', recordedAttributes: build }));
    expect(build).toHaveBeenCalledTimes(recording ? 2 : 0);
    // Samplers see the start attributes: the recorded ones (the process span's delivery count too) are not among them.
    for (const { options } of started) {
      expect(options?.attributes).not.toHaveProperty(['messaging.rabbitmq.message.delivery_tag']);
      expect(options?.attributes).not.toHaveProperty(['brokertrace.message.delivery_count']);
    }
    expect(started[0]!.options?.attributes).toMatchObject({ 'brokertrace.decision.relationship': 'child', 'brokertrace.decision.reason': 'fresh' });
    if (recording) {
      const recorded = started.map(({ span }) => (span as unknown as { attributes: object }).attributes);
      expect(recorded).toEqual([{ 'brokertrace.message.delivery_count': 1, 'messaging.rabbitmq.message.delivery_tag': 7 }, { 'messaging.rabbitmq.message.delivery_tag': 7 }]);
    }
  }
});

test('recordedAttributes that throw are logged and left out; the span still starts and ends', () => {
  const started: Array<{ span: Span; options: SpanOptions | undefined }> = [];
  const m = new MessagingTelemetry({ system: 'rabbitmq', instrumentationName: 'hot-path', config: { tracerProvider: spanProvider(true, started) } });
  const debug = jest.spyOn(m.log, 'debug').mockImplementation(() => undefined);
  const { span } = m.startProcess({
    destination: 'q',
    facts: {},
    recordedAttributes: () => {
      throw new Error('hostile');
    },
  });
  expect(span).toBe(started[0]!.span);
  expect(debug).toHaveBeenCalledWith('setting the recorded attributes failed', expect.any(Error));
  expect(() => m.end(span)).not.toThrow();
});

test('no meter provider and a span that does not record: nothing is kept on the span (no state per message)', () => {
  const started: Array<{ span: Span; options: SpanOptions | undefined }> = [];
  const m = new MessagingTelemetry({ system: 'kafka', instrumentationName: 'hot-path', config: { tracerProvider: spanProvider(false, started) } });
  const p = m.startProcess({ destination: 'orders', carrier: headers, facts: { deliveryCount: 1 } });
  const s = m.startSettle({ destination: 'orders', operationName: 'commit' });
  for (const { span } of started) expect(Object.getOwnPropertySymbols(span)).toEqual([]);
  m.end(p.span);
  m.end(p.span);
  m.end(s);
});

test('process spans of one destination, operation and decision share one frozen attribute set and name; the rest get their own', () => {
  const started: Array<{ name: string; options: SpanOptions | undefined }> = [];
  const tracer = {
    startSpan(name: string, options: SpanOptions | undefined): Span {
      started.push({ name, options });
      return trace.wrapSpanContext({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: TraceFlags.NONE });
    },
  } as unknown as Tracer;
  const m = new MessagingTelemetry({ system: 'kafka', instrumentationName: 'hot-path', config: { tracerProvider: { getTracer: () => tracer } } });
  const client = { 'messaging.consumer.group.name': 'g1' };
  const other = { 'messaging.consumer.group.name': 'g2' };
  const fresh = { enqueuedAtMs: Date.now(), deliveryCount: 1 };
  const process = (overrides: object, facts: object = fresh) =>
    m.end(m.startProcess({ destination: 'orders', carrier: headers, facts, metricAttributes: client, ...overrides }).span);
  process({});
  process({});
  process({}, { enqueuedAtMs: Date.now() - 3_600_000, deliveryCount: 1 }); // stale: another decision
  process({ metricAttributes: other });
  process({ destinationTemplate: 'order-{region}' });
  process({ attributes: { 'messaging.destination.partition.id': '3' } });
  process({ temporary: true });
  process({ operationName: 'handle' });
  const sets = started.map((s) => s.options!.attributes!);
  expect(sets[1]).toBe(sets[0]);
  expect(Object.isFrozen(sets[0])).toBe(true);
  expect(new Set(sets).size).toBe(sets.length - 1);
  const base = { 'messaging.system': 'kafka', 'messaging.operation.name': 'process', 'messaging.operation.type': 'process', 'messaging.destination.name': 'orders' };
  expect(sets).toEqual([
    { ...base, ...client, 'brokertrace.decision.relationship': 'child', 'brokertrace.decision.reason': 'fresh' },
    { ...base, ...client, 'brokertrace.decision.relationship': 'child', 'brokertrace.decision.reason': 'fresh' },
    { ...base, ...client, 'brokertrace.decision.relationship': 'link', 'brokertrace.decision.reason': 'stale' },
    { ...base, ...other, 'brokertrace.decision.relationship': 'child', 'brokertrace.decision.reason': 'fresh' },
    { ...base, ...client, 'messaging.destination.template': 'order-{region}', 'brokertrace.decision.relationship': 'child', 'brokertrace.decision.reason': 'fresh' },
    { ...base, ...client, 'messaging.destination.partition.id': '3', 'brokertrace.decision.relationship': 'child', 'brokertrace.decision.reason': 'fresh' },
    { ...base, ...client, 'messaging.destination.temporary': true, 'brokertrace.decision.relationship': 'child', 'brokertrace.decision.reason': 'fresh' },
    { ...base, ...client, 'messaging.operation.name': 'handle', 'brokertrace.decision.relationship': 'child', 'brokertrace.decision.reason': 'fresh' },
  ]);
  expect(started.map((s) => s.name)).toEqual(['process orders', 'process orders', 'process orders', 'process orders', 'process order-{region}', 'process orders', 'process', 'handle orders']);

  // Spans that add attributes of their own start from a copy: nothing of one reaches the next.
  started.length = 0;
  m.end(m.startSettle({ destination: 'orders', operationName: 'ack', batch: true, messageCount: 2, attributes: { 'x.a': 1 }, metricAttributes: client }));
  m.end(m.startSettle({ destination: 'orders', operationName: 'ack', metricAttributes: client }));
  m.end(m.startSend({ destination: 'orders', messages: [{ existing: {} }], metricAttributes: client }).span);
  const settle = { ...base, ...client, 'messaging.operation.name': 'ack', 'messaging.operation.type': 'settle' };
  expect(started.map((s) => [s.name, s.options!.attributes])).toEqual([
    ['ack orders', { ...settle, 'messaging.batch.message_count': 2, 'x.a': 1 }],
    ['ack orders', settle],
    ['send orders', { ...base, ...client, 'messaging.operation.name': 'send', 'messaging.operation.type': 'send' }],
  ]);
});

test('a send span gets one context object: its messages carry it and the result hands it on for the call', () => {
  const m = new MessagingTelemetry({ system: 'kafka', instrumentationName: 'hot-path', config: { tracerProvider: recordingProvider([]) } });
  const setSpan = jest.spyOn(trace, 'setSpan');
  const inject = jest.spyOn(propagation, 'inject');
  const sent = m.startSend({ destination: 'orders', messages: [{ existing: {} }, { existing: { 'x-app': 'billing' } }] });
  expect(setSpan).toHaveBeenCalledTimes(1);
  expect(inject).toHaveBeenCalledTimes(2);
  for (const [ctx] of inject.mock.calls) expect(ctx).toBe(sent.context);
  expect(trace.getSpan(sent.context)).toBe(sent.span);
  expect(sent.injections.map((i) => i?.fields.traceparent)).toEqual([`00-${'a'.repeat(32)}-${'b'.repeat(16)}-00`, `00-${'a'.repeat(32)}-${'b'.repeat(16)}-00`]);
  m.end(sent.span);
});

test('a create span gets one context object too: its message carries the one the result hands on', () => {
  const m = new MessagingTelemetry({ system: 'gcp_pubsub', instrumentationName: 'hot-path', config: { tracerProvider: recordingProvider([]) } });
  const setSpan = jest.spyOn(trace, 'setSpan');
  const inject = jest.spyOn(propagation, 'inject');
  const created = m.startCreate({ destination: 'orders', message: { existing: {} } });
  expect(setSpan).toHaveBeenCalledTimes(1);
  expect(inject.mock.calls[0]![0]).toBe(created.context);
  expect(created.injection?.fields.traceparent).toBe(`00-${'a'.repeat(32)}-${'b'.repeat(16)}-00`);
  m.end(created.span);
});

describe('a settle span under a span that is not sampled', () => {
  const unsampled = trace.wrapSpanContext({ traceId: 'c'.repeat(32), spanId: 'd'.repeat(16), traceFlags: TraceFlags.NONE });
  const sampled = trace.wrapSpanContext({ traceId: 'c'.repeat(32), spanId: 'd'.repeat(16), traceFlags: TraceFlags.SAMPLED });
  const under = (span: Span): Context => trace.setSpan(ROOT_CONTEXT, span);

  function telemetry(parents: Context[]): MessagingTelemetry {
    return new MessagingTelemetry({ system: 'rabbitmq', instrumentationName: 'hot-path', config: { tracerProvider: recordingProvider(parents) } });
  }

  test('is not started while no meter provider is registered: a stand-in keeps the parent\'s trace for what runs under it', () => {
    const parents: Context[] = [];
    const m = telemetry(parents);
    const settle = m.startSettle({ destination: 'q', operationName: 'ack', parent: under(unsampled) });
    expect(parents).toHaveLength(0);
    expect(settle.isRecording()).toBe(false);
    expect(settle.spanContext()).toEqual(unsampled.spanContext());
    expect(settle).not.toBe(unsampled);
    m.end(settle);
  });

  test('is started under a sampled or a recording parent, or as a root', () => {
    const parents: Context[] = [];
    const m = telemetry(parents);
    const recordOnly = Object.assign(Object.create(unsampled) as Span, { isRecording: () => true });
    m.end(m.startSettle({ destination: 'q', operationName: 'ack', parent: under(sampled) }));
    m.end(m.startSettle({ destination: 'q', operationName: 'ack', parent: under(recordOnly) }));
    m.end(m.startSettle({ destination: 'q', operationName: 'ack', parent: ROOT_CONTEXT }));
    expect(parents).toHaveLength(3);
    expect(trace.getSpan(parents[1]!)).toBe(recordOnly);
  });

  test('is started when a meter provider is registered, and its duration recorded', () => {
    const parents: Context[] = [];
    const m = telemetry(parents);
    const record = jest.fn();
    metrics.setGlobalMeterProvider({ getMeter: () => ({ createCounter: () => ({ add: jest.fn() }), createHistogram: () => ({ record }) }) } as unknown as MeterProvider);
    try {
      m.end(m.startSettle({ destination: 'q', operationName: 'ack', parent: under(unsampled) }));
    } finally {
      metrics.disable();
    }
    expect(parents).toHaveLength(1);
    expect(record).toHaveBeenCalledWith(expect.any(Number), expect.objectContaining({ 'messaging.operation.name': 'ack', 'messaging.operation.type': 'settle' }));
  });
});
