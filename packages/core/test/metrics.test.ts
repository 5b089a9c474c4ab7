import { DiagLogLevel, ROOT_CONTEXT, SamplingDecision, SpanKind, TraceFlags, context, diag, trace } from '@opentelemetry/api';
import type { Sampler } from '@opentelemetry/api';
import { AlwaysOffSampler, ParentBasedSampler, setupTestTelemetry, suppressTracing } from '@brokertrace/testing';
import type { TestMetricPoint } from '@brokertrace/testing';
import { ATTR_BROKERTRACE_LINK_FOLLOW_SAMPLING, LinkSamplingSampler, MAX_METRIC_ERROR_TYPES, MessagingTelemetry } from '@brokertrace/core';

const t = setupTestTelemetry();
beforeEach(() => t.reset());

const tel = (config = {}) => new MessagingTelemetry({ system: 'rabbitmq', instrumentationName: 'test', config });
const find = (points: TestMetricPoint[] | undefined, attrs: Record<string, unknown>) =>
  (points ?? []).filter((p) => Object.entries(attrs).every(([k, v]) => p.attributes[k] === v));

test('durations, sent and consumed messages, age, decisions and dropped fields are recorded', async () => {
  const m = tel();
  const send = m.startSend({ destination: 'ex:rk', batch: true, messages: [{ existing: {} }, { existing: {} }] });
  const fields = send.injections[0]!.fields;
  m.end(send.span);
  m.end(m.startSend({ destination: 'ex:rk', messages: [{ existing: {} }] }).span, new TypeError('closed'));
  const processed = m.startProcess({ destination: 'ex:rk', carrier: fields, facts: { enqueuedAtMs: Date.now() - 2000 } });
  m.end(processed.span);
  m.end(m.startProcess({ destination: 'ex:rk', carrier: {}, facts: {} }).span);
  const received = m.startBatch({ destination: 'ex:rk', operationType: 'receive', messages: [{ facts: {}, carrier: fields }, { facts: {} }] });
  m.end(received.span);
  const tight = m.startSend({ destination: 'tight', messages: [{ existing: {}, limits: { maxEntries: 0 } }] });
  m.end(tight.span);

  const metrics = await t.metrics();
  const duration = find(metrics['messaging.client.operation.duration'], { 'messaging.operation.name': 'send', 'messaging.destination.name': 'ex:rk' });
  expect(duration.map((p) => (p.kind === 'histogram' ? [p.count, p.attributes['error.type']] : null))).toEqual([[1, undefined], [1, 'TypeError']]);
  const first = duration[0]!;
  expect(first.kind === 'histogram' && first.boundaries[0]).toBe(0.005);
  // A failed send was attempted: counted, with error.type (messaging-metrics.md).
  expect(find(metrics['messaging.client.sent.messages'], { 'messaging.destination.name': 'ex:rk' }).map((p) => p.kind === 'sum' && [p.value, p.attributes['error.type']])).toEqual([
    [2, undefined],
    [1, 'TypeError'],
  ]);
  const processDuration = find(metrics['messaging.process.duration'], {});
  expect(processDuration.map((p) => p.kind === 'histogram' && p.count)).toEqual([2]);
  const consumed = metrics['messaging.client.consumed.messages']!;
  expect(find(consumed, { 'messaging.operation.name': 'process' })[0]).toMatchObject({ value: 2 });
  expect(find(consumed, { 'messaging.operation.name': 'receive' })[0]).toMatchObject({ value: 2 });
  const without = metrics['brokertrace.consumed.messages.without_context']!;
  expect(find(without, { 'messaging.operation.name': 'process' })[0]).toMatchObject({ value: 1 });
  expect(find(without, { 'messaging.operation.name': 'receive' })[0]).toMatchObject({ value: 1 });
  const age = metrics['brokertrace.message.age']![0]!;
  expect(age.kind === 'histogram' && age.count).toBe(1);
  expect(age.kind === 'histogram' && age.min).toBeGreaterThanOrEqual(2); // seconds
  const decisions = metrics['brokertrace.decisions']!;
  expect(find(decisions, { 'brokertrace.decision.relationship': 'child', 'brokertrace.decision.reason': 'fresh' })[0]).toMatchObject({ value: 1 });
  expect(find(decisions, { 'brokertrace.decision.reason': 'no-context' })[0]).toMatchObject({ value: 2 });
  expect(find(decisions, { 'brokertrace.decision.relationship': 'link', 'brokertrace.decision.reason': 'batch' })[0]).toMatchObject({ value: 1 });
  expect(find(metrics['brokertrace.context.dropped'], { 'messaging.destination.name': 'tight', 'brokertrace.context.field': 'traceparent' })[0]).toMatchObject({ value: 1 });
});

test('a message counted by its receive span is not counted again by its process span (consumed, decisions: B12)', async () => {
  const m = tel();
  m.end(m.startProcess({ destination: 'q', facts: {}, countedByReceive: true }).span);
  const metrics = await t.metrics();
  expect(metrics['messaging.client.consumed.messages'] ?? []).toEqual([]);
  expect(metrics['brokertrace.decisions'] ?? []).toEqual([]);
});

