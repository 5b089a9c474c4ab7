// Publisher to subscribers through Google's Pub/Sub emulator (from the harness): one trace per message, a
// send span per batch RPC linking to every message's create span, facts on the spans, payloads and caller
// objects unchanged, nothing left open.
import { randomBytes } from 'node:crypto';
import { SpanKind, context, trace } from '@opentelemetry/api';
import { pubsub } from '../harness/index.js';
import { setupTestTelemetry } from '@brokertrace/testing';
import { traceSubscription, traceTopic, tracePubSub, untracePubSub } from '@brokertrace/pubsub';
import type { PubSub, Subscription, Topic } from '@google-cloud/pubsub';
import { Countdown, cleanup, pubsubClient, topicWithSubscriptions } from './helpers.js';
import type { Message } from './helpers.js';

const t = setupTestTelemetry();
let client: PubSub;
const created: Array<{ topic: Topic; subscriptions: Subscription[] }> = [];

beforeAll(async () => {
  client = await pubsubClient();
});
beforeEach(() => t.reset());
afterEach(async () => {
  for (const c of created.splice(0)) await cleanup(c.topic, c.subscriptions);
});
afterAll(async () => {
  await client.close();
});

async function setup(prefix: string, n = 1, config?: Parameters<typeof traceTopic>[1], options?: Parameters<Topic['createSubscription']>[1]) {
  const made = await topicWithSubscriptions(client, prefix, n, options);
  created.push(made);
  return { topic: traceTopic(made.topic, config), subscriptions: made.subscriptions.map((s) => traceSubscription(s, config)), ids: made };
}

function topicId(topic: Topic): string {
  return topic.name.slice(topic.name.lastIndexOf('/') + 1);
}
function subId(s: Subscription): string {
  return s.name.slice(s.name.lastIndexOf('/') + 1);
}

/** Collects `count` messages from `subscription`, acking each. */
function collect(subscription: Subscription, count: number, onMessage?: (m: Message) => void): Countdown<Message> {
  const got = new Countdown<Message>(count, 60_000);
  subscription.on('message', (m: Message) => {
    onMessage?.(m);
    m.ack();
    got.push(m);
  });
  return got;
}

it('one trace from publisher to subscriber (child), with the facts on both sides', async () => {
  const { topic, subscriptions } = await setup('e2e');
  const [sub] = subscriptions;
  const got = collect(sub!, 1);
  const payload = randomBytes(64);
  const attributes = { app: 'checkout' };
  const id = await t.withSpan('checkout', () => topic.publishMessage({ data: payload, attributes }));
  const [message] = await got.done;
  await sub!.close();

  expect(message!.id).toBe(id);
  expect(message!.data).toEqual(payload);
  expect(message!.attributes.app).toBe('checkout');
  expect(attributes).toEqual({ app: 'checkout' });
  const caller = t.spansNamed('checkout')[0]!;
  const [create] = t.spansNamed(`create ${topicId(topic)}`);
  const [send] = t.spansNamed(`send ${topicId(topic)}`);
  const [process] = t.spansNamed(`subscribe ${subId(sub!)}`);
  const [ack] = t.spansNamed(`ack ${subId(sub!)}`);
  expect(create!.parentSpanContext?.spanId).toBe(caller.spanContext().spanId);
  expect(create!.attributes['messaging.message.id']).toBe(id);
  expect(send!.kind).toBe(SpanKind.CLIENT);
  expect(send!.links.map((l) => l.context.spanId)).toEqual([create!.spanContext().spanId]);
  expect(process!.spanContext().traceId).toBe(caller.spanContext().traceId);
  expect(process!.parentSpanContext?.spanId).toBe(create!.spanContext().spanId);
  expect(process!.links[0]!.context.spanId).toBe(create!.spanContext().spanId);
  expect(process!.attributes).toMatchObject({
    'messaging.system': 'gcp_pubsub',
    'messaging.destination.name': subId(sub!),
    'messaging.destination.subscription.name': subId(sub!),
    'messaging.message.id': id,
    'brokertrace.decision.relationship': 'child',
    'brokertrace.decision.reason': 'fresh',
  });
  expect(process!.attributes['brokertrace.message.queue_time']).toBeGreaterThanOrEqual(0);
  // deliveryAttempt is 0 (unknown) without a dead-letter policy: no delivery count on the span
  expect(process!.attributes['messaging.gcp_pubsub.message.delivery_attempt']).toBeUndefined();
  expect(ack!.parentSpanContext?.spanId).toBe(process!.spanContext().spanId);
  // the delivery's ack id, on the process span and on the ack that names it
  const ackId = process!.attributes['messaging.gcp_pubsub.message.ack_id'];
  expect(typeof ackId === 'string' && ackId.length > 0).toBe(true);
  expect(ack!.attributes['messaging.gcp_pubsub.message.ack_id']).toBe(ackId);
  // every span and metric names the endpoint the client talked to: the emulator the harness started
  const [host, port] = (await pubsub()).apiEndpoint.split(':');
  const endpoint = { 'server.address': host, 'server.port': Number(port) };
  for (const span of [create, send, process, ack]) expect(span!.attributes).toMatchObject(endpoint);
  const m = await t.metrics();
  expect(m['messaging.client.sent.messages']![0]!.attributes).toMatchObject(endpoint);
  expect(m['messaging.client.consumed.messages']![0]!.attributes).toMatchObject(endpoint);
  expect(t.openSpans()).toHaveLength(0);
});

