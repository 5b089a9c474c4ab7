// Kafka broker restarted mid-stream, for both clients (kafkajs and Confluent's KafkaJS API): the application
// recovers as it would uninstrumented (every message arrives, intact), every span we started is ended, and
// nothing is counted twice. This file restarts the run's shared Kafka broker: run it alone when other Kafka tests
// could run in parallel (integration/README.md, "Fault tests").
import type { Consumer, Kafka, Message, Producer } from 'kafkajs';
import { traceConsumer, traceProducer } from '@brokertrace/kafkajs';
import { METRIC_MESSAGING_CLIENT_CONSUMED_MESSAGES, METRIC_MESSAGING_CLIENT_SENT_MESSAGES, ATTR_ERROR_TYPE } from '@brokertrace/core';
import { restartKafka } from '../harness/index';
import { CLIENTS, confluentClient } from '../kafkajs/helpers';
import type { ClientLibrary } from '../kafkajs/helpers';
import { quietDiag, telemetry } from './support';
import { CONTEXT_KEYS, createTopic, deliveryOf, kafkaClient, kafkaDiffs, kafkaMessage } from './kafka-support';
import type { KafkaDelivery } from './kafka-support';

const t = telemetry();
const N = 3000;
const CHUNK = 50;
const RESTART_AFTER = 500;

/** kafkajs client of the kafkajs application, and the admin client that creates topics for both. */
let client: Kafka;
beforeAll(async () => {
  client = await kafkaClient('reliability-restart');
});

