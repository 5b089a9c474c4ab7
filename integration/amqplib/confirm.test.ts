// Publisher confirms: the send span ends on the broker's confirm, and every confirm is accounted for.
import { SpanStatusCode } from '@opentelemetry/api';
import { setupTestTelemetry } from '@brokertrace/testing';
import { traceChannel } from '@brokertrace/amqplib';
import type { ChannelModel } from 'amqplib';
import { uniqueName } from '../harness/index';
import { openConnection } from './helpers';

const t = setupTestTelemetry();
let connection: ChannelModel;

beforeAll(async () => {
  connection = await openConnection();
});
afterAll(async () => {
  await connection.close();
});
beforeEach(() => t.reset());

it('sends 10,000 messages through a confirm channel with every confirm accounted for', async () => {
  const ch = traceChannel(await connection.createConfirmChannel());
  const { queue: q } = await ch.assertQueue(uniqueName('confirm'), { durable: false });
  const n = 10_000;
  const confirmed: unknown[] = [];
  for (let i = 0; i < n; i++) {
    ch.sendToQueue(q, Buffer.from(String(i)), {}, (err) => confirmed.push(err));
    if (i % 1000 === 999) await ch.waitForConfirms(); // let the socket drain now and then
  }
  await ch.waitForConfirms();

  expect(confirmed).toHaveLength(n);
  expect(confirmed.every((err) => err === null)).toBe(true);
  const sends = t.spansNamed(`send ${q}`);
  expect(sends).toHaveLength(n);
  expect(sends.every((s) => s.status.code !== SpanStatusCode.ERROR)).toBe(true);
  expect(t.openSpans()).toHaveLength(0);
  expect((await ch.checkQueue(q)).messageCount).toBe(n);
  await ch.deleteQueue(q);
  await ch.close();
});

it('marks the send span failed when the broker cannot confirm (channel closed before the confirm)', async () => {
  const ch = traceChannel(await connection.createConfirmChannel());
  const missing = uniqueName('no-such-exchange');
  const errors: unknown[] = [];
  ch.on('error', () => undefined); // the broker closes the channel: publishing to a missing exchange
  ch.publish(missing, 'rk', Buffer.from('x'), {}, (err) => errors.push(err));
  await new Promise((resolve) => ch.once('close', resolve));
  expect(errors).toHaveLength(1);
  expect(errors[0]).toBeInstanceOf(Error);
  const [send] = t.spansNamed(`send ${missing}`); // named by its exchange: the routing key stays out of span names
  expect(send?.status.code).toBe(SpanStatusCode.ERROR);
  expect(t.openSpans()).toHaveLength(0);
});
