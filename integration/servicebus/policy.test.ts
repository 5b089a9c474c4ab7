// The child-or-link policy on the harness's Service Bus (delivery counts, stale and scheduled messages), the
// 64 KB budget, frozen inputs, Diagnostic-Id interop, and a run of 1,000 messages received exactly once.
import type { ServiceBusClient, ServiceBusReceivedMessage, ServiceBusReceiver } from '@azure/service-bus';
import { traceReceiver, traceSender, traceServiceBusClient } from '@brokertrace/service-bus';
import { setupTestTelemetry } from '@brokertrace/testing';
import { SpanKind, propagation } from '@opentelemetry/api';
import type { TextMapPropagator } from '@opentelemetry/api';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Countdown, connect, drain, spanIdOf } from './helpers.js';

const t = setupTestTelemetry();
beforeEach(() => t.reset());

let client: ServiceBusClient;
beforeAll(async () => {
  client = await connect();
});
afterAll(() => client.close());

function subscribeUntil(
  receiver: ServiceBusReceiver,
  count: number,
  handler: (m: ServiceBusReceivedMessage) => Promise<void> = () => Promise.resolve(),
): { got: Countdown<ServiceBusReceivedMessage>; close: () => Promise<void> } {
  const got = new Countdown<ServiceBusReceivedMessage>(count, 60_000);
  const subscription = receiver.subscribe(
    {
      processMessage: (m) => handler(m).finally(() => got.push(m)),
      processError: () => Promise.resolve(),
    },
    { maxConcurrentCalls: 10 },
  );
  return { got, close: () => subscription.close() };
}

async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

it('abandon then redelivery: the delivery count on every span, child up to maxChildDeliveries, linked after', async () => {
  const QUEUE = 'servicebus-3';
  await drain(client, QUEUE);
  const sender = traceSender(client.createSender(QUEUE));
  const receiver = traceReceiver(client.createReceiver(QUEUE), { policy: { maxChildDeliveries: 2 } });
  let calls = 0;
  const { got, close } = subscribeUntil(receiver, 4, () => (++calls < 4 ? Promise.reject(new Error(`attempt ${calls}`)) : Promise.resolve()));
  await t.withSpan('producer', () => sender.sendMessages({ body: 'retry me', messageId: 'redeliver-1' }));
  const messages = await got.done;
  await waitFor(() => t.spansNamed(`complete ${QUEUE}`).length === 1);
  await close();
  await receiver.close();
  await sender.close();

  expect(messages.map((m) => m.deliveryCount)).toEqual([0, 1, 2, 3]);
  const [send] = t.spansNamed(`send ${QUEUE}`);
  const processes = t.spansNamed(`process ${QUEUE}`);
  expect(processes.map((p) => [p.attributes['messaging.servicebus.message.delivery_count'], p.attributes['brokertrace.decision.relationship'], p.attributes['brokertrace.decision.reason']])).toEqual([
    [1, 'child', 'fresh'],
    [2, 'child', 'fresh'],
    [3, 'link', 'redelivered'],
    [4, 'link', 'redelivered'],
  ]);
  for (const p of processes.slice(0, 2)) expect(p.parentSpanContext?.spanId).toBe(send!.spanContext().spanId);
  for (const p of processes.slice(2)) {
    expect(p.spanContext().traceId).not.toBe(send!.spanContext().traceId);
    expect(p.links.map((l) => l.context.spanId)).toEqual([send!.spanContext().spanId]);
  }
  expect(t.spansNamed(`abandon ${QUEUE}`)).toHaveLength(3);
  const metrics = await t.metrics();
  const decisions = (metrics['brokertrace.decisions'] ?? []).map((p) => [p.attributes['brokertrace.decision.relationship'], p.attributes['brokertrace.decision.reason'], p.kind === 'sum' ? p.value : 0]);
  expect(decisions).toEqual(expect.arrayContaining([['child', 'fresh', 2], ['link', 'redelivered', 2]]));
  expect(t.openSpans()).toEqual([]);
});

