// What the broker packages asked of core (requests.md, "amqplib/pubsub/sqs -> core"): span names from the
// template, single-message pull spans, sends without message objects, open create spans, package drops, and
// broker rules for entries.
import { DiagLogLevel, ROOT_CONTEXT, SpanKind, SpanStatusCode, context, diag, propagation, trace } from '@opentelemetry/api';
import { setupTestTelemetry, suppressTracing } from '@brokertrace/testing';
import type { TestMetricPoint } from '@brokertrace/testing';
import {
  ATTR_BROKERTRACE_CONTEXT_DROPPED_FIELDS,
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  BROKER_LIMITS,
  MessagingTelemetry,
  injectContext,
} from '@brokertrace/core';
import type { MessagingInstrumentationConfig } from '@brokertrace/core';

const t = setupTestTelemetry();
beforeEach(() => t.reset());

const tel = (config: MessagingInstrumentationConfig = {}) => new MessagingTelemetry({ system: 'gcp_pubsub', instrumentationName: 'requests', config });
const total = (points: TestMetricPoint[] | undefined) => (points ?? []).reduce((n, p) => n + (p.kind === 'sum' ? p.value : 0), 0);

function customTraceparent(m: MessagingTelemetry): string {
  const { span, injections } = m.startSend({ destination: 'upstream', messages: [{ existing: {} }] });
  m.end(span);
  return injections[0]!.fields.traceparent!;
}

describe('span names (amqplib 1)', () => {
  test("the package's template names the span, not the high-cardinality name", () => {
    const m = tel();
    m.end(m.startSend({ destination: 'events:user.4711.created', destinationTemplate: 'events', messages: [{ existing: {} }] }).span);
    m.end(m.startProcess({ destination: 'events:user.4711.created', destinationTemplate: 'events', facts: {} }).span);
    expect(t.spans().map((s) => s.name).sort()).toEqual(['process events', 'send events']);
  });

  test("the user's destinationTemplate option wins over the package's template; without any, the name", () => {
    const m = tel({ destinationTemplate: (d) => (d.startsWith('events:user.') ? 'events:user.{id}' : undefined) });
    m.end(m.startSettle({ destination: 'events:user.9.created', destinationTemplate: 'events', operationName: 'ack' }));
    m.end(m.startSettle({ destination: 'orders', operationName: 'ack' }));
    expect(t.spans().map((s) => s.name)).toEqual(['ack events:user.{id}', 'ack orders']);
  });
});

describe('startBatch batch: false (amqplib 2)', () => {
  test('a single-message pull API has no messaging.batch.message_count; the default keeps it', () => {
    const m = tel();
    m.end(m.startBatch({ destination: 'q', operationType: 'receive', operationName: 'get', batch: false, messages: [{ facts: {} }] }).span);
    m.end(m.startBatch({ destination: 'q', operationType: 'receive', operationName: 'get', batch: false, messages: [] }).span);
    m.end(m.startBatch({ destination: 'q', operationType: 'receive', messages: [] }).span);
    const [one, none, batch] = t.spans();
    expect(one!.attributes[ATTR_MESSAGING_BATCH_MESSAGE_COUNT]).toBeUndefined();
    expect(none!.attributes[ATTR_MESSAGING_BATCH_MESSAGE_COUNT]).toBeUndefined();
    expect(batch!.attributes[ATTR_MESSAGING_BATCH_MESSAGE_COUNT]).toBe(0);
  });
});

