// The core API contract the broker packages build on (issues 10 and 11): producer send/create, existing
// contexts, batch spans, per-message spans inside a batch, settle, clocks, error types and configuration.
import { ROOT_CONTEXT, SpanKind, context, trace } from '@opentelemetry/api';
import { setupTestTelemetry } from '@brokertrace/testing';
import type { TestMetricPoint } from '@brokertrace/testing';
import {
  ATTR_BROKERTRACE_DECISION_REASON,
  ATTR_BROKERTRACE_DECISION_RELATIONSHIP,
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_DESTINATION_ANONYMOUS,
  ATTR_MESSAGING_DESTINATION_TEMPLATE,
  ATTR_MESSAGING_DESTINATION_TEMPORARY,
  ATTR_MESSAGING_KAFKA_OFFSET,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_TYPE,
  BrokerTraceConfigError,
  MessagingTelemetry,
} from '@brokertrace/core';
import type { MessagingInstrumentationConfig, MessagingTelemetryOptions } from '@brokertrace/core';

const t = setupTestTelemetry();
beforeEach(() => t.reset());

const tel = (config: MessagingInstrumentationConfig = {}, options: Partial<MessagingTelemetryOptions> = {}) =>
  new MessagingTelemetry({ system: 'kafka', instrumentationName: 'contract', config, ...options });
const find = (points: TestMetricPoint[] | undefined, attrs: Record<string, unknown>) =>
  (points ?? []).filter((p) => Object.entries(attrs).every(([k, v]) => p.attributes[k] === v));
const sum = (points: TestMetricPoint[]) => points.reduce((n, p) => n + (p.kind === 'sum' ? p.value : p.kind === 'histogram' ? p.count : 0), 0);

function traceparentOf(m: MessagingTelemetry): string {
  const { span, injections } = m.startSend({ destination: 'upstream', messages: [{ existing: {} }] });
  m.end(span);
  return injections[0]!.fields.traceparent!;
}

describe('existingContext', () => {
  test("keep (default): a message's own context stays, no create span for it, the send span links to it", () => {
    const m = tel();
    const custom = traceparentOf(m);
    const customSpanId = custom.split('-')[2];
    const { span, injections } = m.startSend({ destination: 'orders', batch: true, messages: [{ existing: { traceparent: custom } }, { existing: {} }] });
    m.end(span);
    expect(injections[0]).toBeUndefined();
    expect(injections[1]!.fields.traceparent).toBeDefined();
    const creates = t.spansNamed('create orders');
    expect(creates).toHaveLength(1);
    const send = t.spansNamed('send orders')[0]!;
    expect(send.links.map((l) => l.context.spanId)).toEqual([customSpanId, creates[0]!.spanContext().spanId]);
  });

  test('keep, single message: the send span is CLIENT (its context is nobody\'s creation context) and links to the kept one', () => {
    const m = tel();
    const custom = traceparentOf(m);
    const { span, injections } = m.startSend({ destination: 'orders', messages: [{ existing: { traceparent: custom, baggage: 'a=1' } }] });
    m.end(span);
    expect(injections).toEqual([undefined]);
    const send = t.spansNamed('send orders')[0]!;
    expect(send.kind).toBe(SpanKind.CLIENT);
    expect(send.links).toHaveLength(1);
  });

  test('replace: our context overwrites the old one (the old key is replaced, not added twice)', () => {
    const m = tel({ existingContext: 'replace' });
    const custom = traceparentOf(m);
    const { span, injections } = m.startSend({ destination: 'orders', messages: [{ existing: { traceparent: custom } }] });
    m.end(span);
    const send = t.spansNamed('send orders')[0]!;
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(send.links).toHaveLength(0);
    expect(injections[0]!.fields.traceparent).toContain(send.spanContext().spanId);
  });

  test('an invalid or garbage traceparent is not a context to keep', () => {
    const m = tel();
    const { span, injections } = m.startSend({ destination: 'orders', messages: [{ existing: { traceparent: 'garbage' } }] });
    m.end(span);
    expect(injections[0]!.fields.traceparent).toContain(span.spanContext().spanId);
  });
});

