// @brokertrace/amqplib against a real RabbitMQ: one trace from publisher to every consumer.
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { setupTestTelemetry } from '@brokertrace/testing';
import { traceChannel, traceConnection } from '@brokertrace/amqplib';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import * as callbackApi from 'amqplib/callback_api';
import { rabbitmq, uniqueName } from '../harness/index';
import { collect, consumeN, openConnection, spanIds } from './helpers';

const t = setupTestTelemetry();
let connection: ChannelModel;
let ch: Channel;

beforeAll(async () => {
  connection = await openConnection();
});
afterAll(async () => {
  await connection.close();
});
beforeEach(async () => {
  await t.reset();
  ch = traceChannel(await connection.createChannel());
});
afterEach(async () => {
  await ch.close().catch(() => undefined);
});

/** Spans by `messaging.destination.name` (span names carry the low-cardinality template). */
function withDestination(name: string, operation: 'send' | 'process') {
  return t.spans().filter((s) => s.attributes['messaging.destination.name'] === name && s.attributes['messaging.operation.type'] === operation);
}

async function queue(options: Parameters<Channel['assertQueue']>[1] = {}): Promise<string> {
  const { queue: name } = await ch.assertQueue(uniqueName('amqplib'), { autoDelete: false, durable: false, ...options });
  return name;
}

it('puts producer and consumer in one trace: the process span is a child of the send span', async () => {
  const q = await queue();
  ch.sendToQueue(q, Buffer.from('hello'), { messageId: 'm-1', headers: { tenant: 'acme' } });
  const [msg] = await consumeN(ch, q, 1, (m) => ch.ack(m));

  const send = t.spansNamed(`send ${q}`)[0];
  const process = t.spansNamed(`process ${q}`)[0]!;
  expect(process.kind).toBe(SpanKind.CONSUMER);
  expect(process.spanContext().traceId).toBe(spanIds(send).traceId);
  expect(process.parentSpanContext?.spanId).toBe(spanIds(send).spanId);
  expect(process.attributes).toMatchObject({
    'messaging.system': 'rabbitmq',
    'messaging.destination.name': q,
    'messaging.message.id': 'm-1',
    'brokertrace.decision.relationship': 'child',
    'brokertrace.decision.reason': 'fresh',
    'brokertrace.message.delivery_count': 1,
    'brokertrace.message.settlement': 'ack',
  });
  expect(typeof process.attributes['messaging.rabbitmq.message.delivery_tag']).toBe('number');
  // What the broker delivered: the payload and the caller's headers unchanged, plus the context.
  expect(msg!.content.toString()).toBe('hello');
  expect(msg!.properties.headers).toMatchObject({ tenant: 'acme', traceparent: expect.stringContaining(spanIds(send).spanId) });
  expect(t.openSpans()).toHaveLength(0);
});

it('continues the producer trace in both consumers of a topic exchange with two bound queues', async () => {
  const exchange = uniqueName('topic');
  await ch.assertExchange(exchange, 'topic', { autoDelete: true, durable: false });
  const [q1, q2] = [await queue(), await queue()];
  await ch.bindQueue(q1, exchange, 'order.*');
  await ch.bindQueue(q2, exchange, 'order.#');
  ch.publish(exchange, 'order.created', Buffer.from('{}'));
  await Promise.all([consumeN(ch, q1, 1, (m) => ch.ack(m)), consumeN(ch, q2, 1, (m) => ch.ack(m))]);

  const send = withDestination(`${exchange}:order.created`, 'send')[0];
  expect(send?.attributes['messaging.rabbitmq.destination.routing_key']).toBe('order.created');
  for (const q of [q1, q2]) {
    const process = withDestination(`${exchange}:order.created:${q}`, 'process')[0];
    expect(process?.parentSpanContext?.spanId).toBe(spanIds(send).spanId);
    expect(process?.spanContext().traceId).toBe(spanIds(send).traceId);
  }
});

it('links an old message (reason stale) instead of continuing its trace', async () => {
  const q = await queue();
  const tenMinutesAgo = Math.floor(Date.now() / 1000) - 600;
  ch.sendToQueue(q, Buffer.from('old'), { timestamp: tenMinutesAgo });
  await consumeN(ch, q, 1, (m) => ch.ack(m));
  const send = t.spansNamed(`send ${q}`)[0];
  const process = t.spansNamed(`process ${q}`)[0]!;
  expect(process.attributes['brokertrace.decision.reason']).toBe('stale');
  expect(process.attributes['brokertrace.message.queue_time']).toBeGreaterThanOrEqual(600);
  expect(process.attributes['brokertrace.message.queue_time']).toBeLessThan(700); // seconds, not ms
  expect(process.spanContext().traceId).not.toBe(spanIds(send).traceId);
  expect(process.links.map((l) => l.context.spanId)).toEqual([spanIds(send).spanId]);
});