interface Outcome {
  deliveries: KafkaDelivery[];
  handlerCalls: number;
  sendCalls: number;
  failedSendCalls: number;
  /** What each failed send call rejected with (`name` and `code`), for the report. */
  sendErrors: string[];
  /** Messages of the send calls that succeeded. */
  messagesSent: number;
  /** Consumers the application had to start again after the client gave up. */
  consumerRestarts: number;
  /** Chunks whose sending began while the broker was being restarted: the restart was really mid-stream. */
  sendsDuringRestart: number;
  /** How long the restart took (stop, 2 s down, start until the broker answers), and the longest send call. */
  restartMs: number;
  longestSendMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One application of a client library, the same traced or not: the producer it sends with, the consumer it
 * keeps running through the restart (`onMessage` for every delivery; `stop` disconnects the one it has at the
 * end), and what this client does under the restart beyond the assertions every client shares.
 */
interface RestartApp {
  name: string;
  producer(): Promise<Producer>;
  consume(topic: string, traced: boolean, outcome: Outcome, onMessage: (d: KafkaDelivery) => void): Promise<{ stop(): Promise<void> }>;
  expectClientBehaviour(plain: Outcome, traced: Outcome, failedSendErrorTypes: unknown[]): void;
}

const CONFLUENT = CLIENTS.find((c) => c.name === 'confluent')!;

/**
 * A Confluent application: librdkafka reconnects by itself, and Confluent's consumer has no crash event (`on` is
 * not implemented; its workers only log errors), so the application keeps its one consumer running (were it to
 * stop delivering, the wait for every message would fail the test). `messageTimeoutMs` is librdkafka's
 * `message.timeout.ms`: how long a message may wait for delivery, retries included, before its send fails.
 */
function confluentApp(name: string, messageTimeoutMs: number | undefined, expectClientBehaviour: RestartApp['expectClientBehaviour']): RestartApp {
  return {
    name,
    // The CLIENTS factory's producer with this timeout (librdkafka's `retries` left at its default, unlimited).
    producer: async () =>
      (await confluentClient('reliability-restart-confluent')).producer({
        'message.max.bytes': 1048588,
        ...(messageTimeoutMs === undefined ? {} : { 'message.timeout.ms': messageTimeoutMs }),
      }) as Producer,
    async consume(topic, traced, _outcome, onMessage) {
      const c = await CONFLUENT.consumer('reliability-restart-confluent', [topic], { groupId: `${topic}-group` });
      if (traced) traceConsumer(c);
      await c.run({ eachMessage: (p) => Promise.resolve(onMessage(deliveryOf(p))) });
      return { stop: () => c.disconnect() };
    },
    expectClientBehaviour,
  };
}

const APPS: Record<ClientLibrary['name'], RestartApp[]> = {
  kafkajs: [
    {
      name: 'retries failed sends, starts a new consumer when kafkajs gives up',
      producer: () => Promise.resolve(client.producer({ retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 } })),
      // The recovery a kafkajs application needs whether traced or not: kafkajs gives up on errors it deems
      // non-retriable (e.g. "Failed to find group coordinator" while the broker is away) and its consumer
      // crashes, so the application starts a new consumer then.
      async consume(topic, traced, outcome, onMessage) {
        let consumer: Consumer | undefined;
        let stopping = false;
        const start = async (): Promise<void> => {
          for (;;) {
            const c = client.consumer({ groupId: `${topic}-group`, maxWaitTimeInMs: 100, sessionTimeout: 6000, heartbeatInterval: 500, retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 2000 } });
            if (traced) traceConsumer(c);
            c.on(c.events.CRASH, (event) => {
              if (event.payload.restart || stopping) return;
              outcome.consumerRestarts++;
              void c.disconnect().catch(() => undefined).then(start);
            });
            try {
              await c.connect();
              await c.subscribe({ topics: [topic], fromBeginning: true });
              await c.run({ eachMessage: (p) => Promise.resolve(onMessage(deliveryOf(p))) });
              consumer = c;
              return;
            } catch {
              await c.disconnect().catch(() => undefined);
              if (stopping) return;
              await sleep(500);
            }
          }
        };
        await start();
        return {
          async stop() {
            stopping = true;
            await consumer?.disconnect();
          },
        };
      },
      // Whether a send fails or waits out the restart depends on kafkajs's reconnect timing: nothing more to assert.
      expectClientBehaviour: () => undefined,
    },
  ],
  confluent: [
    // librdkafka's defaults (message.timeout.ms 300 s, unlimited retries): it holds the messages of a send until
    // the broker is back and delivers them then. No send call fails: the send that meets the restart is only
    // delayed (measured: the longest send about as long as the restart, 5 to 18 s), and the consumer goes on.
    confluentApp("librdkafka's defaults: sends wait out the restart, none fails", undefined, (plain, traced, failedSendErrorTypes) => {
      for (const run of [plain, traced]) {
        expect(run.failedSendCalls).toBe(0);
        expect(run.longestSendMs).toBeGreaterThan(1000);
      }
      expect(failedSendErrorTypes).toEqual([]);
    }),
    // An application that wants to know within seconds bounds the wait: the messages of a send during the
    // restart time out (ERR__MSG_TIMED_OUT, librdkafka's own error), and the application sends them again.
    confluentApp('a 3 s message timeout: sends during the restart fail with ERR__MSG_TIMED_OUT and are sent again', 3000, (plain, traced, failedSendErrorTypes) => {
      for (const run of [plain, traced]) {
        expect(run.failedSendCalls).toBeGreaterThan(0);
        expect([...new Set(run.sendErrors)]).toEqual(['KafkaJSError(ERR__MSG_TIMED_OUT)']);
      }
      expect([...new Set(failedSendErrorTypes)]).toEqual(['ERR__MSG_TIMED_OUT']);
    }),
  ],
};

function errorName(error: unknown): string {
  const e = error as { name?: unknown; code?: unknown; type?: unknown } | null;
  return `${String(e?.name)}(${String(e?.type ?? e?.code)})`;
}

/**
 * Produces 0..N-1 in chunks, retrying a failed chunk the way an application would, while the broker is
 * restarted after RESTART_AFTER messages; consumes until every index has arrived at least once.
 */