describe('producer details', () => {
  test('onCreate sees each create span while it is recording; a throwing onCreate changes nothing', () => {
    const m = tel();
    const seen: Array<[boolean, number]> = [];
    const { span, injections } = m.startSend({
      destination: 'orders',
      batch: true,
      messages: [{ existing: {}, attributes: { [ATTR_MESSAGING_KAFKA_OFFSET]: 1 } }, { existing: {} }],
      onCreate: (create, i) => {
        seen.push([create.isRecording(), i]);
        if (i === 1) throw new Error('hook');
      },
    });
    m.end(span);
    expect(seen).toEqual([[true, 0], [true, 1]]);
    expect(injections.every((i) => i !== undefined)).toBe(true);
    expect(t.spansNamed('create orders')[0]!.attributes[ATTR_MESSAGING_KAFKA_OFFSET]).toBe(1);
  });

  test('B10: endUnsent ends the span with the error and counts no sent message; end(error) counts the attempt', async () => {
    const m = tel();
    m.endUnsent(m.startSend({ destination: 'prep', messages: [{ existing: {} }] }).span, new TypeError('bad message'));
    m.end(m.startSend({ destination: 'attempt', messages: [{ existing: {} }] }).span, new TypeError('broker down'));
    const metrics = await t.metrics();
    expect(find(metrics['messaging.client.sent.messages'], { 'messaging.destination.name': 'prep' })).toEqual([]);
    expect(find(metrics['messaging.client.sent.messages'], { 'messaging.destination.name': 'attempt' })[0]).toMatchObject({ value: 1 });
    expect(find(metrics['messaging.client.operation.duration'], { 'messaging.destination.name': 'prep', 'error.type': 'TypeError' })).toHaveLength(1);
  });

  test('create spans record their own short duration as operation type create', async () => {
    const m = tel();
    m.end(m.startSend({ destination: 'orders', batch: true, messages: [{ existing: {} }, { existing: {} }] }).span);
    const creates = find((await t.metrics())['messaging.client.operation.duration'], { 'messaging.operation.name': 'create', 'messaging.operation.type': 'create' });
    expect(creates[0]).toMatchObject({ count: 2 });
  });
});