it('an old message is linked (stale); a scheduled one links or parents by its age; schedule and cancel are traced', async () => {
  const QUEUE = 'servicebus-4';
  await drain(client, QUEUE);
  const sender = traceSender(client.createSender(QUEUE));
  await t.withSpan('producer', () => sender.sendMessages({ body: 'old', messageId: 'stale-1' }));
  await new Promise((r) => setTimeout(r, 300)); // the message ages in the queue
  const at = new Date(Date.now() + 1000);
  const [kept] = await sender.scheduleMessages({ body: 'scheduled', messageId: 'sched-1' }, at);
  const [cancelled] = await sender.scheduleMessages([{ body: 'never', messageId: 'sched-2' }], at);
  await sender.cancelScheduledMessages(cancelled!);

  const receiver = traceReceiver(client.createReceiver(QUEUE), { policy: { maxChildAgeMs: 200 } });
  const { got, close } = subscribeUntil(receiver, 2);
  const messages = await got.done;
  await waitFor(() => t.spansNamed(`complete ${QUEUE}`).length === 2);
  await close();
  await receiver.close();
  await sender.close();
  expect(messages.map((m) => m.messageId)).toEqual(['stale-1', 'sched-1']);

  const [send] = t.spansNamed(`send ${QUEUE}`);
  const schedules = t.spansNamed(`schedule ${QUEUE}`);
  expect(schedules).toHaveLength(2);
  expect(schedules[0]!.attributes['brokertrace.servicebus.sequence_numbers']).toEqual([kept!.toString()]);
  expect(schedules[0]!.attributes['messaging.operation.type']).toBe('send');
  expect(schedules[1]!.attributes['messaging.batch.message_count']).toBe(1);
  const [cancel] = t.spansNamed(`cancel_scheduled ${QUEUE}`);
  expect(cancel!.attributes['brokertrace.servicebus.sequence_numbers']).toEqual([cancelled!.toString()]);
  expect(cancel!.attributes['messaging.operation.type']).toBeUndefined();
  const [stale, scheduled] = t.spansNamed(`process ${QUEUE}`);
  expect(stale!.attributes).toMatchObject({ 'brokertrace.decision.relationship': 'link', 'brokertrace.decision.reason': 'stale' });
  expect(stale!.links[0]!.context.spanId).toBe(send!.spanContext().spanId);
  expect(stale!.attributes['brokertrace.message.queue_time'] as number).toBeGreaterThan(0.2);
  expect(stale!.attributes['brokertrace.message.queue_time'] as number).toBeLessThan(60); // seconds, not ms
  // the service enqueues a scheduled message at its time: its age counts from then, so it is fresh
  expect(scheduled!.attributes).toMatchObject({ 'brokertrace.decision.relationship': 'child', 'brokertrace.decision.reason': 'fresh' });
  expect(scheduled!.parentSpanContext?.spanId).toBe(schedules[0]!.spanContext().spanId);
  expect(spanIdOf(messages[1]!.applicationProperties!.traceparent)).toBe(schedules[0]!.spanContext().spanId);
});

it('properties near the 64 KB budget: the message arrives intact, the context left out and dropped recorded', async () => {
  const QUEUE = 'servicebus-5';
  await drain(client, QUEUE);
  const sender = traceSender(client.createSender(QUEUE));
  const properties = { p1: 'a'.repeat(32_000), p2: 'b'.repeat(32_000), p3: 'c'.repeat(1_250) };
  await sender.sendMessages({ body: 'full', messageId: 'full-1', applicationProperties: properties });
  // room for the context: it goes in
  await sender.sendMessages({ body: 'room', messageId: 'room-1', applicationProperties: { p1: 'a'.repeat(32_000), p2: 'b'.repeat(32_000) } });
  const receiver = traceReceiver(client.createReceiver(QUEUE));
  const { got, close } = subscribeUntil(receiver, 2);
  const [full, room] = await got.done;
  await close();
  await receiver.close();
  await sender.close();
  expect(full!.applicationProperties).toEqual(properties);
  expect(full!.body).toBe('full');
  const [fullSend, roomSend] = t.spansNamed(`send ${QUEUE}`);
  expect(fullSend!.attributes['brokertrace.context.dropped_fields']).toEqual(['traceparent']);
  expect(roomSend!.attributes['brokertrace.context.dropped_fields']).toBeUndefined();
  expect(spanIdOf(room!.applicationProperties!.traceparent)).toBe(roomSend!.spanContext().spanId);
  expect(room!.applicationProperties!['Diagnostic-Id']).toBe(room!.applicationProperties!.traceparent);
  const [fullProcess] = t.spansNamed(`process ${QUEUE}`);
  expect(fullProcess!.attributes['brokertrace.decision.reason']).toBe('no-context');
  const metrics = await t.metrics();
  expect(metrics['brokertrace.context.dropped']).toEqual([expect.objectContaining({ value: 1, attributes: expect.objectContaining({ 'brokertrace.context.field': 'traceparent' }) })]);
});