it('two subscriptions on one topic both continue the producer trace', async () => {
  const { topic, subscriptions } = await setup('fanout', 2);
  const gots = subscriptions.map((s) => collect(s, 1));
  await t.withSpan('producer', () => topic.publishMessage({ data: Buffer.from('x') }));
  await Promise.all(gots.map((g) => g.done));
  const create = t.spansNamed(`create ${topicId(topic)}`)[0]!;
  for (const s of subscriptions) {
    const [span] = t.spansNamed(`subscribe ${subId(s)}`);
    expect(span!.parentSpanContext?.spanId).toBe(create.spanContext().spanId);
    expect(span!.spanContext().traceId).toBe(create.spanContext().traceId);
  }
});

it('every publish path is traced: publish, publishJSON, publishMessage, flowControlled()', async () => {
  const { topic, subscriptions } = await setup('paths');
  const got = collect(subscriptions[0]!, 4);
  await topic.publish(Buffer.from('publish'));
  await topic.publishJSON({ path: 'json' });
  await topic.publishMessage({ data: Buffer.from('publishMessage') });
  const flow = topic.flowControlled();
  await flow.publish({ data: Buffer.from('flow') });
  const [flowId] = await flow.all();
  const messages = await got.done;
  const creates = t.spansNamed(`create ${topicId(topic)}`);
  expect(creates).toHaveLength(4);
  const byCreate = new Map(creates.map((c) => [c.spanContext().spanId, c]));
  for (const span of t.spansNamed(`subscribe ${subId(subscriptions[0]!)}`)) expect(byCreate.has(span.parentSpanContext!.spanId)).toBe(true);
  expect(messages.map((m) => m.data.toString()).sort()).toEqual(['flow', 'publish', 'publishMessage', JSON.stringify({ path: 'json' })].sort());
  expect(creates.some((c) => c.attributes['messaging.message.id'] === flowId)).toBe(true);
});

it('a batch RPC: one send span with a link per message, each message its own context', async () => {
  const made = await topicWithSubscriptions(client, 'batch', 1);
  created.push(made);
  const topic = traceTopic(client.topic(made.topic.name, { batching: { maxMessages: 10, maxMilliseconds: 200 } }));
  const sub = traceSubscription(made.subscriptions[0]!);
  const got = collect(sub, 10);
  await Promise.all(Array.from({ length: 10 }, (_, i) => topic.publishMessage({ data: Buffer.from(String(i)) })));
  await got.done;
  const sends = t.spansNamed(`send ${topicId(topic)}`);
  expect(sends).toHaveLength(1);
  expect(sends[0]!.attributes['messaging.batch.message_count']).toBe(10);
  const creates = t.spansNamed(`create ${topicId(topic)}`);
  expect(sends[0]!.links.map((l) => l.context.spanId).sort()).toEqual(creates.map((c) => c.spanContext().spanId).sort());
  const processes = t.spansNamed(`subscribe ${subId(sub)}`);
  expect(new Set(processes.map((p) => p.parentSpanContext!.spanId)).size).toBe(10);
  const m = await t.metrics();
  const sent = m['messaging.client.sent.messages']!.filter((p) => p.attributes['messaging.destination.name'] === topicId(topic));
  expect(sent.map((p) => p.kind === 'sum' && p.value)).toEqual([10]);
});