it('sends frozen options and headers unchanged and never writes into them', async () => {
  const q = await queue();
  const headers = Object.freeze({ 'x-app': 'billing', attempt: 1 });
  const options = Object.freeze({ headers, contentType: 'application/json', messageId: 'frozen-1' });
  expect(ch.sendToQueue(q, Buffer.from('{"a":1}'), options)).toBe(true);
  ch.sendToQueue(q, Buffer.from('{"a":2}'), options); // the same object again: a fresh context, not a stale one
  const msgs = await consumeN(ch, q, 2, (m) => ch.ack(m));
  expect(options).toEqual({ headers: { 'x-app': 'billing', attempt: 1 }, contentType: 'application/json', messageId: 'frozen-1' });
  const sends = t.spansNamed(`send ${q}`);
  msgs.forEach((m, i) => {
    expect(m.properties).toMatchObject({ contentType: 'application/json', messageId: 'frozen-1' });
    expect(m.properties.headers).toMatchObject({ 'x-app': 'billing', attempt: 1 });
    expect(m.properties.headers?.traceparent).toContain(spanIds(sends[i]).spanId);
  });
});

it('with the header frame full, still delivers the message intact and records what was dropped', async () => {
  const q = await queue();
  // amqplib encodes headers into a 64 KiB buffer (it throws past it); our budget keeps 1 KiB of it spare.
  // This header leaves less room than a traceparent entry (6 + 11 + 55 bytes) needs.
  const big = 'x'.repeat(65536 - 1024 - (6 + 3) - 60);
  ch.sendToQueue(q, Buffer.from('payload'), { headers: { big } });
  const [msg] = await consumeN(ch, q, 1, (m) => ch.ack(m));
  expect(msg!.content.toString()).toBe('payload');
  expect(msg!.properties.headers?.big).toBe(big);
  expect(msg!.properties.headers?.traceparent).toBeUndefined();
  expect(t.spansNamed(`send ${q}`)[0]!.attributes['brokertrace.context.dropped_fields']).toEqual(['traceparent']);
  expect(t.spansNamed(`process ${q}`)[0]!.attributes['brokertrace.decision.reason']).toBe('no-context');
});

it('gives get a receive span, child of the ambient span and linked to the message', async () => {
  const q = await queue();
  ch.sendToQueue(q, Buffer.from('pull me'));
  // get may race the publish: wait for the broker to have it.
  while ((await ch.checkQueue(q)).messageCount === 0) await new Promise((r) => setImmediate(r));
  const msg = await t.withSpan('job', () => ch.get(q));
  expect(msg && msg.content.toString()).toBe('pull me');
  if (msg) ch.ack(msg);
  await expect(ch.get(q)).resolves.toBe(false);

  const send = t.spansNamed(`send ${q}`)[0];
  const [receive, empty] = t.spansNamed(`receive ${q}`);
  expect(receive?.kind).toBe(SpanKind.CLIENT);
  expect(receive?.parentSpanContext?.spanId).toBe(spanIds(t.spansNamed('job')[0]).spanId);
  expect(receive?.links.map((l) => l.context.spanId)).toEqual([spanIds(send).spanId]);
  expect(empty?.links).toEqual([]);
});

it('moves 1,000 messages: each received once, payload unchanged, each process span under its send, none left open', async () => {
  const q = await queue();
  const n = 1000;
  for (let i = 0; i < n; i++) ch.sendToQueue(q, Buffer.from(`message-${i}`), { messageId: `id-${i}` });
  await ch.prefetch(100);
  const msgs = await consumeN(ch, q, n, (m) => ch.ack(m));

  expect(msgs.map((m) => m.content.toString()).sort()).toEqual(Array.from({ length: n }, (_, i) => `message-${i}`).sort());
  expect(new Set(msgs.map((m) => m.properties.messageId)).size).toBe(n);
  const sendById = new Map(t.spansNamed(`send ${q}`).map((s) => [s.attributes['messaging.message.id'], s]));
  const processes = t.spansNamed(`process ${q}`);
  expect(processes).toHaveLength(n);
  for (const p of processes) {
    expect(p.parentSpanContext?.spanId).toBe(spanIds(sendById.get(p.attributes['messaging.message.id'])).spanId);
  }
  expect(t.openSpans()).toHaveLength(0);
});

it('holds no span open for messages never acked: process spans end with their handlers, a close forgets the rest', async () => {
  const q = await queue();
  for (let i = 0; i < 5; i++) ch.sendToQueue(q, Buffer.from(String(i)));
  const consumer = traceChannel(await connection.createChannel());
  const got = collect<ConsumeMessage>(5);
  await consumer.consume(q, (m) => m && got.push(m)); // never acks
  await got.done;
  expect(t.spansNamed(`process ${q}`)).toHaveLength(5);
  expect(t.openSpans()).toHaveLength(0);
  expect(t.spansNamed(`process ${q}`).map((s) => s.attributes['brokertrace.message.settlement'])).toEqual(Array(5).fill(undefined));
  await consumer.close();
  // The broker put them back (they were never settled), and nothing of ours is left waiting for them.
  expect((await ch.checkQueue(q)).messageCount).toBe(5);
  expect(t.openSpans()).toHaveLength(0);
});

