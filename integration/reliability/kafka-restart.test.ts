// Kafka broker restarted mid-stream: the application recovers as it would uninstrumented (every message
// arrives, intact), every span we started is ended, and nothing is counted twice.
// This file restarts the run's shared Kafka broker: run it alone when other Kafka tests could run in parallel
// (integration/README.md, "Fault tests").
import type { Consumer, Kafka } from 'kafkajs';
import { traceConsumer, traceProducer } from '@brokertrace/kafkajs';
import { METRIC_MESSAGING_CLIENT_CONSUMED_MESSAGES, METRIC_MESSAGING_CLIENT_SENT_MESSAGES, ATTR_ERROR_TYPE } from '@brokertrace/core';
import { restartKafka } from '../harness/index';
import { quietDiag, telemetry } from './support';
import { CONTEXT_KEYS, createTopic, deliveryOf, kafkaClient, kafkaDiffs, kafkaMessage } from './kafka-support';
import type { KafkaDelivery } from './kafka-support';

const t = telemetry();
const N = 3000;
const CHUNK = 50;
const RESTART_AFTER = 500;

let client: Kafka;
beforeAll(async () => {
  client = await kafkaClient('reliability-restart');
});

interface Outcome {
  deliveries: KafkaDelivery[];
  handlerCalls: number;
  sendCalls: number;
  failedSendCalls: number;
  /** Messages of the send calls that succeeded. */
  messagesSent: number;
  /** Consumers the application had to start again after kafkajs gave up. */
  consumerRestarts: number;
  /** Chunks whose sending began while the broker was being restarted: the restart was really mid-stream. */
  sendsDuringRestart: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Produces 0..N-1 in chunks, retrying a failed chunk the way an application would, while the broker is
 * restarted after RESTART_AFTER messages; consumes until every index has arrived at least once.
 */
async function restartScenario(traced: boolean): Promise<Outcome> {
  const topic = await createTopic(client, traced ? 'restart-traced' : 'restart-plain', 2);
  const producer = client.producer({ retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 } });
  if (traced) traceProducer(producer);
  const outcome: Outcome = { deliveries: [], handlerCalls: 0, sendCalls: 0, failedSendCalls: 0, messagesSent: 0, consumerRestarts: 0, sendsDuringRestart: 0 };
  const seen = new Set<number>();
  let allSeen!: () => void;
  const everyMessage = new Promise<void>((resolve) => (allSeen = resolve));

  // The application's consumer, with the recovery a kafkajs application needs whether traced or not: kafkajs
  // gives up on errors it deems non-retriable (e.g. "Failed to find group coordinator" while the broker is
  // away), so the application starts a new consumer then.
  let consumer: Consumer | undefined;
  let stopping = false;
  const startConsumer = async (): Promise<void> => {
    for (;;) {
      const c = client.consumer({ groupId: `${topic}-group`, maxWaitTimeInMs: 100, sessionTimeout: 6000, heartbeatInterval: 500, retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 2000 } });
      if (traced) traceConsumer(c);
      c.on(c.events.CRASH, (event) => {
        if (event.payload.restart || stopping) return;
        outcome.consumerRestarts++;
        void c.disconnect().catch(() => undefined).then(startConsumer);
      });
      try {
        await c.connect();
        await c.subscribe({ topics: [topic], fromBeginning: true });
        await c.run({
          eachMessage: async (p) => {
            outcome.handlerCalls++;
            const d = deliveryOf(p);
            outcome.deliveries.push(d);
            seen.add(d.index);
            if (seen.size === N) allSeen();
            await Promise.resolve();
          },
        });
        consumer = c;
        return;
      } catch {
        await c.disconnect().catch(() => undefined);
        if (stopping) return;
        await sleep(500);
      }
    }
  };
  await startConsumer();
  await producer.connect();
  let restart: Promise<void> | undefined;
  let restarted = false;
  try {
    for (let start = 0; start < N; start += CHUNK) {
      if (start === RESTART_AFTER) restart = restartKafka({ downMs: 2000 }).finally(() => (restarted = true));
      // Pace the stream while the broker is away, so that sends and consumes really meet the restart.
      if (restart && !restarted) await sleep(150);
      const messages = Array.from({ length: CHUNK }, (_, j) => kafkaMessage(start + j));
      if (restart && !restarted) outcome.sendsDuringRestart++;
      for (;;) {
        outcome.sendCalls++;
        try {
          await producer.send({ topic, messages });
          outcome.messagesSent += messages.length;
          break;
        } catch {
          outcome.failedSendCalls++;
          await sleep(250);
        }
      }
    }
    await restart;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`only ${seen.size} of ${N} messages arrived`)), 60_000);
    });
    await Promise.race([everyMessage, timeout]).finally(() => clearTimeout(timer));
    await sleep(500); // let late redeliveries show up before counting
    return outcome;
  } finally {
    await restart?.catch(() => undefined);
    stopping = true;
    await consumer?.disconnect();
    await producer.disconnect();
  }
}

