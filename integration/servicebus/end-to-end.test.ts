// @brokertrace/service-bus against the harness's Service Bus: one trace from sendMessages to subscribe(),
// the automatic complete and abandon visible, a batch of 100 with a context per message, pull receives with
// a link per message, settle spans, the 64 KB budget, frozen inputs, and 1,000 messages exactly once.
import type { ServiceBusClient, ServiceBusReceivedMessage, ServiceBusReceiver } from '@azure/service-bus';
import { traceReceiver, traceSender } from '@brokertrace/service-bus';
import { setupTestTelemetry } from '@brokertrace/testing';
import { SpanKind } from '@opentelemetry/api';
import { Countdown, connect, drain, receive, spanIdOf } from './helpers.js';

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
  options?: { autoCompleteMessages?: boolean },
): { got: Countdown<ServiceBusReceivedMessage>; close: () => Promise<void> } {
  const got = new Countdown<ServiceBusReceivedMessage>(count, 30_000);
  const subscription = receiver.subscribe(
    {
      processMessage: async (m) => {
        try {
          await handler(m);
        } finally {
          got.push(m);
        }
      },
      processError: () => Promise.resolve(),
    },
    options,
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

describe('send and subscribe', () => {
  const QUEUE = 'servicebus-1';
  beforeAll(() => drain(client, QUEUE));

  it('one trace from sendMessages to the process span (child), with the automatic complete under it', async () => {
    const sender = traceSender(client.createSender(QUEUE));
    const receiver = traceReceiver(client.createReceiver(QUEUE));
    const { got, close } = subscribeUntil(receiver, 1);
    await t.withSpan('producer', () => sender.sendMessages({ body: { n: 1 }, messageId: 'e2e-1', correlationId: 'conv-1', applicationProperties: { app: 'x' } }));
    const [message] = await got.done;
    await waitFor(() => t.spansNamed(`complete ${QUEUE}`).length === 1);
    await close();
    await sender.close();
    await receiver.close();

    const [producer] = t.spansNamed('producer');
    const [send] = t.spansNamed(`send ${QUEUE}`);
    const [process] = t.spansNamed(`process ${QUEUE}`);
    const [complete] = t.spansNamed(`complete ${QUEUE}`);
    expect(send!.kind).toBe(SpanKind.PRODUCER);
    expect(send!.parentSpanContext?.spanId).toBe(producer!.spanContext().spanId);
    expect(send!.attributes['messaging.system']).toBe('servicebus');
    expect(send!.attributes['messaging.batch.message_count']).toBeUndefined();
    // a single message's ids are on its send span
    expect(send!.attributes).toMatchObject({ 'messaging.message.id': 'e2e-1', 'messaging.message.conversation_id': 'conv-1' });
    // what the broker received: our context, under both keys, and the caller's own property
    const props = message!.applicationProperties!;
    expect(spanIdOf(props.traceparent)).toBe(send!.spanContext().spanId);
    expect(props['Diagnostic-Id']).toBe(props.traceparent);
    expect(props.app).toBe('x');
    expect(message!.body).toEqual({ n: 1 });
    // the process span continues the trace
    expect(process!.kind).toBe(SpanKind.CONSUMER);
    expect(process!.spanContext().traceId).toBe(producer!.spanContext().traceId);
    expect(process!.parentSpanContext?.spanId).toBe(send!.spanContext().spanId);
    expect(process!.attributes).toMatchObject({
      'brokertrace.decision.relationship': 'child',
      'brokertrace.decision.reason': 'fresh',
      'messaging.message.id': 'e2e-1',
      'messaging.message.conversation_id': 'conv-1',
      'messaging.servicebus.message.delivery_count': 1,
      'brokertrace.message.delivery_count': 1,
      'messaging.operation.type': 'process',
    });
    const enqueued = process!.attributes['messaging.servicebus.message.enqueued_time'] as number;
    expect(enqueued).toBe(Math.floor(message!.enqueuedTimeUtc!.getTime() / 1000));
    expect(process!.attributes['brokertrace.servicebus.message.sequence_number']).toBe(Number(message!.sequenceNumber!.toString()));
    // the client's automatic complete (it bypasses receiver.completeMessage) as a settle span under the process span
    expect(complete!.kind).toBe(SpanKind.CLIENT);
    expect(complete!.parentSpanContext?.spanId).toBe(process!.spanContext().spanId);
    expect(complete!.attributes).toMatchObject({ 'messaging.operation.name': 'complete', 'messaging.operation.type': 'settle', 'messaging.servicebus.disposition_status': 'complete' });
    expect(t.openSpans()).toEqual([]);
    // nothing left in the queue: it really was completed
    expect(await receive(client.createReceiver(QUEUE, { receiveMode: 'receiveAndDelete' }), 1, 500)).toEqual([]);
    const metrics = await t.metrics();
    expect(metrics['messaging.client.sent.messages']).toEqual([
      expect.objectContaining({ value: 1, attributes: expect.objectContaining({ 'messaging.destination.name': QUEUE, 'messaging.operation.name': 'send' }) }),
    ]);
  });

  it('a throwing handler: the process span records the error, the automatic abandon is visible, the redelivery counts 2', async () => {
    const sender = traceSender(client.createSender(QUEUE));
    const receiver = traceReceiver(client.createReceiver(QUEUE));
    let calls = 0;
    const boom = new Error('handler failed');
    const { got, close } = subscribeUntil(receiver, 2, () => (++calls === 1 ? Promise.reject(boom) : Promise.resolve()));
    await sender.sendMessages({ body: 'again', messageId: 'e2e-abandon' });
    const messages = await got.done;
    await waitFor(() => t.spansNamed(`complete ${QUEUE}`).length === 1);
    await close();
    await sender.close();
    await receiver.close();

    expect(messages.map((m) => m.deliveryCount)).toEqual([0, 1]);
    const processes = t.spansNamed(`process ${QUEUE}`);
    expect(processes.map((p) => p.attributes['messaging.servicebus.message.delivery_count'])).toEqual([1, 2]);
    expect(processes[0]!.status.code).toBe(2);
    expect(processes[0]!.attributes['error.type']).toBe('Error');
    const [abandon] = t.spansNamed(`abandon ${QUEUE}`);
    expect(abandon!.parentSpanContext?.spanId).toBe(processes[0]!.spanContext().spanId);
    expect(abandon!.attributes['messaging.servicebus.disposition_status']).toBe('abandon');
    const [complete] = t.spansNamed(`complete ${QUEUE}`);
    expect(complete!.parentSpanContext?.spanId).toBe(processes[1]!.spanContext().spanId);
    expect(t.openSpans()).toEqual([]);
  });

  it('explicit settlement inside subscribe(autoCompleteMessages: false): one settle span per call, none automatic', async () => {
    const sender = traceSender(client.createSender(QUEUE));
    const receiver = traceReceiver(client.createReceiver(QUEUE));
    const { got, close } = subscribeUntil(receiver, 1, (m) => receiver.deadLetterMessage(m, { deadLetterReason: 'bad', deadLetterErrorDescription: 'test' }), {
      autoCompleteMessages: false,
    });
    await sender.sendMessages({ body: 'dl', messageId: 'e2e-dl' });
    await got.done;
    await close();
    const [process] = t.spansNamed(`process ${QUEUE}`);
    const settles = t.spans().filter((s) => s.attributes['messaging.operation.type'] === 'settle');
    expect(settles.map((s) => s.name)).toEqual([`dead_letter ${QUEUE}`]);
    expect(settles[0]!.parentSpanContext?.spanId).toBe(process!.spanContext().spanId);
    expect(settles[0]!.attributes['messaging.servicebus.disposition_status']).toBe('dead_letter');

    // read back from the dead-letter sub-queue: linked, reason redelivered (replayed from a dead-letter queue)
    const dlq = traceReceiver(client.createReceiver(QUEUE, { subQueueType: 'deadLetter' }));
    const dl = subscribeUntil(dlq, 1);
    const [dead] = await dl.got.done;
    await waitFor(() => t.spansNamed(`complete ${QUEUE}/$DeadLetterQueue`).length === 1);
    await dl.close();
    await dlq.close();
    await receiver.close();
    await sender.close();
    expect(dead!.deadLetterReason).toBe('bad');
    const [replayed] = t.spansNamed(`process ${QUEUE}/$DeadLetterQueue`);
    expect(replayed!.attributes).toMatchObject({
      'brokertrace.decision.relationship': 'link',
      'brokertrace.decision.reason': 'redelivered',
      'brokertrace.servicebus.dead_letter.reason': 'bad',
    });
    const [send] = t.spansNamed(`send ${QUEUE}`);
    expect(replayed!.links.map((l) => l.context.spanId)).toEqual([send!.spanContext().spanId]);
    expect(replayed!.spanContext().traceId).not.toBe(send!.spanContext().traceId);
  });
});

describe('batches and pull receives', () => {
  const QUEUE = 'servicebus-2';
  beforeAll(() => drain(client, QUEUE));

  it('a batch of 100 from createMessageBatch: each message its own create span and context, the send span links to all', async () => {
    const sender = traceSender(client.createSender(QUEUE));
    const batch = await t.withSpan('producer', () => sender.createMessageBatch());
    const sizes: number[] = [];
    await t.withSpan('producer', async () => {
      for (let i = 0; i < 100; i++) {
        expect(batch.tryAddMessage({ body: { i }, messageId: `b-${i}`, applicationProperties: { i } })).toBe(true);
        sizes.push(batch.sizeInBytes);
      }
      await sender.sendMessages(batch);
    });
    // the size accounting includes our properties: well above 100 bare messages
    const bare = await client.createSender(QUEUE).createMessageBatch();
    bare.tryAddMessage({ body: { i: 0 }, messageId: 'b-0', applicationProperties: { i: 0 } });
    expect(sizes[0]).toBeGreaterThan(bare.sizeInBytes + 100);

    const creates = t.spansNamed(`create ${QUEUE}`);
    expect(creates).toHaveLength(100);
    const [send] = t.spansNamed(`send ${QUEUE}`);
    expect(send!.kind).toBe(SpanKind.CLIENT);
    expect(send!.attributes['messaging.batch.message_count']).toBe(100);
    expect(send!.links.map((l) => l.context.spanId)).toEqual(creates.map((c) => c.spanContext().spanId));

    const receiver = traceReceiver(client.createReceiver(QUEUE));
    const messages = await receive(receiver, 100);
    expect(messages.map((m) => m.messageId)).toEqual([...Array(100).keys()].map((i) => `b-${i}`));
    expect(messages.map((m) => m.body)).toEqual([...Array(100).keys()].map((i) => ({ i })));
    expect(messages.map((m) => spanIdOf(m.applicationProperties!.traceparent))).toEqual(creates.map((c) => c.spanContext().spanId));
    // receive spans: one link per message, with its sequence number and delivery count on the link
    const receives = t.spansNamed(`receive ${QUEUE}`);
    expect(receives.reduce((n, r) => n + r.links.length, 0)).toBe(100);
    for (const r of receives) {
      expect(r.kind).toBe(SpanKind.CLIENT);
      expect(r.attributes['messaging.batch.message_count']).toBe(r.links.length);
      // Service Bus's own per-message attributes: on the span for one message, else on each message's link
      const perMessage = r.links.length === 1 ? [r.attributes] : r.links.map((l) => l.attributes ?? {});
      for (const a of perMessage) {
        expect(a['messaging.servicebus.message.delivery_count']).toBe(1);
        expect(Math.abs(Number(a['messaging.servicebus.message.enqueued_time']) - Date.now() / 1000)).toBeLessThan(600);
      }
    }
    // each create span carries its message's id
    expect(creates.map((c) => c.attributes['messaging.message.id'])).toEqual([...Array(100).keys()].map((i) => `b-${i}`));
    const firstLink = receives[0]!.links[0]!;
    expect(firstLink.context.spanId).toBe(creates[0]!.spanContext().spanId);
    expect(firstLink.attributes).toMatchObject({ 'messaging.message.id': 'b-0', 'brokertrace.message.delivery_count': 1 });
    expect(typeof firstLink.attributes!['brokertrace.servicebus.message.sequence_number']).toBe('number');
    // settle spans from the public methods
    await receiver.completeMessage(messages[0]!);
    await receiver.abandonMessage(messages[1]!);
    await receiver.deferMessage(messages[2]!);
    for (const m of messages.slice(3)) await receiver.completeMessage(m);
    expect(t.spansNamed(`complete ${QUEUE}`)).toHaveLength(98);
    expect(t.spansNamed(`abandon ${QUEUE}`)[0]!.attributes['messaging.servicebus.disposition_status']).toBe('abandon');
    const [defer] = t.spansNamed(`defer ${QUEUE}`);
    expect(defer!.attributes).toMatchObject({ 'messaging.servicebus.disposition_status': 'defer', 'messaging.message.id': 'b-2' });

    // the deferred one by sequence number, and the abandoned one again (delivery count 2)
    const [deferred] = await receiver.receiveDeferredMessages(messages[2]!.sequenceNumber!);
    const [deferredSpan] = t.spansNamed(`receive_deferred ${QUEUE}`);
    expect(deferredSpan!.links.map((l) => l.context.spanId)).toEqual([creates[2]!.spanContext().spanId]);
    await receiver.completeMessage(deferred!);
    const [again] = await receive(receiver, 1);
    expect(again!.messageId).toBe('b-1');
    const lastReceive = t.spansNamed(`receive ${QUEUE}`).at(-1)!;
    expect(lastReceive.links[0]!.attributes!['brokertrace.message.delivery_count']).toBe(2);
    const until = await receiver.renewMessageLock(again!);
    const [renew] = t.spansNamed(`renew_message_lock ${QUEUE}`);
    expect(renew!.attributes['brokertrace.servicebus.locked_until']).toBe(until.getTime());
    expect(renew!.attributes['messaging.servicebus.disposition_status']).toBeUndefined();
    // Not a settlement: no messaging.operation.type (none of the conventions' types fits a lock renewal).
    expect(renew!.kind).toBe(2 /* CLIENT */);
    expect(renew!.attributes['messaging.operation.type']).toBeUndefined();
    await receiver.completeMessage(again!);
    await receiver.close();
    await sender.close();
    expect(t.openSpans()).toEqual([]);
  });

  it('an array: a create span per message; peek and the message iterator give spans with a link per message', async () => {
    const sender = traceSender(client.createSender(QUEUE));
    await sender.sendMessages([
      { body: 'a', messageId: 'arr-a' },
      { body: 'b', messageId: 'arr-b' },
    ]);
    const creates = t.spansNamed(`create ${QUEUE}`);
    expect(creates).toHaveLength(2);
    expect(creates.map((c) => c.attributes['messaging.message.id'])).toEqual(['arr-a', 'arr-b']);
    const [send] = t.spansNamed(`send ${QUEUE}`);
    expect(send!.attributes['messaging.batch.message_count']).toBe(2);
    expect(send!.links).toHaveLength(2);

    const receiver = traceReceiver(client.createReceiver(QUEUE));
    const peeked = await receiver.peekMessages(10);
    expect(peeked.map((m) => m.messageId)).toEqual(['arr-a', 'arr-b']);
    const [peek] = t.spansNamed(`peek ${QUEUE}`);
    expect(peek!.links.map((l) => l.context.spanId)).toEqual(creates.map((c) => c.spanContext().spanId));
    const seen: string[] = [];
    for await (const m of receiver.getMessageIterator()) {
      seen.push(String(m.messageId));
      await receiver.completeMessage(m);
      if (seen.length === 2) break;
    }
    expect(seen).toEqual(['arr-a', 'arr-b']);
    const receives = t.spansNamed(`receive ${QUEUE}`);
    expect(receives.map((r) => r.links.length)).toEqual([1, 1]);
    // one message each: its Service Bus attributes are the span's own
    expect(receives.map((r) => r.attributes['messaging.message.id'])).toEqual(['arr-a', 'arr-b']);
    for (const r of receives) expect(r.attributes['messaging.servicebus.message.delivery_count']).toBe(1);
    await receiver.close();
    await sender.close();
  });
});
