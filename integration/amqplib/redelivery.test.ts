// Delivery counts as RabbitMQ reports them: the redelivered flag, quorum queues' x-delivery-count, and x-death
// in a dead-letter loop; child up to policy.maxChildDeliveries, linked after.
import { setupTestTelemetry } from '@brokertrace/testing';
import { traceChannel } from '@brokertrace/amqplib';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { uniqueName } from '../harness/index';
import { collect, openConnection, spanIds } from './helpers';

const t = setupTestTelemetry();
let connection: ChannelModel;
const opened: Channel[] = [];

beforeAll(async () => {
  connection = await openConnection();
});
afterAll(async () => {
  await connection.close();
});
beforeEach(() => t.reset());
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close().catch(() => undefined)));
});

async function tracedChannel(config?: Parameters<typeof traceChannel>[1]): Promise<Channel> {
  const ch = traceChannel(await connection.createChannel(), config);
  opened.push(ch);
  return ch;
}

/** Consumes until `rounds` deliveries arrived; `settle` decides each one's fate (by delivery index). */
async function deliveries(ch: Channel, queue: string, rounds: number, settle: (m: ConsumeMessage, i: number) => void): Promise<ConsumeMessage[]> {
  const got = collect<ConsumeMessage>(rounds);
  let i = 0;
  const { consumerTag } = await ch.consume(queue, (m) => {
    if (!m) return;
    settle(m, i++);
    got.push(m);
  });
  const all = await got.done;
  await ch.cancel(consumerTag);
  return all;
}

function processAttributes(queue: string, key: string): unknown[] {
  return t.spans().filter((s) => s.name.startsWith('process ') && s.name.endsWith(queue)).map((s) => s.attributes[key]);
}

it('records redelivered after nack(requeue=true): child up to maxChildDeliveries, linked after', async () => {
  const ch = await tracedChannel({ policy: { maxChildDeliveries: 1 } });
  const { queue: q } = await ch.assertQueue(uniqueName('nack'), { durable: false });
  // A message id too: a redelivery must not be mistaken for a duplicate.
  ch.sendToQueue(q, Buffer.from('retry me'), { messageId: 'same-id' });
  const msgs = await deliveries(ch, q, 2, (m, i) => (i === 0 ? ch.nack(m, false, true) : ch.ack(m)));

  expect(msgs.map((m) => m.fields.redelivered)).toEqual([false, true]);
  const send = t.spansNamed(`send ${q}`)[0];
  const [first, second] = t.spansNamed(`process ${q}`);
  expect(first!.attributes).toMatchObject({ 'brokertrace.message.delivery_count': 1, 'brokertrace.decision.relationship': 'child', 'brokertrace.message.settlement': 'nack_requeue' });
  expect(first!.parentSpanContext?.spanId).toBe(spanIds(send).spanId);
  expect(second!.attributes).toMatchObject({ 'brokertrace.message.delivery_count': 2, 'brokertrace.decision.relationship': 'link', 'brokertrace.decision.reason': 'redelivered' });
  expect(second!.links[0]?.context.spanId).toBe(spanIds(send).spanId);
  expect(second!.links[0]?.attributes ?? {}).toEqual({}); // the count is on the span
});

it('B5: on a classic queue with the default policy, a message nacked with requeue five times is linked (redelivered) from its 4th delivery', async () => {
  const ch = await tracedChannel();
  const { queue: q } = await ch.assertQueue(uniqueName('poison'), { durable: false });
  // No message id: the redeliveries are told apart by the context the message carries.
  ch.sendToQueue(q, Buffer.from('poison'));
  const msgs = await deliveries(ch, q, 6, (m, i) => (i < 5 ? ch.nack(m) : ch.ack(m)));

  // What RabbitMQ says: only "redelivered", never how often.
  expect(msgs.map((m) => m.fields.redelivered)).toEqual([false, true, true, true, true, true]);
  expect(msgs.every((m) => m.properties.headers?.['x-delivery-count'] === undefined)).toBe(true);
  expect(processAttributes(q, 'brokertrace.message.delivery_count')).toEqual([1, 2, 3, 4, 5, 6]);
  expect(processAttributes(q, 'brokertrace.decision.relationship')).toEqual(['child', 'child', 'child', 'link', 'link', 'link']);
  expect(processAttributes(q, 'brokertrace.decision.reason')).toEqual(['fresh', 'fresh', 'fresh', 'redelivered', 'redelivered', 'redelivered']);
  // The producer's trace stops growing at the 3rd delivery; the later ones are roots linked to the send span.
  const send = spanIds(t.spansNamed(`send ${q}`)[0]);
  const processes = t.spans().filter((s) => s.name === `process ${q}`);
  expect(processes.filter((p) => p.spanContext().traceId === send.traceId)).toHaveLength(3);
  for (const p of processes.slice(3)) {
    expect(p.parentSpanContext).toBeUndefined();
    expect(p.links[0]?.context.spanId).toBe(send.spanId);
  }
});