describe('startBatch', () => {
  test("operationType 'process': CONSUMER process span, one link per message with its link attributes, messaging.process.duration", async () => {
    const m = tel();
    const tp = traceparentOf(m);
    const { span } = m.startBatch({
      destination: 'orders',
      operationType: 'process',
      messages: [
        { facts: { messageId: 'orders/0/7', syntheticId: true, linkAttributes: { [ATTR_MESSAGING_KAFKA_OFFSET]: 7 } }, carrier: { traceparent: tp } },
        { facts: {}, carrier: {} },
      ],
    });
    m.end(span);
    const batch = t.spansNamed('process orders')[0]!;
    expect(batch.kind).toBe(SpanKind.CONSUMER);
    expect(batch.attributes[ATTR_MESSAGING_OPERATION_TYPE]).toBe('process');
    expect(batch.attributes[ATTR_MESSAGING_BATCH_MESSAGE_COUNT]).toBe(2);
    expect(batch.links).toHaveLength(1);
    expect(batch.links[0]!.attributes![ATTR_MESSAGING_KAFKA_OFFSET]).toBe(7);
    // S10: a made-up id is for duplicate detection only.
    expect(batch.links[0]!.attributes![ATTR_MESSAGING_MESSAGE_ID]).toBeUndefined();
    const metrics = await t.metrics();
    expect(find(metrics['messaging.process.duration'], { 'messaging.operation.name': 'process' })).toHaveLength(1);
    expect(find(metrics['messaging.client.operation.duration'], {})).toHaveLength(1); // only the upstream send
  });

  test("operationType 'receive': CLIENT receive span in messaging.client.operation.duration; a batch of one still has a count", async () => {
    const m = tel();
    m.end(m.startBatch({ destination: 'q', operationType: 'receive', operationName: 'get', messages: [{ facts: {} }] }).span);
    const receive = t.spansNamed('get q')[0]!;
    expect(receive.kind).toBe(SpanKind.CLIENT);
    expect(receive.attributes[ATTR_MESSAGING_BATCH_MESSAGE_COUNT]).toBe(1);
    const metrics = await t.metrics();
    expect(find(metrics['messaging.client.operation.duration'], { 'messaging.operation.name': 'get', 'messaging.operation.type': 'receive' })).toHaveLength(1);
    expect(metrics['messaging.process.duration'] ?? []).toEqual([]);
  });

  test('B2: message age on the batch/receive path is in seconds (enqueued 2 s ago -> about 2, not 2000)', async () => {
    const m = tel();
    m.end(m.startBatch({ destination: 'q', operationType: 'receive', messages: [{ facts: { enqueuedAtMs: Date.now() - 2000 } }] }).span);
    const [age] = (await t.metrics())['brokertrace.message.age']!;
    expect(age!.kind === 'histogram' && age!.min).toBeGreaterThanOrEqual(2);
    expect(age!.kind === 'histogram' && age!.max).toBeLessThan(10);
  });

  test('B12: a batch with per-message spans (inBatch) counts each message once as consumed and once as a decision', async () => {
    const m = tel();
    const tp = traceparentOf(m);
    const messages = [0, 1, 2].map((i) => ({ facts: { messageId: `m${i}` }, carrier: { traceparent: tp } }));
    const batch = m.startBatch({ destination: 'orders', operationType: 'process', messages });
    for (const message of messages) {
      const one = m.startProcess({ destination: 'orders', ...message, parent: batch.context, inBatch: true });
      expect(one.decision).toMatchObject({ relationship: 'link', reason: 'batch' });
      m.end(one.span);
    }
    m.end(batch.span);
    const metrics = await t.metrics();
    expect(sum(metrics['messaging.client.consumed.messages']!)).toBe(3);
    expect(sum(metrics['brokertrace.decisions']!)).toBe(3);
    const perMessage = t.spansNamed('process orders').filter((s) => s.parentSpanContext?.spanId === batch.span.spanContext().spanId);
    expect(perMessage).toHaveLength(3);
    for (const s of perMessage) {
      expect(s.attributes[ATTR_BROKERTRACE_DECISION_RELATIONSHIP]).toBe('link');
      expect(s.attributes[ATTR_BROKERTRACE_DECISION_REASON]).toBe('batch');
      expect(s.links.map((l) => l.context.spanId)).toEqual([tp.split('-')[2]]);
    }
  });

  test('a batch process span over messages a receive span already counted counts only the others (each delivery once)', async () => {
    const m = tel();
    const tp = traceparentOf(m);
    const received = [0, 1].map((i) => ({ facts: { messageId: `r${i}`, enqueuedAtMs: Date.now() - 1000 }, carrier: { traceparent: tp } }));
    m.end(m.startBatch({ destination: 'q', operationType: 'receive', messages: received }).span);
    const messages = [...received.map((r) => ({ ...r, countedByReceive: true })), { facts: { messageId: 'lambda' }, carrier: { traceparent: tp } }];
    const batch = m.startBatch({ destination: 'q', operationType: 'process', messages });
    m.end(batch.span);
    expect(t.spansNamed('process q')[0]!.links).toHaveLength(3);
    const metrics = await t.metrics();
    expect(sum(metrics['messaging.client.consumed.messages']!)).toBe(3);
    expect(sum(metrics['brokertrace.decisions']!)).toBe(3);
    expect(sum(metrics['brokertrace.message.age']!)).toBe(2);
  });

  test('the ambient context is used only when the package passes it', () => {
    const m = tel();
    t.withSpan('batch-call', (ambient) => {
      m.end(m.startBatch({ destination: 'a', operationType: 'receive', messages: [] }).span);
      m.end(m.startBatch({ destination: 'b', operationType: 'receive', messages: [], parent: context.active() }).span);
      expect(t.spansNamed('receive a')[0]!.parentSpanContext).toBeUndefined();
      expect(t.spansNamed('receive b')[0]!.parentSpanContext?.spanId).toBe(ambient.spanContext().spanId);
    });
  });
});