function sum(points: Array<{ kind: string; attributes: Record<string, unknown>; value?: number }> | undefined, filter: (a: Record<string, unknown>) => boolean): number {
  return (points ?? []).filter((p) => p.kind === 'sum' && filter(p.attributes)).reduce((n, p) => n + (p.value ?? 0), 0);
}

test('uninstrumented and instrumented, each with a broker restart mid-stream: both recover; spans all ended, nothing double-counted', async () => {
  const restoreDiag = quietDiag(); // kafkajs errors during the restart are logged through diag by our wrappers
  try {
    const plain = await restartScenario(false);
    await t.reset();
    const traced = await restartScenario(true);

    for (const run of [plain, traced]) {
      // Every message arrived at least once (Kafka is at-least-once across a restart), each one intact.
      expect(new Set(run.deliveries.map((d) => d.index)).size).toBe(N);
      expect(run.deliveries.flatMap(kafkaDiffs).slice(0, 5)).toEqual([]);
      expect(run.handlerCalls).toBe(run.deliveries.length);
      expect(run.sendsDuringRestart).toBeGreaterThan(0);
    }
    process.stdout.write(
      `kafka restart: plain ${plain.failedSendCalls} failed send calls, ${plain.deliveries.length - N} redeliveries, ${plain.consumerRestarts} consumer restarts, ${plain.sendsDuringRestart} chunks sent while restarting; ` +
        `traced ${traced.failedSendCalls} failed send calls, ${traced.deliveries.length - N} redeliveries, ${traced.consumerRestarts} consumer restarts, ${traced.sendsDuringRestart} chunks sent while restarting\n`,
    );

    // Every span we started is ended.
    expect(t.openSpans().map((s) => s.name)).toEqual([]);
    // One process span per delivery, one send span per send call (failed ones with error.type): not one more.
    const spans = t.spans();
    const processSpans = spans.filter((s) => s.name.startsWith('process '));
    const sends = spans.filter((s) => s.name.startsWith('send '));
    expect(processSpans).toHaveLength(traced.handlerCalls);
    expect(sends).toHaveLength(traced.sendCalls);
    expect(sends.filter((s) => s.attributes[ATTR_ERROR_TYPE] !== undefined)).toHaveLength(traced.failedSendCalls);
    // Metrics agree: consumed = deliveries, sent (successful) = messages the broker accepted.
    const metrics = await t.metrics();
    expect(sum(metrics[METRIC_MESSAGING_CLIENT_CONSUMED_MESSAGES], () => true)).toBe(traced.deliveries.length);
    expect(sum(metrics[METRIC_MESSAGING_CLIENT_SENT_MESSAGES], (a) => a[ATTR_ERROR_TYPE] === undefined)).toBe(traced.messagesSent);
    // Every delivered message carried our context.
    expect(traced.deliveries.every((d) => Object.keys(d.headers).some((k) => CONTEXT_KEYS.has(k)))).toBe(true);
  } finally {
    restoreDiag();
  }
}, 300_000);