async function restartScenario(lib: ClientLibrary, app: RestartApp, traced: boolean): Promise<Outcome> {
  const topic = await createTopic(client, traced ? `restart-${lib.name}-traced` : `restart-${lib.name}-plain`, 2);
  const producer = await app.producer();
  if (traced) traceProducer(producer);
  const outcome: Outcome = { deliveries: [], handlerCalls: 0, sendCalls: 0, failedSendCalls: 0, sendErrors: [], messagesSent: 0, consumerRestarts: 0, sendsDuringRestart: 0, restartMs: 0, longestSendMs: 0 };
  const seen = new Set<number>();
  let allSeen!: () => void;
  const everyMessage = new Promise<void>((resolve) => (allSeen = resolve));
  const consumer = await app.consume(topic, traced, outcome, (d) => {
    outcome.handlerCalls++;
    outcome.deliveries.push(d);
    seen.add(d.index);
    if (seen.size === N) allSeen();
  });
  await producer.connect();
  let restart: Promise<void> | undefined;
  let restarted = false;
  try {
    for (let start = 0; start < N; start += CHUNK) {
      if (start === RESTART_AFTER) {
        const began = Date.now();
        restart = restartKafka({ downMs: 2000 }).finally(() => {
          restarted = true;
          outcome.restartMs = Date.now() - began;
        });
      }
      // Pace the stream while the broker is away, so that sends and consumes really meet the restart.
      if (restart && !restarted) await sleep(150);
      if (restart && !restarted) outcome.sendsDuringRestart++;
      for (;;) {
        // Built anew for each attempt: Confluent's send writes into the messages it is given (headers become
        // librdkafka's list), so a retry with the same objects would send something else.
        const messages: Message[] = Array.from({ length: CHUNK }, (_, j) => kafkaMessage(start + j));
        outcome.sendCalls++;
        const sendStarted = Date.now();
        try {
          await producer.send({ topic, messages });
          outcome.longestSendMs = Math.max(outcome.longestSendMs, Date.now() - sendStarted);
          outcome.messagesSent += messages.length;
          break;
        } catch (error) {
          outcome.longestSendMs = Math.max(outcome.longestSendMs, Date.now() - sendStarted);
          outcome.failedSendCalls++;
          outcome.sendErrors.push(errorName(error));
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
    await consumer.stop();
    await producer.disconnect();
  }
}

function sum(points: Array<{ kind: string; attributes: Record<string, unknown>; value?: number }> | undefined, filter: (a: Record<string, unknown>) => boolean): number {
  return (points ?? []).filter((p) => p.kind === 'sum' && filter(p.attributes)).reduce((n, p) => n + (p.value ?? 0), 0);
}

describe.each(CLIENTS)('$name', (lib: ClientLibrary) => {
  test.each(APPS[lib.name])('$name: uninstrumented and instrumented, each with a broker restart mid-stream: both recover; spans all ended, nothing double-counted', async (app) => {
    const restoreDiag = quietDiag(); // client errors during the restart are logged through diag by our wrappers
    try {
      const plain = await restartScenario(lib, app, false);
      await t.reset();
      const traced = await restartScenario(lib, app, true);

      const report = (o: Outcome): string =>
        `${o.failedSendCalls} failed send calls [${[...new Set(o.sendErrors)].join(', ')}], ${o.deliveries.length - N} redeliveries, ${o.consumerRestarts} consumer restarts, ${o.sendsDuringRestart} chunks sent while restarting, restart ${o.restartMs} ms, longest send ${o.longestSendMs} ms`;
      process.stdout.write(`kafka restart (${lib.name}, ${app.name}): plain ${report(plain)}; traced ${report(traced)}\n`);
      for (const run of [plain, traced]) {
        // Every message arrived at least once (Kafka is at-least-once across a restart), each one intact.
        expect(new Set(run.deliveries.map((d) => d.index)).size).toBe(N);
        expect(run.deliveries.flatMap(kafkaDiffs).slice(0, 5)).toEqual([]);
        expect(run.handlerCalls).toBe(run.deliveries.length);
        expect(run.sendsDuringRestart).toBeGreaterThan(0);
      }

      // Every span we started is ended.
      expect(t.openSpans().map((s) => s.name)).toEqual([]);
      // One process span per delivery, one send span per send call (failed ones with error.type): not one more.
      const spans = t.spans();
      const processSpans = spans.filter((s) => s.name.startsWith('process '));
      const sends = spans.filter((s) => s.name.startsWith('send '));
      expect(processSpans).toHaveLength(traced.handlerCalls);
      expect(sends).toHaveLength(traced.sendCalls);
      const failedSendErrorTypes = sends.map((s) => s.attributes[ATTR_ERROR_TYPE]).filter((type) => type !== undefined);
      expect(failedSendErrorTypes).toHaveLength(traced.failedSendCalls);
      app.expectClientBehaviour(plain, traced, failedSendErrorTypes);
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
});
