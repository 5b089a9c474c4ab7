// Redelivery through the emulator: a dead-letter policy makes the service count deliveries (deliveryAttempt), a
// nacked message comes back with attempt 2 and the policy's answer; after maxDeliveryAttempts it is forwarded to
// the dead-letter topic with the CloudPubSubDeadLetterSource* attributes, and replaying it is linked.
import { setupTestTelemetry } from '@brokertrace/testing';
import { traceSubscription, traceTopic } from '@brokertrace/pubsub';
import type { PubSub, Subscription, Topic } from '@google-cloud/pubsub';
import { uniqueName } from '../harness/index.js';
import { Countdown, cleanup, pubsubClient } from './helpers.js';
import type { Message } from './helpers.js';

const t = setupTestTelemetry();
let client: PubSub;
const toClean: Array<[Topic, Subscription[]]> = [];

beforeAll(async () => {
  client = await pubsubClient();
});
beforeEach(() => t.reset());
afterEach(async () => {
  for (const [topic, subs] of toClean.splice(0)) await cleanup(topic, subs);
});
afterAll(async () => {
  await client.close();
});

function id(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}

/** A topic with a subscription whose dead-letter policy forwards to a second topic (with its own subscription). */
async function withDeadLetter(maxDeliveryAttempts = 5) {
  const [dlq] = await client.createTopic(uniqueName('dlq'));
  const [dlqSub] = await dlq.createSubscription(uniqueName('dlq-sub'));
  const [topic] = await client.createTopic(uniqueName('work'));
  const [sub] = await topic.createSubscription(uniqueName('work-sub'), {
    deadLetterPolicy: { deadLetterTopic: dlq.name, maxDeliveryAttempts },
    retryPolicy: { minimumBackoff: { seconds: 0 }, maximumBackoff: { seconds: 0 } },
  });
  toClean.push([topic, [sub]], [dlq, [dlqSub]]);
  return { topic: traceTopic(topic), sub: traceSubscription(sub, { policy: { maxChildDeliveries: 1 } }), dlqSub: traceSubscription(dlqSub) };
}

it('a nacked message comes back with deliveryAttempt 2 and is linked by the policy (maxChildDeliveries 1)', async () => {
  const { topic, sub } = await withDeadLetter();
  const got = new Countdown<Message>(2, 60_000);
  sub.on('message', (m: Message) => {
    got.push(m);
    if (got.items.length === 1) m.nack();
    else m.ack();
  });
  const messageId = await t.withSpan('producer', () => topic.publishMessage({ data: Buffer.from('retry me') }));
  const [first, second] = await got.done;
  expect([first!.id, second!.id]).toEqual([messageId, messageId]);
  expect([first!.deliveryAttempt, second!.deliveryAttempt]).toEqual([1, 2]);
  const create = t.spansNamed(`create ${id(topic.name)}`)[0]!;
  const spans = t.spansNamed(`subscribe ${id(sub.name)}`);
  expect(spans.map((s) => s.attributes['messaging.gcp_pubsub.message.delivery_attempt'])).toEqual([1, 2]);
  expect(spans.map((s) => s.attributes['brokertrace.message.delivery_count'])).toEqual([1, 2]);
  expect(spans.map((s) => s.attributes['brokertrace.decision.reason'])).toEqual(['fresh', 'redelivered']);
  expect(spans[0]!.parentSpanContext?.spanId).toBe(create.spanContext().spanId);
  expect(spans[1]!.parentSpanContext).toBeUndefined();
  expect(spans[1]!.links[0]!.context.spanId).toBe(create.spanContext().spanId);
  expect(spans[1]!.links[0]!.attributes ?? {}).toEqual({}); // the count is on the span
  expect(t.spansNamed(`nack ${id(sub.name)}`)).toHaveLength(1);
  const m = await t.metrics();
  const decisions = m['brokertrace.decisions']!.filter((p) => p.attributes['messaging.destination.name'] === id(sub.name));
  expect(decisions.map((p) => [p.attributes['brokertrace.decision.reason'], p.kind === 'sum' && p.value]).sort()).toEqual([
    ['fresh', 1],
    ['redelivered', 1],
  ]);
});

it('after maxDeliveryAttempts the message is forwarded to the dead-letter topic; replaying it is linked', async () => {
  const { topic, sub, dlqSub } = await withDeadLetter(5);
  const nacked = new Countdown<Message>(5, 60_000);
  sub.on('message', (m: Message) => {
    nacked.push(m);
    m.nack();
  });
  const replayed = new Countdown<Message>(1, 60_000);
  dlqSub.on('message', (m: Message) => {
    replayed.push(m);
    m.ack();
  });
  await topic.publishMessage({ data: Buffer.from('poison') });
  const attempts = await nacked.done;
  expect(attempts.map((m) => m.deliveryAttempt)).toEqual([1, 2, 3, 4, 5]);
  const [dead] = await replayed.done;
  expect(dead!.data.toString()).toBe('poison');
  expect(dead!.attributes.CloudPubSubDeadLetterSourceSubscription).toBe(id(sub.name));
  const [span] = t.spansNamed(`subscribe ${id(dlqSub.name)}`);
  expect(span!.attributes).toMatchObject({
    'brokertrace.decision.reason': 'redelivered',
    'brokertrace.gcp_pubsub.dead_letter.source_subscription': id(sub.name),
  });
  expect(span!.parentSpanContext).toBeUndefined();
  expect(span!.links[0]!.context.spanId).toBe(t.spansNamed(`create ${id(topic.name)}`)[0]!.spanContext().spanId);
});

it('ackWithResponse / modAckWithResponse are settle spans with the answer the client gives', async () => {
  const [topic] = await client.createTopic(uniqueName('eod'));
  const [raw] = await topic.createSubscription(uniqueName('eod-sub'), { enableExactlyOnceDelivery: true });
  toClean.push([topic, [raw]]);
  const sub = traceSubscription(raw);
  const got = new Countdown<Message>(1);
  const responses: string[] = [];
  // eslint-disable-next-line @typescript-eslint/no-misused-promises -- an async listener, as users write them
  sub.on('message', async (m: Message) => {
    responses.push(await m.modAckWithResponse(30));
    responses.push(await m.ackWithResponse());
    got.push(m);
  });
  await traceTopic(topic).publishMessage({ data: Buffer.from('once') });
  const [message] = await got.done;
  await new Promise((r) => setImmediate(r));
  // The emulator honours exactly-once delivery: the *WithResponse calls wait for its answer.
  expect((message as unknown as { isExactlyOnceDelivery: boolean }).isExactlyOnceDelivery).toBe(true);
  expect(responses).toEqual(['SUCCESS', 'SUCCESS']);
  const subId = id(raw.name);
  const [modack] = t.spansNamed(`modack ${subId}`);
  const [ack] = t.spansNamed(`ack ${subId}`);
  const [process] = t.spansNamed(`subscribe ${subId}`);
  expect(modack!.attributes).toMatchObject({
    'messaging.gcp_pubsub.message.ack_deadline': 30,
    'brokertrace.gcp_pubsub.ack_response': 'SUCCESS',
    'brokertrace.gcp_pubsub.exactly_once_delivery': true,
    'messaging.operation.type': 'settle',
  });
  expect(ack!.attributes['brokertrace.gcp_pubsub.ack_response']).toBe('SUCCESS');
  expect(ack!.parentSpanContext?.spanId).toBe(process!.spanContext().spanId);
  expect(t.spansNamed(`ack ${subId}`)).toHaveLength(1);
});