it('marks a handler still running when its connection closes channel_closed, and ends its span when it returns', async () => {
  const q = await queue();
  ch.sendToQueue(q, Buffer.from('x'));
  const own = await openConnection();
  const consumer = traceChannel(await own.createChannel());
  const got = collect<ConsumeMessage>(1);
  let finish!: () => void;
  const handlerDone = new Promise<void>((r) => (finish = r));
  // eslint-disable-next-line @typescript-eslint/no-misused-promises
  await consumer.consume(q, async (m) => {
    if (m) got.push(m);
    await handlerDone;
  });
  await got.done;
  expect(t.openSpans().map((s) => s.name)).toEqual([`process ${q}`]);
  await own.close();
  finish();
  await new Promise((r) => setImmediate(r));
  expect(t.openSpans()).toHaveLength(0);
  expect(t.spansNamed(`process ${q}`)[0]!.attributes['brokertrace.message.settlement']).toBe('channel_closed');
});

it('for a noAck consumer ends the span when the handler promise settles', async () => {
  const q = await queue();
  ch.sendToQueue(q, Buffer.from('x'));
  let finish!: () => void;
  const handlerDone = new Promise<void>((r) => (finish = r));
  const got = collect<ConsumeMessage>(1);
  const handler = async (m: ConsumeMessage | null): Promise<void> => {
    if (m) got.push(m);
    await handlerDone;
  };
  // amqplib ignores what a handler returns; the instrumentation waits for it (noAck), which is the point here.
  // eslint-disable-next-line @typescript-eslint/no-misused-promises
  await ch.consume(q, handler, { noAck: true });
  await got.done;
  expect(t.openSpans().map((s) => s.name)).toEqual([`process ${q}`]);
  finish();
  await handlerDone;
  await new Promise((r) => setImmediate(r));
  expect(t.openSpans()).toHaveLength(0);
  expect(t.spansNamed(`process ${q}`)[0]!.attributes['brokertrace.message.settlement']).toBe('auto_ack');
});

it('records nack and reject outcomes, with and without requeue', async () => {
  const q = await queue();
  for (let i = 0; i < 3; i++) ch.sendToQueue(q, Buffer.from(String(i)));
  await consumeN(ch, q, 3, (m, i) => {
    if (i === 0) ch.nack(m, false, false);
    else if (i === 1) ch.reject(m, false);
    else ch.ack(m);
  });
  expect(t.spansNamed(`process ${q}`).map((s) => s.attributes['brokertrace.message.settlement'])).toEqual(['nack', 'reject', 'ack']);
  expect(t.spansNamed(`process ${q}`).every((s) => s.status.code !== SpanStatusCode.ERROR)).toBe(true);
  // Each settlement is a settle span under its process span.
  const processes = t.spansNamed(`process ${q}`);
  const settles = [t.spansNamed(`nack ${q}`)[0], t.spansNamed(`reject ${q}`)[0], t.spansNamed(`ack ${q}`)[0]];
  settles.forEach((settle, i) => expect(settle?.parentSpanContext?.spanId).toBe(processes[i]!.spanContext().spanId));
});

it('traces channels of a traced connection, and of the callback API', async () => {
  const q = await queue();
  const tracedConnection = traceConnection(await openConnection());
  const producer = await tracedConnection.createChannel();
  producer.sendToQueue(q, Buffer.from('promise api'));

  const { url } = await rabbitmq();
  const cbConnection = await new Promise<callbackApi.Connection>((resolve, reject) =>
    callbackApi.connect(url, (err: Error | null, c: callbackApi.Connection) => (err ? reject(err) : resolve(c))),
  );
  const cbChannel = await new Promise<callbackApi.Channel>((resolve, reject) =>
    cbConnection.createChannel((err: Error | null, c: callbackApi.Channel) => (err ? reject(err) : resolve(c))),
  );
  traceChannel(cbChannel);
  cbChannel.sendToQueue(q, Buffer.from('callback api'));
  const got = collect<string>(2);
  cbChannel.consume(q, (m) => {
    if (!m) return;
    got.push(m.content.toString());
    cbChannel.ack(m);
  });
  expect((await got.done).sort()).toEqual(['callback api', 'promise api']);
  const sends = t.spansNamed(`send ${q}`);
  const processes = t.spansNamed(`process ${q}`);
  expect(sends).toHaveLength(2);
  expect(processes.map((p) => p.parentSpanContext?.spanId).sort()).toEqual(sends.map((s) => s.spanContext().spanId).sort());
  await new Promise<void>((resolve) => cbConnection.close(() => resolve()));
  await tracedConnection.close();
  expect(t.openSpans()).toHaveLength(0);
});
