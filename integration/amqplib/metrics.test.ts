// What reaches metrics and span names on a real RabbitMQ: low-cardinality destinations only (B3, S8), server
// attributes (S7), AMQP reply codes as error.type (S12).
import { setupTestTelemetry, type TestMetricPoint } from '@brokertrace/testing';
import { traceChannel } from '@brokertrace/amqplib';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { rabbitmq, uniqueName } from '../harness/index';
import { collect, consumeN, openConnection } from './helpers';

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
  ch.on('error', () => undefined); // the reply-code test closes this channel on purpose
});
afterEach(async () => {
  await ch.close().catch(() => undefined);
});

function series(all: Record<string, TestMetricPoint[]>): TestMetricPoint[] {
  return Object.values(all).flat();
}

it('3,000 routing keys give a bounded number of metric series, none naming a routing key', async () => {
  const exchange = uniqueName('events');
  await ch.assertExchange(exchange, 'topic', { durable: false, autoDelete: true });
  const { queue: q } = await ch.assertQueue(uniqueName('billing'), { durable: false });
  await ch.bindQueue(q, exchange, 'customer.#');
  const n = 3000;
  for (let i = 0; i < n; i++) ch.publish(exchange, `customer.${i}.created`, Buffer.from(String(i)));
  await ch.prefetch(200);
  await consumeN(ch, q, n, (m) => ch.ack(m));

  const all = await t.metrics();
  const points = series(all);
  process.stdout.write(`amqplib metrics: ${points.length} series for ${n} routing keys: ${Object.entries(all).map(([k, v]) => `${k}=${v.length}`).join(', ')}\n`);
  // One destination per side: the exchange for the producer, the queue for the consumer.
  expect(points.length).toBeLessThanOrEqual(12);
  for (const p of points) expect(JSON.stringify(p.attributes)).not.toMatch(/customer\.\d+/);
  const sent = all['messaging.client.sent.messages']!;
  expect(sent).toHaveLength(1);
  expect(sent[0]!.attributes).toMatchObject({ 'messaging.destination.template': exchange, 'messaging.operation.name': 'send' });
  expect(sent[0]!.kind === 'sum' && sent[0]!.value).toBe(n);
  const consumed = all['messaging.client.consumed.messages']!;
  expect(consumed.map((p) => p.attributes['messaging.destination.template'])).toEqual([q]);
  const processDuration = all['messaging.process.duration']!;
  expect(processDuration).toHaveLength(1);
  expect(processDuration[0]!.kind === 'histogram' && processDuration[0]!.count).toBe(n);
  // The spans keep the full name (routing key included) for the one message a reader looks at.
  const processSpan = t
    .spans()
    .find((s) => s.attributes['messaging.operation.type'] === 'process' && s.attributes['messaging.destination.name'] === `${exchange}:customer.42.created:${q}`);
  expect(processSpan?.attributes).toMatchObject({ 'messaging.destination.template': q, 'messaging.rabbitmq.destination.routing_key': 'customer.42.created' });
}, 60_000);

it('keeps server-named exclusive queues and direct reply-to out of span names and metrics', async () => {
  // RPC: the client consumes direct reply-to; the server replies to the name RabbitMQ generated for it.
  const { queue: requests } = await ch.assertQueue(uniqueName('rpc'), { durable: false });
  const server = traceChannel(await connection.createChannel());
  await server.consume(requests, (m) => {
    if (!m) return;
    server.sendToQueue(m.properties.replyTo as string, Buffer.from('pong'), { correlationId: m.properties.correlationId as string });
    server.ack(m);
  });
  const replies = collect<ConsumeMessage>(1);
  await ch.consume('amq.rabbitmq.reply-to', (m) => m && replies.push(m), { noAck: true });
  ch.sendToQueue(requests, Buffer.from('ping'), { replyTo: 'amq.rabbitmq.reply-to', correlationId: 'c-1' });
  const [reply] = await replies.done;
  expect(reply!.content.toString()).toBe('pong');

  // And a server-named exclusive queue (the classic RPC callback queue).
  const { queue: callback } = await ch.assertQueue('', { exclusive: true });
  expect(callback).toMatch(/^amq\.gen-/);
  ch.sendToQueue(callback, Buffer.from('cb'));
  await consumeN(ch, callback, 1, (m) => ch.ack(m));
  await new Promise((r) => setImmediate(r));

  const replySend = t.spans().find((s) => s.attributes['messaging.operation.type'] === 'send' && String(s.attributes['messaging.destination.name']).startsWith('amq.rabbitmq.reply-to.'));
  expect(replySend?.name).toBe('send amq.default');
  expect(replySend?.attributes).toMatchObject({ 'messaging.destination.anonymous': true, 'messaging.destination.temporary': true });
  const replyProcess = t.spans().find((s) => s.attributes['messaging.operation.type'] === 'process' && String(s.attributes['messaging.destination.name']).startsWith('amq.rabbitmq.reply-to.'));
  expect(replyProcess?.name).toBe('process amq.default');
  const callbackProcess = t.spans().find((s) => s.attributes['messaging.operation.type'] === 'process' && s.attributes['messaging.destination.name'] === callback);
  expect(callbackProcess?.name).toBe('process amq.default');
  expect(callbackProcess?.attributes).toMatchObject({ 'messaging.destination.anonymous': true, 'messaging.destination.temporary': true });
  for (const s of t.spans()) expect(s.name).not.toMatch(/amq\.gen-|amq\.rabbitmq\.reply-to/);
  for (const p of series(await t.metrics())) expect(JSON.stringify(p.attributes)).not.toMatch(/amq\.gen-|amq\.rabbitmq\.reply-to/);
  await server.close();
});

it('puts server.address and server.port on every span and metric, network.peer.* and the consumer tag on spans', async () => {
  const { url } = await rabbitmq();
  const { hostname, port } = new URL(url);
  const { queue: q } = await ch.assertQueue(uniqueName('server'), { durable: false });
  ch.sendToQueue(q, Buffer.from('x'));
  const got = collect<ConsumeMessage>(1);
  const { consumerTag } = await ch.consume(q, (m) => {
    if (!m) return;
    ch.ack(m);
    got.push(m);
  });
  await got.done;
  await ch.get(q);
  const spans = t.spans();
  expect(spans.map((s) => s.attributes['messaging.operation.name']).sort()).toEqual(['ack', 'process', 'receive', 'send']);
  for (const s of spans) {
    expect(s.attributes).toMatchObject({ 'server.address': hostname, 'server.port': Number(port), 'network.peer.port': Number(port) });
    expect(JSON.stringify(s.attributes)).not.toContain('guest:guest');
  }
  expect(t.spansNamed(`process ${q}`)[0]!.attributes['messaging.client.id']).toBe(consumerTag);
  for (const p of series(await t.metrics())) {
    if (p.attributes['messaging.system'] === 'rabbitmq' && !String(Object.keys(p.attributes)).includes('brokertrace.context.field')) {
      expect(p.attributes).toMatchObject({ 'server.address': hostname, 'server.port': Number(port) });
    }
  }
});

it('gives error.type from the AMQP reply code (404 not-found) and rethrows the error unchanged', async () => {
  const missing = uniqueName('missing');
  const failure = await ch.get(missing).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect((failure as { code?: unknown }).code).toBe(404);
  const [receive] = t.spans().filter((s) => s.attributes['messaging.operation.name'] === 'receive');
  expect(receive?.attributes['error.type']).toBe('not-found');
  const duration = (await t.metrics())['messaging.client.operation.duration'] ?? [];
  expect(duration.map((p) => p.attributes['error.type'])).toContain('not-found');
});
