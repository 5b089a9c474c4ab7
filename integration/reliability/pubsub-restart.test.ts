// Pub/Sub emulator (one of this file's own, privateBroker) restarted under a streaming pull, traced and untraced: the subscriber's stream
// breaks, the client reconnects to the restarted emulator (same port), and, since the emulator keeps topics and
// subscriptions in memory, finds them gone; the application makes them again and goes on. It sees the same
// errors either way (as the client's own objects), and every message published after the restart arrives
// intact; in the traced run no span is left open.
import type { Message, PubSub, Subscription, Topic } from '@google-cloud/pubsub';
import { ATTR_ERROR_TYPE } from '@brokertrace/core';
import { traceSubscription, traceTopic } from '@brokertrace/pubsub';
import { privateBroker, uniqueName } from '../harness/index';
import type { PrivateBroker } from '../harness/index';
import { quietDiag, telemetry, waitUntil } from './support';
import { deliveryOf, publishRange, pubsubClient, pubsubDiffs } from './pubsub-support';

const t = telemetry();
const BEFORE = 20;
const AFTER = 30;

/** The errors the client's own publishMessage rejected with (a recorder installed before tracing, so below it). */
const rejections = new Set<unknown>();
function recordRejections(topic: Topic): Topic {
  const original = topic.publishMessage.bind(topic);
  // publishRange calls it with the message alone (the promise form)
  topic.publishMessage = (message: Parameters<Topic['publishMessage']>[0]) =>
    original(message).catch((error: unknown) => {
      rejections.add(error);
      throw error;
    });
  return topic;
}

interface Outcome {
  /** The subscription's 'error' events and the failed publish, by code and message; publish: the client's own error object. */
  errors: Array<{ where: string; code: unknown; message: string; sameObject?: boolean }>;
  before: Set<number>;
  after: Set<number>;
  diffs: string[];
}

async function scenario(broker: PrivateBroker<'pubsub'>, client: PubSub, traced: boolean): Promise<Outcome> {
  const topicName = uniqueName(traced ? 'restart-traced' : 'restart-plain');
  const subscriptionName = `${topicName}-sub`;
  const outcome: Outcome = { errors: [], before: new Set(), after: new Set(), diffs: [] };
  let phase: Set<number> = outcome.before;
  let errored: (() => void) | undefined;

  const create = async (): Promise<{ topic: Topic; subscription: Subscription }> => {
    const [made] = await client.createTopic(topicName);
    await made.createSubscription(subscriptionName, { ackDeadlineSeconds: 60 });
    let topic = recordRejections(client.topic(topicName));
    let subscription = client.subscription(subscriptionName);
    if (traced) {
      topic = traceTopic(topic);
      subscription = traceSubscription(subscription);
    }
    subscription.on('message', (m: Message) => {
      const d = deliveryOf(m);
      outcome.diffs.push(...pubsubDiffs(d, traced, false));
      phase.add(d.index);
      m.ack();
    });
    subscription.on('error', (error: Error & { code?: unknown }) => {
      outcome.errors.push({ where: 'subscription', code: error.code, message: error.message });
      errored?.();
    });
    return { topic, subscription };
  };

  let { topic, subscription } = await create();
  try {
    await publishRange(topic, 0, BEFORE, false);
    await waitUntil(() => outcome.before.size >= BEFORE, 60_000, () => `${outcome.before.size} of ${BEFORE} before the restart`);

    const failed = new Promise<void>((resolve) => (errored = resolve));
    await broker.restart();
    phase = outcome.after;
    // The streaming pull comes back to an emulator without the subscription: the client reports it.
    await failed;
    // Publishing to the lost topic fails too.
    try {
      await publishRange(topic, BEFORE, BEFORE + 1, false);
    } catch (error) {
      const e = error as Error & { code?: unknown };
      outcome.errors.push({ where: 'publish', code: e.code, message: e.message, sameObject: rejections.has(error) });
    }
    // The application's recovery: the topic and subscription again, a new subscriber.
    subscription.removeAllListeners();
    await subscription.close().catch(() => undefined);
    ({ topic, subscription } = await create());
    await publishRange(topic, BEFORE, BEFORE + AFTER, false);
    await waitUntil(() => outcome.after.size >= AFTER, 60_000, () => `${outcome.after.size} of ${AFTER} after the restart`);
    return outcome;
  } finally {
    subscription.removeAllListeners('message');
    await subscription.close().catch(() => undefined);
    await client.subscription(subscriptionName).delete().catch(() => undefined);
    await client.topic(topicName).delete().catch(() => undefined);
  }
}

describe('Pub/Sub emulator restarted under a streaming pull', () => {
  let restoreDiag: () => void;
  let broker: PrivateBroker<'pubsub'> | undefined;
  beforeAll(async () => void (broker = await privateBroker('pubsub')), 120_000);
  afterAll(async () => broker?.dispose(), 60_000);
  beforeEach(() => (restoreDiag = quietDiag()));
  afterEach(() => restoreDiag());

  test('traced and untraced: the same errors, the same recovery, every later message intact, no span left open', async () => {
    const client = await pubsubClient(broker!.settings);
    try {
      const plain = await scenario(broker!, client, false);
      await t.reset();
      const traced = await scenario(broker!, client, true);

      process.stdout.write(`pubsub restart: errors plain ${JSON.stringify(plain.errors)}, traced ${JSON.stringify(traced.errors)}\n`);
      // The same errors (the resource names differ: each run has its own), the publish error as the client's object.
      const seen = (o: Outcome): unknown[] => o.errors.map((e) => ({ ...e, message: e.message.replace(/restart-(plain|traced)-[\w-]+/g, '<name>') }));
      expect(seen(traced)).toEqual(seen(plain));
      expect(plain.errors.map((e) => [e.where, e.code, e.sameObject])).toEqual([
        ['subscription', 5, undefined],
        ['publish', 5, true],
      ]);
      for (const o of [plain, traced]) {
        expect([...o.before].sort((a, b) => a - b)).toEqual(Array.from({ length: BEFORE }, (_, i) => i));
        expect([...o.after].sort((a, b) => a - b)).toEqual(Array.from({ length: AFTER }, (_, i) => BEFORE + i));
        expect(o.diffs.slice(0, 5)).toEqual([]);
      }
      await waitUntil(() => t.openSpans().length === 0, 10_000, () => `open: ${t.openSpans().map((s) => s.name).join(', ')}`);
      // the failed publish's span says why; one process span per delivery
      expect(t.spans().filter((s) => s.attributes[ATTR_ERROR_TYPE] !== undefined).length).toBeGreaterThan(0);
      expect(t.spans().filter((s) => s.name.startsWith('subscribe ')).length).toBeGreaterThanOrEqual(BEFORE + AFTER);
    } finally {
      await client.close();
    }
  }, 300_000);
});