it('a message held longer than maxChildAgeMs is linked, reason stale', async () => {
  const { topic, subscriptions } = await setup('stale', 1, { policy: { maxChildAgeMs: 300 } });
  await t.withSpan('producer', () => topic.publishMessage({ data: Buffer.from('old') }));
  await new Promise((r) => setTimeout(r, 600)); // the message waits in the subscription
  const got = collect(subscriptions[0]!, 1);
  await got.done;
  const create = t.spansNamed(`create ${topicId(topic)}`)[0]!;
  const [span] = t.spansNamed(`subscribe ${subId(subscriptions[0]!)}`);
  expect(span!.attributes['brokertrace.decision.reason']).toBe('stale');
  expect(span!.parentSpanContext).toBeUndefined();
  expect(span!.spanContext().traceId).not.toBe(create.spanContext().traceId);
  expect(span!.links[0]!.context.spanId).toBe(create.spanContext().spanId);
  // The queue time is the span's own; its link repeats no fact.
  expect(span!.attributes['brokertrace.message.queue_time']).toBeGreaterThanOrEqual(0.3);
  expect(span!.attributes['brokertrace.message.queue_time']).toBeLessThan(60); // seconds, not ms
  expect(span!.links[0]!.attributes ?? {}).toEqual({});
});

it('99 user attributes: traceparent only, dropped names the rest, the message arrives intact', async () => {
  const { topic, subscriptions } = await setup('budget', 1, { writeGoogclientTraceparent: true });
  const attributes: Record<string, string> = {};
  for (let i = 0; i < 99; i++) attributes[`key${i}`] = `value${i}`;
  const got = collect(subscriptions[0]!, 1);
  const bag = trace.setSpan(context.active(), trace.wrapSpanContext({ traceId: '1'.repeat(32), spanId: '2'.repeat(16), traceFlags: 1 }));
  const { propagation } = await import('@opentelemetry/api');
  const ctx = propagation.setBaggage(bag, propagation.createBaggage({ tenant: { value: 'acme' } }));
  const payload = randomBytes(32);
  await context.with(ctx, () => topic.publishMessage({ data: payload, attributes }));
  const [message] = await got.done;
  expect(Object.keys(message!.attributes)).toHaveLength(100);
  expect(message!.attributes.traceparent).toMatch(/^00-1{32}-/);
  expect(message!.data).toEqual(payload);
  for (let i = 0; i < 99; i++) expect(message!.attributes[`key${i}`]).toBe(`value${i}`);
  const create = t.spansNamed(`create ${topicId(topic)}`)[0]!;
  expect(create.attributes['brokertrace.context.dropped_fields']).toEqual(['baggage', 'googclient_traceparent']);
  const m = await t.metrics();
  // core's budget drop and Pub/Sub's own (the googclient_ copy without room) both counted
  const fields = m['brokertrace.context.dropped']!.map((p) => p.attributes['brokertrace.context.field']);
  expect(fields).toEqual(expect.arrayContaining(['baggage', 'googclient_traceparent']));
  // the consumer continues the producer's trace
  expect(t.spansNamed(`subscribe ${subId(subscriptions[0]!)}`)[0]!.spanContext().traceId).toBe('1'.repeat(32));
});

it('frozen inputs publish and arrive', async () => {
  const { topic, subscriptions } = await setup('frozen');
  const got = collect(subscriptions[0]!, 2);
  const attributes = Object.freeze({ app: 'x' });
  await topic.publishMessage(Object.freeze({ data: Buffer.from('a'), attributes }));
  await topic.publish(Buffer.from('b'), attributes);
  const messages = await got.done;
  expect(messages.map((m) => m.attributes.app)).toEqual(['x', 'x']);
  expect(messages.every((m) => m.attributes.traceparent !== undefined)).toBe(true);
});

it('100 ordered messages with one key keep their order and each its own context', async () => {
  const made = await topicWithSubscriptions(client, 'ordered', 1, { enableMessageOrdering: true });
  created.push(made);
  const topic = traceTopic(client.topic(made.topic.name, { messageOrdering: true }));
  const sub = traceSubscription(made.subscriptions[0]!);
  const seenContexts: string[] = [];
  const got = collect(sub, 100, () => seenContexts.push(trace.getActiveSpan()!.spanContext().spanId));
  const ids = await Promise.all(Array.from({ length: 100 }, (_, i) => topic.publishMessage({ data: Buffer.from(String(i)), orderingKey: 'customer-1' })));
  const messages = await got.done;
  expect(messages.map((m) => Number(m.data.toString()))).toEqual(Array.from({ length: 100 }, (_, i) => i));
  expect(messages.map((m) => m.id)).toEqual(ids);
  const creates = new Map(t.spansNamed(`create ${topicId(topic)}`).map((c) => [c.attributes['messaging.message.id'], c]));
  const processes = t.spansNamed(`subscribe ${subId(sub)}`);
  expect(processes).toHaveLength(100);
  for (const p of processes) {
    const create = creates.get(p.attributes['messaging.message.id']);
    expect(p.parentSpanContext?.spanId).toBe(create!.spanContext().spanId);
    expect(p.attributes['messaging.gcp_pubsub.message.ordering_key']).toBe('customer-1');
  }
  expect(new Set(seenContexts).size).toBe(100);
});

