// RabbitMQ connection dropped by the broker while messages are delivered but not acked: the application
// reconnects as it would uninstrumented and gets them again; every span we started is ended (the unacked
// ones as `channel_closed`), nothing is counted twice. Only this test's own connection is dropped.
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { traceChannel } from '@brokertrace/amqplib';
import { METRIC_MESSAGING_CLIENT_CONSUMED_MESSAGES } from '@brokertrace/core';
import { uniqueName } from '../harness/index';
import { quietDiag, telemetry } from './support';
import { amqpMessage, deliveryOf, dropConnection, namedConnection, sentPropertyDiffs, tempQueue } from './rabbitmq-support';
import type { AmqpDelivery } from './rabbitmq-support';

const t = telemetry();
const N = 200;
const ACK_FIRST = 100;
const HOLD = 20;
const PREFETCH = 50;

interface Outcome {
  deliveries: AmqpDelivery[];
  handlerCalls: number;
  /** Delivered but not acked when the connection was dropped. */
  unackedAtDrop: number;
  reconnects: number;
}

let admin: ChannelModel;
beforeAll(async () => {
  admin = await namedConnection('reliability-admin');
});
afterAll(async () => {
  await admin.close();
});

async function dropScenario(traced: boolean): Promise<Outcome> {
  const setup = await admin.createChannel();
  const queue = await tempQueue(setup, traced ? 'drop-traced' : 'drop-plain');
  const publisher = await admin.createChannel();
  if (traced) traceChannel(publisher);
  for (let i = 0; i < N; i++) {
    const { content, options } = amqpMessage(i);
    publisher.sendToQueue(queue, content, options);
  }
  await publisher.close();

  const name = uniqueName('drop');
  const outcome: Outcome = { deliveries: [], handlerCalls: 0, unackedAtDrop: 0, reconnects: 0 };
  const acked = new Set<number>();
  let holding = true;
  let stopping = false;
  let connection: ChannelModel | undefined;
  let heldEnough!: () => void;
  const held = new Promise<void>((resolve) => (heldEnough = resolve));
  let allAcked!: () => void;
  const done = new Promise<void>((resolve) => (allAcked = resolve));
  let heldCount = 0;

  // The application's consumer, with the recovery an amqplib application needs whether traced or not:
  // reconnect when the connection closes, and consume again.
  const start = async (): Promise<void> => {
    const conn = await namedConnection(name);
    conn.on('error', () => undefined); // a forced close is reported as an error, then a close
    conn.on('close', () => {
      if (stopping) return;
      outcome.reconnects++;
      void reconnect();
    });
    const channel: Channel = await conn.createChannel();
    channel.on('error', () => undefined);
    if (traced) traceChannel(channel);
    await channel.prefetch(PREFETCH);
    await channel.consume(queue, (m: ConsumeMessage | null) => {
      if (m === null) return;
      outcome.handlerCalls++;
      const d = deliveryOf(m);
      outcome.deliveries.push(d);
      if (holding && d.index >= ACK_FIRST) {
        if (++heldCount === HOLD) heldEnough();
        return; // left unacked
      }
      channel.ack(m);
      acked.add(d.index);
      if (acked.size === N) allAcked();
    });
    connection = conn;
  };

  const reconnect = async (): Promise<void> => {
    while (!stopping) {
      try {
        await start();
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  };

  try {
    await start();
    await held;
    holding = false;
    outcome.unackedAtDrop = outcome.deliveries.length - acked.size;
    expect(await dropConnection(name)).toBe(1);
    await done;
    return outcome;
  } finally {
    stopping = true;
    await connection?.close().catch(() => undefined);
    await setup.deleteQueue(queue);
    await setup.close();
  }
}

function consumedTotal(points: Array<{ kind: string; value?: number }> | undefined): number {
  return (points ?? []).filter((p) => p.kind === 'sum').reduce((n, p) => n + (p.value ?? 0), 0);
}

test('connection dropped with unacked messages: both runs recover alike; spans all ended, nothing double-counted', async () => {
  const restoreDiag = quietDiag();
  try {
    const plain = await dropScenario(false);
    await t.reset();
    const traced = await dropScenario(true);

    for (const run of [plain, traced]) {
      expect(run.reconnects).toBe(1);
      expect(run.unackedAtDrop).toBeGreaterThanOrEqual(HOLD);
      expect(new Set(run.deliveries.map((d) => d.index)).size).toBe(N);
      expect(run.handlerCalls).toBe(run.deliveries.length);
      // What was unacked came back, flagged as redelivered, intact.
      expect(run.deliveries.filter((d) => d.redelivered).length).toBe(run.unackedAtDrop);
      expect(run.deliveries.flatMap(sentPropertyDiffs).slice(0, 5)).toEqual([]);
    }
    expect(traced.deliveries.length - traced.unackedAtDrop).toBe(N);
    process.stdout.write(
      `rabbitmq connection drop: plain ${plain.unackedAtDrop} unacked at drop, ${plain.deliveries.length} deliveries; ` +
        `traced ${traced.unackedAtDrop} unacked at drop, ${traced.deliveries.length} deliveries\n`,
    );

    // Every span we started is ended: each process span with its handler (the unacked ones carry no
    // settlement: they were never settled), and each ack is a settle span of its own.
    expect(t.openSpans().map((s) => s.name)).toEqual([]);
    const processSpans = t.spans().filter((s) => s.name.startsWith('process '));
    expect(processSpans).toHaveLength(traced.handlerCalls);
    const bySettlement = (v: string | undefined) => processSpans.filter((s) => s.attributes['brokertrace.message.settlement'] === v).length;
    expect(bySettlement(undefined)).toBe(traced.unackedAtDrop);
    expect(bySettlement('ack')).toBe(N);
    expect(t.spans().filter((s) => s.attributes['messaging.operation.name'] === 'ack')).toHaveLength(N);
    // The redeliveries are counted as such, once each.
    const redelivered = processSpans.filter((s) => s.attributes['brokertrace.message.delivery_count'] === 2);
    expect(redelivered).toHaveLength(traced.unackedAtDrop);
    const metrics = await t.metrics();
    expect(consumedTotal(metrics[METRIC_MESSAGING_CLIENT_CONSUMED_MESSAGES])).toBe(traced.deliveries.length);
  } finally {
    restoreDiag();
  }
}, 180_000);