describe('open create spans and sends without messages (pubsub 1, 2)', () => {
  test('startCreate with a message: injected, left open, counted nowhere; the RPC send links to it and counts', async () => {
    const m = tel();
    const caller = trace.getTracer('app').startSpan('caller');
    const created = context.with(trace.setSpan(context.active(), caller), () =>
      m.startCreate({ destination: 'topic', message: { existing: { a: '1' }, attributes: { 'x.k': 'v' } } }),
    );
    caller.end();
    expect(created.kept).toBeUndefined();
    expect(created.injection!.fields.traceparent).toContain(created.span.spanContext().spanId);
    expect(trace.getSpan(created.context)).toBe(created.span);
    expect(t.spansNamed('create topic')).toHaveLength(0); // not ended

    const send = m.startSend({ destination: 'topic', batch: true, messageCount: 3, links: [{ context: created.span.spanContext() }], parent: ROOT_CONTEXT });
    m.end(send.span);
    m.end(created.span);
    const create = t.spansNamed('create topic')[0]!;
    expect(create.kind).toBe(SpanKind.PRODUCER);
    expect(create.parentSpanContext?.spanId).toBe(caller.spanContext().spanId);
    expect(create.attributes['x.k']).toBe('v');
    const rpc = t.spansNamed('send topic')[0]!;
    expect(rpc.kind).toBe(SpanKind.CLIENT);
    expect(rpc.parentSpanContext).toBeUndefined();
    expect(rpc.attributes[ATTR_MESSAGING_BATCH_MESSAGE_COUNT]).toBe(3);
    expect(rpc.links.map((l) => l.context.spanId)).toEqual([create.spanContext().spanId]);
    expect(total((await t.metrics())['messaging.client.sent.messages'])).toBe(3);
  });

  test('startCreate keeps a message\'s own context (existingContext keep): no span, no injection, kept returned', async () => {
    const m = tel();
    const custom = customTraceparent(m);
    await t.reset();
    const created = m.startCreate({ destination: 'topic', message: { existing: { traceparent: custom } } });
    m.end(created.span);
    expect(created.kept?.spanId).toBe(custom.split('-')[2]);
    expect(created.injection).toBeUndefined();
    expect(created.span.isRecording()).toBe(false);
    expect(t.spans()).toHaveLength(0);
    const replaced = tel({ existingContext: 'replace' }).startCreate({ destination: 'topic', message: { existing: { traceparent: custom } } });
    expect(replaced.kept).toBeUndefined();
    expect(replaced.injection!.fields.traceparent).toContain(replaced.span.spanContext().spanId);
  });

  test('startCreate under suppressed tracing: no span, no injection; the old shape still returns a span', () => {
    const m = tel();
    const created = context.with(suppressTracing(context.active()), () => m.startCreate({ destination: 'topic', message: { existing: {} } }));
    expect(created.span.isRecording()).toBe(false);
    expect(created.injection).toBeUndefined();
    const old = m.startCreate({ destination: 'topic' });
    m.end(old);
    expect(t.spansNamed('create topic')).toHaveLength(1);
  });

  test('startCreate records drops on the create span (the message\'s limits)', () => {
    const m = tel();
    const { span, injection } = m.startCreate({ destination: 'topic', message: { existing: {}, limits: { maxEntries: 0 } } });
    m.end(span);
    expect(injection!.dropped).toEqual(['traceparent']);
    expect(t.spansNamed('create topic')[0]!.attributes[ATTR_BROKERTRACE_CONTEXT_DROPPED_FIELDS]).toEqual(['traceparent']);
  });

  test('a count without batch: no batch attribute, still counted; without messages or count: PRODUCER, nothing counted', async () => {
    const m = tel();
    m.end(m.startSend({ destination: 'a', messageCount: 2 }).span);
    m.end(m.startSend({ destination: 'b' }).span);
    const [a, b] = t.spans();
    expect(a!.kind).toBe(SpanKind.CLIENT);
    expect(a!.attributes[ATTR_MESSAGING_BATCH_MESSAGE_COUNT]).toBeUndefined();
    expect(b!.kind).toBe(SpanKind.PRODUCER);
    expect(total((await t.metrics())['messaging.client.sent.messages'])).toBe(2);
  });

  test('extra links come after the ones startSend computed, handed over at start', () => {
    const m = tel();
    const other = trace.getTracer('app').startSpan('other');
    other.end();
    const { span } = m.startSend({ destination: 'topic', batch: true, messages: [{ existing: {} }], links: [{ context: other.spanContext() }] });
    m.end(span);
    const create = t.spansNamed('create topic')[0]!;
    expect(t.spansNamed('send topic')[0]!.links.map((l) => l.context.spanId)).toEqual([create.spanContext().spanId, other.spanContext().spanId]);
  });
});