describe('settle', () => {
  test('starts under the active context (settlement is called from the handler)', () => {
    const m = tel();
    const handler = t.withSpan('handler', (span) => {
      m.end(m.startSettle({ destination: 'q', operationName: 'ack' }));
      return span;
    });
    const ack = t.spansNamed('ack q')[0]!;
    expect(ack.parentSpanContext?.spanId).toBe(handler.spanContext().spanId);
    expect(ack.kind).toBe(SpanKind.CLIENT);
  });

  test('a client operation of no conventional type (a lock renewal) carries no messaging.operation.type, on the span or the metric', async () => {
    const m = tel();
    m.end(m.startClientOperation({ destination: 'q', operationName: 'renew_message_lock' }));
    const [renew] = t.spansNamed('renew_message_lock q');
    expect(renew!.kind).toBe(SpanKind.CLIENT);
    expect(renew!.attributes['messaging.operation.name']).toBe('renew_message_lock');
    expect(renew!.attributes).not.toHaveProperty(['messaging.operation.type']);
    const [point] = (await t.metrics())['messaging.client.operation.duration']!;
    expect(point!.attributes['messaging.operation.name']).toBe('renew_message_lock');
    expect(point!.attributes).not.toHaveProperty(['messaging.operation.type']);
  });

  test('a settlement over no known destination leaves messaging.destination.name out of the span and the metric, not empty', async () => {
    const m = tel();
    m.end(m.startSettle({ destination: '', operationName: 'ack' }));
    const [ack] = t.spansNamed('ack');
    expect(ack!.attributes).not.toHaveProperty(['messaging.destination.name']);
    expect(ack!.attributes['messaging.operation.type']).toBe('settle');
    const [point] = (await t.metrics())['messaging.client.operation.duration']!;
    expect(point!.attributes).not.toHaveProperty(['messaging.destination.name']);
    expect(point!.attributes['messaging.system']).toBe('kafka');
  });
});

describe('destinations on spans and metrics', () => {
  test('a package template goes to metrics and to messaging.destination.template; the user option overrides it', async () => {
    const m = tel({ destinationTemplate: (d) => (d.startsWith('user.') ? 'user.{id}' : undefined) });
    m.end(m.startSend({ destination: 'ex:orders.4711', destinationTemplate: 'ex', messages: [{ existing: {} }] }).span);
    m.end(m.startSend({ destination: 'user.42', destinationTemplate: 'ignored', messages: [{ existing: {} }] }).span);
    m.end(m.startSend({ destination: 'plain', destinationTemplate: 'plain', messages: [{ existing: {} }] }).span);
    const [a, b, c] = t.spans();
    expect(a!.name).toBe('send ex'); // the template names the span (semconv), not the routing key
    expect(a!.attributes[ATTR_MESSAGING_DESTINATION_TEMPLATE]).toBe('ex');
    expect(b!.attributes[ATTR_MESSAGING_DESTINATION_TEMPLATE]).toBe('user.{id}');
    expect(c!.attributes[ATTR_MESSAGING_DESTINATION_TEMPLATE]).toBeUndefined();
    const sent = (await t.metrics())['messaging.client.sent.messages']!;
    expect(sent.map((p) => [p.attributes['messaging.destination.name'], p.attributes['messaging.destination.template']])).toEqual([
      [undefined, 'ex'],
      [undefined, 'user.{id}'],
      ['plain', undefined],
    ]);
  });

  test('anonymous and temporary destinations: flags on the span, name out of the span name and metrics', async () => {
    const m = tel();
    m.end(m.startProcess({ destination: 'amq.gen-Xa2', anonymous: true, facts: {} }).span);
    m.end(m.startProcess({ destination: 'amq.gen-Yb3', anonymous: true, destinationTemplate: 'amq.gen-{id}', facts: {} }).span);
    m.end(m.startSend({ destination: 'amq.rabbitmq.reply-to.g1h2', temporary: true, messages: [{ existing: {} }] }).span);
    const [a, b, c] = t.spans();
    expect([a!.name, b!.name, c!.name]).toEqual(['process', 'process amq.gen-{id}', 'send']);
    expect(a!.attributes[ATTR_MESSAGING_DESTINATION_ANONYMOUS]).toBe(true);
    expect(c!.attributes[ATTR_MESSAGING_DESTINATION_TEMPORARY]).toBe(true);
    const metrics = await t.metrics();
    const all = Object.values(metrics).flat();
    expect(all.some((p) => String(p.attributes['messaging.destination.name']).includes('amq.'))).toBe(false);
  });

  test('B3: 3000 destinations give a bounded number of series per instrument (maxMetricDestinations, rest _OTHER)', async () => {
    const m = tel({ maxMetricDestinations: 50 });
    const tp = traceparentOf(m);
    for (let i = 0; i < 3000; i++) {
      const destination = `ex:customer-${i}.created`;
      m.end(m.startSend({ destination, messages: [{ existing: {} }] }).span);
      m.end(m.startProcess({ destination, carrier: { traceparent: tp }, facts: { enqueuedAtMs: Date.now() } }).span);
    }
    const metrics = await t.metrics();
    for (const [name, points] of Object.entries(metrics)) {
      const destinations = new Set(points.map((p) => p.attributes['messaging.destination.name']));
      expect({ name, count: destinations.size <= 52 }).toEqual({ name, count: true }); // 50 (one is 'upstream') + _OTHER
      expect({ name, series: points.length <= 110 }).toEqual({ name, series: true });
    }
    expect(find(metrics['messaging.client.sent.messages'], { 'messaging.destination.name': '_OTHER' })[0]).toMatchObject({ value: 2951 });
  });
});

