// B7 + S5 on a real RabbitMQ: a process span covers its handler and nothing more; every ack / nack / reject
// (allUpTo, ackAll, nackAll too) is a settle span with its delivery tag and, for several messages, their count.
import { SpanStatusCode } from '@opentelemetry/api';
import { setupTestTelemetry } from '@brokertrace/testing';
import { traceChannel, untraceChannel } from '@brokertrace/amqplib';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { uniqueName } from '../harness/index';
import { collect, openConnection } from './helpers';

const t = setupTestTelemetry();
let connection: ChannelModel;
let ch: Channel;

const hrMs = (time: [number, number]) => time[0] * 1000 + time[1] / 1e6;
const settleSpans = () => t.spans().filter((s) => s.attributes['messaging.operation.type'] === 'settle');

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

async function fill(n: number): Promise<string> {
  const { queue } = await ch.assertQueue(uniqueName('settle'), { durable: false });
  for (let i = 0; i < n; i++) ch.sendToQueue(queue, Buffer.from(String(i)));
  return queue;
}

/** Consumes n messages without settling them in the handler. */
async function receive(queue: string, n: number): Promise<ConsumeMessage[]> {
  const got = collect<ConsumeMessage>(n);
  await ch.consume(queue, (m) => m && got.push(m));
  return got.done;
}

it('ack(msg, allUpTo) later is one batch settle span counting every delivery it covered; the process spans ended before', async () => {
  const q = await fill(5);
  await ch.prefetch(5);
  const msgs = await receive(q, 5);
  expect(t.openSpans()).toHaveLength(0); // nothing waits for the ack
  const last = msgs[4]!;
  ch.ack(last, true);
  await ch.checkQueue(q); // a round trip: the broker has the ack
  const [ack] = settleSpans();
  expect(ack?.name).toBe(`ack ${q}`);
  expect(ack?.attributes).toMatchObject({
    'messaging.operation.name': 'ack',
    'messaging.batch.message_count': 5,
    'messaging.rabbitmq.message.delivery_tag': last.fields.deliveryTag,
    'brokertrace.message.settlement': 'ack',
  });
  const processes = t.spansNamed(`process ${q}`);
  expect(processes).toHaveLength(5);
  for (const p of processes) {
    // The SDK starts a span at Date.now(), whole milliseconds, and ends it that plus the exact duration: a span
    // started within the millisecond the process spans ended in can show a start up to 1 ms early.
    expect(hrMs(p.endTime)).toBeLessThanOrEqual(hrMs(ack!.startTime) + 1);
    expect(p.attributes['brokertrace.message.settlement']).toBeUndefined();
  }
  // What the broker did: all five are gone.
  await ch.cancel(msgs[0]!.fields.consumerTag);
  expect((await ch.checkQueue(q)).messageCount).toBe(0);
});

it('an ack from a timer the handler started is a child of the ended process span', async () => {
  const q = await fill(1);
  const acked = new Promise<void>((resolve) => {
    void ch.consume(q, (m) => {
      if (m) setTimeout(() => (ch.ack(m), resolve()), 20);
    });
  });
  await acked;
  const [process] = t.spansNamed(`process ${q}`);
  const [ack] = settleSpans();
  expect(ack?.parentSpanContext?.spanId).toBe(process!.spanContext().spanId);
  expect(ack?.attributes['messaging.batch.message_count']).toBeUndefined();
  expect(hrMs(process!.endTime)).toBeLessThan(hrMs(ack!.startTime));
});

it('nackAll and ackAll are batch settle spans; nackAll(false) really drops the messages', async () => {
  const q = await fill(3);
  await ch.prefetch(3);
  await receive(q, 3);
  ch.nackAll(false);
  ch.ackAll(); // nothing left to settle
  await ch.checkQueue(q);
  expect(settleSpans().map((s) => [s.name, s.attributes['messaging.batch.message_count'], s.attributes['brokertrace.message.settlement']])).toEqual([
    [`nack ${q}`, 3, 'nack'],
    ['ack', 0, 'ack'],
  ]);
  expect((await ch.checkQueue(q)).messageCount).toBe(0);
});

it('an ack on a closed channel: the settle span ends with the error, which reaches the caller unchanged', async () => {
  const q = await fill(1);
  const [msg] = await receive(q, 1);
  await ch.close();
  let thrown: unknown;
  try {
    ch.ack(msg!);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(Error);
  const [ack] = settleSpans();
  expect(ack?.status.code).toBe(SpanStatusCode.ERROR);
  expect(ack?.attributes['error.type']).toBe((thrown as Error).name);
  expect(t.openSpans()).toHaveLength(0);
});

it('untraceChannel forgets what it held: no listener of ours left, later settles untraced, the broker unaffected', async () => {
  const plain = await connection.createChannel();
  const closeListeners = plain.listenerCount('close');
  const traced = traceChannel(plain);
  const { queue: q } = await traced.assertQueue(uniqueName('untrace'), { durable: false });
  traced.sendToQueue(q, Buffer.from('x'));
  const got = collect<ConsumeMessage>(1);
  await traced.consume(q, (m) => m && got.push(m));
  const [msg] = await got.done;
  expect(plain.listenerCount('close')).toBe(closeListeners + 1);
  untraceChannel(traced);
  expect(plain.listenerCount('close')).toBe(closeListeners);
  expect(t.openSpans()).toHaveLength(0);
  plain.ack(msg!);
  await plain.checkQueue(q);
  expect(settleSpans()).toHaveLength(0);
  await plain.close();
});