describe('recordDropped (pubsub 3)', () => {
  test("a package's drops join core's on the span, in the counter, and warn once per destination", async () => {
    const m = tel();
    const warn = jest.fn();
    diag.setLogger({ warn, error: jest.fn(), info: jest.fn(), debug: jest.fn(), verbose: jest.fn() }, DiagLogLevel.WARN);
    try {
      const { span } = m.startCreate({ destination: 'topic', message: { existing: {}, limits: { maxEntries: 1 } } });
      m.recordDropped(span, ['googclient_traceparent']);
      m.recordDropped(span, ['googclient_traceparent', 'goog-x']);
      m.end(span);
      m.recordDropped(trace.wrapSpanContext(span.spanContext()), []); // nothing to record, no throw
    } finally {
      diag.disable();
    }
    expect(t.spansNamed('create topic')[0]!.attributes[ATTR_BROKERTRACE_CONTEXT_DROPPED_FIELDS]).toEqual(['googclient_traceparent', 'goog-x']);
    expect(total((await t.metrics())['brokertrace.context.dropped'])).toBe(3);
    expect(warn).toHaveBeenCalledTimes(1);
  });
});

describe('create spans left open (sqs 1)', () => {
  test('endCreates: false returns each open create span for the package to end with the entry outcome', async () => {
    const m = tel();
    const custom = customTraceparent(m);
    await t.reset();
    const { span, creates } = m.startSend({
      destination: 'q',
      batch: true,
      endCreates: false,
      messages: [{ existing: {} }, { existing: { traceparent: custom } }, { existing: {} }],
    });
    expect(creates).toHaveLength(3);
    expect(creates![1]).toBeUndefined();
    expect(t.spansNamed('create q')).toHaveLength(0);
    m.end(span);
    m.end(creates![0]!);
    m.end(creates![2]!, Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    const [ok, failed] = t.spansNamed('create q');
    expect(ok!.status.code).toBe(SpanStatusCode.UNSET);
    expect(failed!.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed!.attributes['error.type']).toBe('ThrottlingException');
    expect(m.startSend({ destination: 'q', batch: true, messages: [{ existing: {} }] }).creates).toBeUndefined();
  });
});

describe('acceptsEntry (sqs 2)', () => {
  const sqsName = (key: string, value: string) => /^[A-Za-z0-9_.-]+$/.test(key) && !/^(aws\.|amazon\.)/i.test(key) && value !== '';

  test('a field the broker refuses takes no room and is dropped; the next one fits in its place', () => {
    const limits = { maxEntries: 1, acceptsEntry: (key: string) => key !== 'traceparent' };
    const ctx = trace.setSpanContext(ROOT_CONTEXT, { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1 });
    const withBaggage = propagation.setBaggage(ctx, propagation.createBaggage({ k: { value: 'v' } }));
    const result = injectContext(withBaggage, {}, limits);
    expect(result.fields).toEqual({ baggage: 'k=v' });
    expect(result.dropped).toEqual(['traceparent']);
    expect(injectContext(withBaggage, {}, { acceptsEntry: sqsName }).fields).toHaveProperty('traceparent');
  });

  test('a throwing rule refuses; through the telemetry the refusal is recorded and counted', async () => {
    const m = tel();
    const { span, injections } = m.startSend({
      destination: 'q',
      messages: [{ existing: {}, limits: { acceptsEntry: () => { throw new Error('boom'); } } }],
    });
    m.end(span);
    expect(injections[0]!.fields).toEqual({});
    expect(injections[0]!.dropped).toEqual(['traceparent']);
    expect(t.spansNamed('send q')[0]!.attributes[ATTR_BROKERTRACE_CONTEXT_DROPPED_FIELDS]).toEqual(['traceparent']);
    expect(total((await t.metrics())['brokertrace.context.dropped'])).toBe(1);
  });

  test('SQS limits: 1 MiB per message by default', () => {
    expect(BROKER_LIMITS.aws_sqs.maxTotalBytes).toBe(1048576);
  });
});