describe('error.type', () => {
  test('the package errorType wins; undefined or a throw falls back to the class name', () => {
    const m = tel({}, { errorType: (e) => (e instanceof RangeError ? 'UNKNOWN_TOPIC_OR_PARTITION' : e instanceof SyntaxError ? (() => { throw e; })() : undefined) });
    m.end(m.startSend({ destination: 'a' }).span, new RangeError('x'));
    m.end(m.startSend({ destination: 'b' }).span, new TypeError('x'));
    m.end(m.startSend({ destination: 'c' }).span, new SyntaxError('x'));
    expect(t.spans().map((s) => s.attributes['error.type'])).toEqual(['UNKNOWN_TOPIC_OR_PARTITION', 'TypeError', 'SyntaxError']);
  });
});

describe('clock', () => {
  test('B11: durations of spans started at telemetry.now() - 1000 are about one second', async () => {
    const m = tel();
    const startTime = m.now() - 1000;
    expect(Math.abs(m.now() - Date.now())).toBeLessThan(1000);
    m.end(m.startBatch({ destination: 'q', operationType: 'receive', messages: [], startTime }).span);
    const [d] = (await t.metrics())['messaging.client.operation.duration']!;
    expect(d!.kind === 'histogram' && d!.sum).toBeGreaterThanOrEqual(1);
    expect(d!.kind === 'histogram' && d!.sum).toBeLessThan(1.5);
  });
});

describe('configuration', () => {
  test('unknown top-level keys are rejected, naming the key, when the package lists its own options', () => {
    expect(() => tel({ ignoreDestination: ['x'] } as MessagingInstrumentationConfig, { packageOptions: ['producerHook'] })).toThrow(BrokerTraceConfigError);
    try {
      tel({ ignoreDestination: ['x'] } as MessagingInstrumentationConfig, { packageOptions: [] });
    } catch (err) {
      expect((err as BrokerTraceConfigError).option).toBe('ignoreDestination');
    }
    expect(() => tel({ producerHook: () => undefined, enabled: true } as MessagingInstrumentationConfig, { packageOptions: ['producerHook'] })).not.toThrow();
    const m = tel({}, { packageOptions: [] });
    expect(() => m.setConfig({ createSpan: false } as MessagingInstrumentationConfig)).toThrow('createSpan');
  });

  test.each([
    [{ existingContext: 'sometimes' }, 'existingContext'],
    [{ destinationTemplate: 'x' }, 'destinationTemplate'],
    [{ maxMetricDestinations: 0 }, 'maxMetricDestinations'],
    [{ maxMetricDestinations: 1.5 }, 'maxMetricDestinations'],
  ])('%j throws naming %s', (config, option) => {
    expect(() => tel(config as MessagingInstrumentationConfig)).toThrow(expect.objectContaining({ option }));
  });
});

test('ROOT_CONTEXT has no span (sanity)', () => {
  expect(trace.getSpan(ROOT_CONTEXT)).toBeUndefined();
});
