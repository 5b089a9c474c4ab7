// Shared pieces of the Pub/Sub integration tests: a client on the harness's emulator, a topic with its
// subscriptions per test, and waiting for messages by event (never by sleeping).
import { PubSub } from '@google-cloud/pubsub';
import type { CreateSubscriptionOptions, Message, Subscription, Topic } from '@google-cloud/pubsub';
import { pubsub, uniqueName } from '../harness/index.js';
export { Countdown } from '../harness/countdown.js';

export async function pubsubClient(options: { enableOpenTelemetryTracing?: boolean } = {}): Promise<PubSub> {
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  return new PubSub({ ...(await pubsub()), emulatorMode: true, ...options });
}

/** A new topic and `n` subscriptions on it (created before publishing: Pub/Sub delivers only to existing ones). */
export async function topicWithSubscriptions(
  client: PubSub,
  prefix: string,
  n = 1,
  options: CreateSubscriptionOptions = {},
): Promise<{ topic: Topic; subscriptions: Subscription[] }> {
  const [topic] = await client.createTopic(uniqueName(prefix));
  const subscriptions: Subscription[] = [];
  for (let i = 0; i < n; i++) {
    const [subscription] = await topic.createSubscription(uniqueName(`${prefix}-sub${i}`), options);
    subscriptions.push(subscription);
  }
  return { topic, subscriptions };
}

/** Closes the subscriptions' streams (nothing pending, every process span ended) and deletes them and the topic. */
export async function cleanup(topic: Topic, subscriptions: Subscription[]): Promise<void> {
  for (const s of subscriptions) {
    s.removeAllListeners('message');
    await s.close();
    await s.delete().catch(() => undefined);
  }
  await topic.delete().catch(() => undefined);
}

export type { Message };