test('suppressed tracing: no span, no metrics, handler context unchanged', async () => {
  const m = tel();
  const suppressed = suppressTracing(context.active());
  const send = m.startSend({ destination: 'q', parent: suppressed, messages: [{ existing: {} }] });
  expect(send.span.isRecording()).toBe(false);
  expect(send.injections).toEqual([undefined]);
  m.end(send.span);
  const { span, context: ctx } = m.startProcess({ destination: 'q', facts: {}, parent: suppressed });
  m.end(span);
  expect(ctx).toBe(suppressed);
  expect(t.spans()).toHaveLength(0);
  expect((await t.metrics())['messaging.client.operation.duration'] ?? []).toEqual([]);
});

test('suppressed tracing decides nothing: the message is not recorded in the duplicate window', () => {
  const m = tel();
  const carrier = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
  const facts = { messageId: 'm-1' };
  const suppressed = suppressTracing(context.active());
  expect(m.startProcess({ destination: 'q', facts, carrier, parent: suppressed }).decision.reason).toBe('no-context');
  // Seen for the first time as far as the policy knows: fresh, not duplicate.
  const { span, decision } = m.startProcess({ destination: 'q', facts, carrier });
  m.end(span);
  expect(decision.reason).toBe('fresh');
});

test('reset forgets spans and metrics', async () => {
  const m = tel();
  m.end(m.startSend({ destination: 'q', messages: [{ existing: {} }] }).span);
  await t.reset();
  expect(t.spans()).toEqual([]);
  expect((await t.metrics())['messaging.client.sent.messages'] ?? []).toEqual([]);
});

describe('LinkSamplingSampler', () => {
  const sampledLink = {
    context: { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED },
  };
  const sampler = new LinkSamplingSampler(new ParentBasedSampler({ root: new AlwaysOffSampler() }));
  const decide = (links: Parameters<Sampler['shouldSample']>[5], ctx = ROOT_CONTEXT) =>
    sampler.shouldSample(ctx, '1'.repeat(32), 'process q', SpanKind.CONSUMER, {}, links).decision;

  test('a root span whose first link is sampled is sampled', () => {
    expect(decide([sampledLink])).toBe(SamplingDecision.RECORD_AND_SAMPLED);
  });

  test('otherwise the delegate decides', () => {
    expect(decide([])).toBe(SamplingDecision.NOT_RECORD);
    expect(decide([{ context: { ...sampledLink.context, traceFlags: TraceFlags.NONE } }])).toBe(SamplingDecision.NOT_RECORD);
    expect(decide([{ ...sampledLink, attributes: { [ATTR_BROKERTRACE_LINK_FOLLOW_SAMPLING]: false } }])).toBe(SamplingDecision.NOT_RECORD);
    const unsampledParent = trace.setSpanContext(ROOT_CONTEXT, { ...sampledLink.context, spanId: '1234567890abcdef', traceFlags: TraceFlags.NONE });
    expect(decide([sampledLink], unsampledParent)).toBe(SamplingDecision.NOT_RECORD);
  });

  test('followCreationSampling: false marks the creation link; ignoreIncomingSampledFlag clears the flag', () => {
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const noFollow = tel({ followCreationSampling: false });
    const a = noFollow.startProcess({ destination: 'q', carrier: { traceparent: tp }, facts: { deliveryCount: 10 } });
    noFollow.end(a.span);
    expect(t.spans()[0]!.links[0]!.attributes![ATTR_BROKERTRACE_LINK_FOLLOW_SAMPLING]).toBe(false);
    const untrusted = tel({ ignoreIncomingSampledFlag: true });
    const b = untrusted.startProcess({ destination: 'q', carrier: { traceparent: tp }, facts: { deliveryCount: 10 } });
    untrusted.end(b.span);
    expect(t.spans()[1]!.links[0]!.context.traceFlags).toBe(TraceFlags.NONE);
  });
});

test('error.type on metrics is bounded: past MAX_METRIC_ERROR_TYPES distinct values the rest are _OTHER, spans keep theirs, said once', async () => {
  const m = tel();
  const warnings: string[] = [];
  const ignore = () => undefined;
  diag.setLogger(
    { error: ignore, warn: (...args: unknown[]) => void warnings.push(args.map(String).join(' ')), info: ignore, debug: ignore, verbose: ignore },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
  try {
    // An application error code that carries an id: a new value per failure.
    const codeOf = (i: number) => Object.assign(new Error('failed'), { name: `OrderRejected-${i}` });
    const n = MAX_METRIC_ERROR_TYPES + 10;
    for (let i = 0; i < n; i++) m.end(m.startProcess({ destination: 'orders', carrier: {}, facts: {} }).span, codeOf(i));
    const points = (await t.metrics())['messaging.process.duration']!;
    const types = new Set(points.map((p) => p.attributes['error.type']));
    expect(types.size).toBe(MAX_METRIC_ERROR_TYPES + 1);
    expect(types.has('_OTHER')).toBe(true);
    expect(types.has(`OrderRejected-${n - 1}`)).toBe(false);
    expect(find(points, { 'error.type': '_OTHER' }).map((p) => p.kind === 'histogram' && p.count)).toEqual([10]);
    expect(t.spans().at(-1)!.attributes['error.type']).toBe(`OrderRejected-${n - 1}`);
    expect(warnings.filter((w) => w.includes('error.type'))).toHaveLength(1);
  } finally {
    diag.disable();
  }
});
