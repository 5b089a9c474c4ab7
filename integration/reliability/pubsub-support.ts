// What the Pub/Sub reliability tests share: a client on the harness's emulator, a topic and subscription per
// run, test messages (payload bytes 8 B to 2 KiB, 0 to 30 string attributes at Pub/Sub's key and value
// limits, ordering keys), and a comparison that names the first difference.
import { PubSub } from '@google-cloud/pubsub';
import type { Message, Subscription, Topic } from '@google-cloud/pubsub';
import { pubsub, uniqueName } from '../harness/index.js';
import type { PubsubSettings } from '../harness/index.js';
import { indexOf, payloadOf } from './support';

/** Messages of the no-harm run: `BROKERTRACE_RELIABILITY_MESSAGES`, default 10,000 (issue 19). */
export const PUBSUB_CI_MESSAGES = 10_000;


/** A client on the harness's shared emulator, or on `settings` (a private broker's). */
export async function pubsubClient(settings?: PubsubSettings): Promise<PubSub> {
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  return new PubSub({ ...(settings ?? (await pubsub())), emulatorMode: true });
}

/** A topic and one subscription of their own (`ordered`: message ordering on both). */
export async function topicAndSubscription(client: PubSub, label: string, ordered: boolean): Promise<{ topicName: string; subscriptionName: string }> {
  const topicName = uniqueName(label);
  const subscriptionName = uniqueName(`${label}-sub`);
  const [topic] = await client.createTopic(topicName);
  await topic.createSubscription(subscriptionName, { enableMessageOrdering: ordered, ackDeadlineSeconds: 60 });
  return { topicName, subscriptionName };
}

export async function remove(client: PubSub, names: { topicName: string; subscriptionName: string }): Promise<void> {
  await client.subscription(names.subscriptionName).delete().catch(() => undefined);
  await client.topic(names.topicName).delete().catch(() => undefined);
}

export interface PubSubTestMessage {
  data: Buffer;
  attributes: Record<string, string>;
  orderingKey: string;
}

/** Message `i`: payload bytes of every value, 0 to 30 attributes (empty values, Unicode, 256-byte keys, 1024-byte values), 3 ordering keys. */
export function pubsubMessage(i: number): PubSubTestMessage {
  const attributes: Record<string, string> = {};
  for (let k = 0; k < i % 31; k++) {
    const key = k === 0 ? 'Content-Type' : k === 1 ? 'k'.repeat(256) : k === 2 ? 'x-\u00fcn\u00ef-\u4e2d' : k === 3 ? 'TraceParent-of-mine' : `a${k}`;
    const value = k === 0 ? 'application/octet-stream' : k === 4 ? '' : k === 5 ? 'v'.repeat(1024) : k === 6 ? '\u{1f600}\u00e9\u4e2d' : `${i}-${k}`;
    attributes[key] = value;
  }
  return { data: payloadOf(i), attributes, orderingKey: `o${i % 3}` };
}

export interface PubSubDelivery {
  index: number;
  data: Buffer;
  attributes: Record<string, string>;
  orderingKey: string | undefined;
}

export function deliveryOf(m: Message): PubSubDelivery {
  return { index: indexOf(m.data), data: Buffer.from(m.data), attributes: { ...m.attributes }, orderingKey: m.orderingKey || undefined };
}

/** Keys the tracing may add (the context, and Google's own keys when asked for). */
export const CONTEXT_KEYS = new Set(['traceparent', 'tracestate', 'baggage', 'googclient_traceparent', 'googclient_tracestate']);

/** Names the differences between a delivery and what was sent (`traced`: context keys may be added). */
export function pubsubDiffs(d: PubSubDelivery, traced: boolean, ordered: boolean): string[] {
  const sent = pubsubMessage(d.index);
  const out: string[] = [];
  if (Buffer.compare(d.data, sent.data) !== 0) out.push(`#${d.index}: ${d.data.length} data bytes, sent ${sent.data.length}`);
  if (ordered && d.orderingKey !== sent.orderingKey) out.push(`#${d.index}: ordering key ${String(d.orderingKey)}, sent ${sent.orderingKey}`);
  for (const key of Object.keys(d.attributes)) {
    if (!(key in sent.attributes) && !(traced && CONTEXT_KEYS.has(key))) out.push(`#${d.index}: attribute ${key.slice(0, 40)} was not sent`);
  }
  for (const [key, value] of Object.entries(sent.attributes)) {
    if (d.attributes[key] !== value) out.push(`#${d.index}: attribute ${key.slice(0, 40)} = ${JSON.stringify(d.attributes[key]?.slice(0, 40))}, sent ${JSON.stringify(value.slice(0, 40))}`);
  }
  return out;
}

/** Publishes 0..n-1 (publishMessage; `ordered`: with their ordering keys), 500 at a time. */
export async function publishRange(topic: Topic, from: number, to: number, ordered: boolean): Promise<string[]> {
  const ids: string[] = [];
  for (let start = from; start < to; start += 500) {
    const batch = Array.from({ length: Math.min(500, to - start) }, (_, k) => {
      const m = pubsubMessage(start + k);
      return topic.publishMessage({ data: m.data, attributes: m.attributes, ...(ordered ? { orderingKey: m.orderingKey } : {}) });
    });
    ids.push(...(await Promise.all(batch)));
  }
  return ids;
}

/** Resolves when `count()` reaches `n`, or rejects after `timeoutMs` or on the subscription's error. */
export function until(subscription: Subscription, count: () => number, n: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (count() >= n) finish();
      else if (Date.now() - started > timeoutMs) finish(new Error(`${count()} of ${n} messages within ${timeoutMs} ms`));
    }, 20);
    const onError = (error: Error): void => finish(error);
    function finish(error?: Error): void {
      clearInterval(timer);
      subscription.removeListener('error', onError);
      if (error) reject(error);
      else resolve();
    }
    subscription.on('error', onError);
  });
}