it('keeps a redelivery within maxChildDeliveries a child (not a duplicate)', async () => {
  const ch = await tracedChannel();
  const { queue: q } = await ch.assertQueue(uniqueName('nack'), { durable: false });
  ch.sendToQueue(q, Buffer.from('x'), { messageId: 'same-id-2' });
  await deliveries(ch, q, 2, (m, i) => (i === 0 ? ch.nack(m) : ch.ack(m)));
  expect(processAttributes(q, 'brokertrace.decision.reason')).toEqual(['fresh', 'fresh']);
  expect(processAttributes(q, 'brokertrace.message.delivery_count')).toEqual([1, 2]);
});

it("counts a quorum queue's deliveries from x-delivery-count", async () => {
  const ch = await tracedChannel({ policy: { maxChildDeliveries: 3 } });
  const { queue: q } = await ch.assertQueue(uniqueName('quorum'), { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  try {
    ch.sendToQueue(q, Buffer.from('poison'));
    const msgs = await deliveries(ch, q, 5, (m, i) => (i < 4 ? ch.nack(m, false, true) : ch.ack(m)));
    // RabbitMQ says how many earlier deliveries failed; the first delivery has no header.
    expect(msgs.map((m) => m.properties.headers?.['x-delivery-count'])).toEqual([undefined, 1, 2, 3, 4]);
    expect(processAttributes(q, 'brokertrace.message.delivery_count')).toEqual([1, 2, 3, 4, 5]);
    expect(processAttributes(q, 'brokertrace.decision.relationship')).toEqual(['child', 'child', 'child', 'link', 'link']);
  } finally {
    await ch.deleteQueue(q);
  }
});

/** work --reject--> dlx --> wait (TTL) --expire--> default exchange --> work: a retry loop. */
async function deadLetterLoop(ch: Channel): Promise<{ work: string }> {
  const work = uniqueName('work');
  const wait = uniqueName('wait');
  const dlx = uniqueName('dlx');
  await ch.assertExchange(dlx, 'fanout', { durable: false, autoDelete: true });
  await ch.assertQueue(work, { durable: false, deadLetterExchange: dlx });
  await ch.assertQueue(wait, { durable: false, messageTtl: 20, deadLetterExchange: '', deadLetterRoutingKey: work });
  await ch.bindQueue(wait, dlx, '');
  return { work };
}

it('counts rounds of a dead-letter loop from x-death and links after maxChildDeliveries', async () => {
  // x-death only counts here (a retry loop, not a replay): policy.maxChildDeliveries decides.
  const ch = await tracedChannel({ deadLetterIsReplay: false, policy: { maxChildDeliveries: 3 } });
  const { work } = await deadLetterLoop(ch);
  ch.sendToQueue(work, Buffer.from('job'));
  const msgs = await deliveries(ch, work, 5, (m, i) => (i < 4 ? ch.reject(m, false) : ch.ack(m)));

  expect(msgs.map((m) => m.content.toString())).toEqual(Array(5).fill('job'));
  expect(processAttributes(work, 'brokertrace.message.delivery_count')).toEqual([1, 2, 3, 4, 5]);
  expect(processAttributes(work, 'brokertrace.decision.relationship')).toEqual(['child', 'child', 'child', 'link', 'link']);
  expect(processAttributes(work, 'brokertrace.message.settlement')).toEqual(['reject', 'reject', 'reject', 'reject', 'ack']);
  const send = t.spansNamed(`send ${work}`)[0];
  const processes = t.spans().filter((s) => s.name.startsWith('process ') && s.name.endsWith(work));
  expect(processes.slice(0, 3).every((p) => p.parentSpanContext?.spanId === spanIds(send).spanId)).toBe(true);
  expect(processes.slice(3).every((p) => p.links[0]?.context.spanId === spanIds(send).spanId)).toBe(true);
});

it('by default treats a message back from a dead-letter exchange as replayed and links it', async () => {
  const ch = await tracedChannel();
  const { work } = await deadLetterLoop(ch);
  ch.sendToQueue(work, Buffer.from('job'));
  await deliveries(ch, work, 2, (m, i) => (i === 0 ? ch.reject(m, false) : ch.ack(m)));
  expect(processAttributes(work, 'brokertrace.decision.reason')).toEqual(['fresh', 'redelivered']);
});