it('a process span is never the child of the previous message span (the client dispatches in the acker context)', async () => {
  const made = await topicWithSubscriptions(client, 'leak', 1);
  // flow control of 1: each message is dispatched from inside the previous message's ack
  const sub = traceSubscription(client.subscription(made.subscriptions[0]!.name, { flowControl: { maxMessages: 1, allowExcessMessages: false } }));
  created.push({ topic: made.topic, subscriptions: [sub, ...made.subscriptions] });
  const got = new Countdown<Message>(40, 60_000);
  sub.on('message', (m: Message) => {
    got.push(m);
    m.ack();
  });
  // 20 messages without context (an untraced publisher): a leaked active span would show up as their parent;
  // 20 with context: each must be the child of its own create span
  const traced = traceTopic(client.topic(made.topic.name));
  await Promise.all(Array.from({ length: 20 }, (_, i) => made.topic.publishMessage({ data: Buffer.from(`bare-${i}`) })));
  await Promise.all(Array.from({ length: 20 }, (_, i) => traced.publishMessage({ data: Buffer.from(`traced-${i}`) })));
  const messages = await got.done;
  const processes = t.spansNamed(`subscribe ${subId(sub)}`);
  const processIds = new Set(processes.map((p) => p.spanContext().spanId));
  const creates = new Map(t.spansNamed(`create ${topicId(made.topic)}`).map((c) => [c.attributes['messaging.message.id'], c.spanContext().spanId]));
  const byId = new Map(messages.map((m) => [m.id, m.data.toString()]));
  expect(processes).toHaveLength(40);
  for (const p of processes) {
    const id = p.attributes['messaging.message.id'] as string;
    if (byId.get(id)!.startsWith('bare-')) {
      expect(p.parentSpanContext).toBeUndefined();
      expect(p.attributes['brokertrace.decision.reason']).toBe('no-context');
    } else {
      expect(p.parentSpanContext?.spanId).toBe(creates.get(id));
    }
    expect(processIds.has(p.parentSpanContext?.spanId ?? '')).toBe(false);
    for (const l of p.links) expect(processIds.has(l.context.spanId)).toBe(false);
  }
  expect(new Set(processes.map((p) => p.spanContext().traceId)).size).toBe(40);
});

it('1,000 messages: each received exactly once with its payload, no span left open', async () => {
  const made = await topicWithSubscriptions(client, 'thousand', 1);
  const traced = tracePubSub(client);
  const topic = traced.topic(made.topic.name);
  const sub = traced.subscription(made.subscriptions[0]!.name);
  created.push({ topic: made.topic, subscriptions: [sub, ...made.subscriptions] });
  const payloads = Array.from({ length: 1000 }, (_, i) => Buffer.concat([Buffer.from(`${i}:`), randomBytes(16)]));
  const seen = new Map<string, number>();
  const got = new Countdown<Message>(1000, 120_000);
  sub.on('message', (m: Message) => {
    const key = m.data.toString('base64');
    seen.set(key, (seen.get(key) ?? 0) + 1);
    m.ack();
    got.push(m);
  });
  await Promise.all(payloads.map((data) => topic.publishMessage({ data })));
  await got.done;
  await new Promise((r) => setTimeout(r, 500)); // a redelivery would show up here
  await sub.close();
  expect(seen.size).toBe(1000);
  for (const p of payloads) expect(seen.get(p.toString('base64'))).toBe(1);
  expect(t.openSpans()).toHaveLength(0);
  expect(t.spansNamed(`subscribe ${subId(sub)}`)).toHaveLength(1000);
  expect(t.spansNamed(`create ${topicId(topic)}`)).toHaveLength(1000);
  const sends = t.spansNamed(`send ${topicId(topic)}`);
  expect(sends.reduce((n, s) => n + (s.attributes['messaging.batch.message_count'] as number), 0)).toBe(1000);
  // tracePubSub patched the shared client: the tests after this one use it untraced again
  expect(untracePubSub(client)).toBe(true);
});