it('frozen inputs are read, never written, on every send path; a Diagnostic-Id context is read and kept', async () => {
  const QUEUE = 'servicebus-6';
  await drain(client, QUEUE);
  const sender = traceSender(client.createSender(QUEUE));
  const freeze = <T extends object>(o: T): T => Object.freeze(o);
  const one = freeze({ body: 'one', messageId: 'f-1', applicationProperties: freeze({ k: 'v' }) });
  const list = freeze([freeze({ body: 'two', messageId: 'f-2', applicationProperties: freeze({ k: 'w' }) })]);
  const three = freeze({ body: 'three', messageId: 'f-3' });
  // written by an Azure SDK (.NET, Python): a W3C traceparent under Diagnostic-Id, and no traceparent
  const azure = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const four = freeze({ body: 'four', messageId: 'f-4', applicationProperties: freeze({ 'Diagnostic-Id': azure }) });
  // an old .NET hierarchical Request-Id: not a context
  const five = freeze({ body: 'five', messageId: 'f-5', applicationProperties: freeze({ 'Diagnostic-Id': '|abc.1.' }) });
  await sender.sendMessages(one);
  await sender.sendMessages(list);
  const batch = await sender.createMessageBatch();
  expect(batch.tryAddMessage(three)).toBe(true);
  await sender.sendMessages(batch);
  await sender.sendMessages([four, five]);
  expect(one).toEqual({ body: 'one', messageId: 'f-1', applicationProperties: { k: 'v' } });
  expect(list).toEqual([{ body: 'two', messageId: 'f-2', applicationProperties: { k: 'w' } }]);
  expect(three).toEqual({ body: 'three', messageId: 'f-3' });

  const receiver = traceReceiver(client.createReceiver(QUEUE));
  const { got, close } = subscribeUntil(receiver, 5);
  const messages = await got.done;
  await close();
  await receiver.close();
  await sender.close();
  const byId = new Map(messages.map((m) => [m.messageId, m]));
  expect(byId.get('f-1')!.applicationProperties!.k).toBe('v');
  expect(typeof byId.get('f-3')!.applicationProperties!.traceparent).toBe('string');
  // kept as it was: no traceparent added, no create span for it
  expect(byId.get('f-4')!.applicationProperties).toEqual({ 'Diagnostic-Id': azure });
  expect(t.spansNamed(`create ${QUEUE}`).filter((s) => s.attributes['messaging.operation.name'] === 'create')).toHaveLength(3); // two, three, five
  const processes = t.spansNamed(`process ${QUEUE}`);
  const fromAzure = processes.find((p) => p.attributes['messaging.message.id'] === 'f-4')!;
  expect(fromAzure.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
  expect(fromAzure.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  const five2 = byId.get('f-5')!.applicationProperties!;
  // ours under traceparent; the caller's Diagnostic-Id kept as it was
  expect(five2['Diagnostic-Id']).toBe('|abc.1.');
  expect(typeof five2.traceparent).toBe('string');
});

it('a traced batch: kept contexts (traceparent, Diagnostic-Id) linked, no create span for them; with no propagator the send span is still CLIENT and linked', async () => {
  const QUEUE = 'servicebus-6';
  await drain(client, QUEUE);
  const sender = traceSender(client.createSender(QUEUE));
  const own = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const azure = '00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01';
  const batch = await sender.createMessageBatch();
  expect(batch.tryAddMessage({ body: 'a', applicationProperties: { traceparent: own } })).toBe(true);
  expect(batch.tryAddMessage({ body: 'b', applicationProperties: { 'Diagnostic-Id': azure } })).toBe(true);
  expect(batch.tryAddMessage({ body: 'c' })).toBe(true);
  await sender.sendMessages(batch);
  const creates = t.spansNamed(`create ${QUEUE}`);
  expect(creates).toHaveLength(1);
  let [send] = t.spansNamed(`send ${QUEUE}`);
  expect(send!.kind).toBe(SpanKind.CLIENT);
  expect(send!.attributes['messaging.batch.message_count']).toBe(3);
  expect(send!.links.map((l) => l.context.spanId)).toEqual(['00f067aa0ba902b7', 'b7ad6b7169203331', creates[0]!.spanContext().spanId]);

  await t.reset();
  // @opentelemetry/core is a dependency of @brokertrace/testing (the integration package does not list it)
  const { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } = createRequire(join(__dirname, '../../packages/testing/package.json'))(
    '@opentelemetry/core',
  ) as {
    CompositePropagator: new (options: { propagators: TextMapPropagator[] }) => TextMapPropagator;
    W3CTraceContextPropagator: new () => TextMapPropagator;
    W3CBaggagePropagator: new () => TextMapPropagator;
  };
  propagation.disable();
  try {
    const bare = await sender.createMessageBatch();
    expect(bare.tryAddMessage({ body: 'd' })).toBe(true);
    expect(bare.tryAddMessage({ body: 'e' })).toBe(true);
    await sender.sendMessages(bare);
  } finally {
    propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
  }
  const bareCreates = t.spansNamed(`create ${QUEUE}`);
  expect(bareCreates).toHaveLength(2);
  [send] = t.spansNamed(`send ${QUEUE}`);
  expect(send!.kind).toBe(SpanKind.CLIENT);
  expect(send!.attributes['messaging.batch.message_count']).toBe(2);
  expect(send!.links.map((l) => l.context.spanId)).toEqual(bareCreates.map((c) => c.spanContext().spanId));
  const m = await t.metrics();
  expect(m['messaging.client.sent.messages']).toEqual([expect.objectContaining({ value: 2 })]);
  await sender.close();
  await drain(client, QUEUE);
  expect(t.openSpans()).toEqual([]);
});

it('1,000 messages through traceServiceBusClient: each received exactly once, payload unchanged, no span left open', async () => {
  const QUEUE = 'servicebus-7';
  await drain(client, QUEUE);
  const traced = traceServiceBusClient(await connect());
  const sender = traced.createSender(QUEUE);
  const receiver = traced.createReceiver(QUEUE);
  const { got, close } = subscribeUntil(receiver, 1000);
  for (let i = 0; i < 1000; i += 50) {
    await sender.sendMessages([...Array(50).keys()].map((j) => ({ body: { n: i + j, text: 'ü ✓' }, messageId: `k-${i + j}` })));
  }
  const messages = await got.done;
  await waitFor(() => t.spans().filter((s) => s.name === `complete ${QUEUE}`).length === 1000, 30_000);
  await close();
  await receiver.close();
  await sender.close();
  await traced.close();
  const ids = messages.map((m) => m.messageId as string);
  expect(new Set(ids).size).toBe(1000);
  expect(messages.map((m) => (m.body as { n: number }).n).sort((a, b) => a - b)).toEqual([...Array(1000).keys()]);
  for (const m of messages) expect((m.body as { text: string }).text).toBe('ü ✓');
  expect(t.spansNamed(`process ${QUEUE}`)).toHaveLength(1000);
  expect(t.spansNamed(`create ${QUEUE}`)).toHaveLength(1000);
  expect(t.openSpans()).toEqual([]);
  // server.address on every span of the traced client
  expect(new Set(t.spans().map((s) => s.attributes['server.address']))).toEqual(new Set(['127.0.0.1']));
}, 120_000);
