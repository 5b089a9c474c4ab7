// Pub/Sub soak: the heap after forced GC at ten points of a long run through a traced topic and subscription
// (publishMessage, a streaming pull, ack), with the per-message state bounded by configuration. CI runs 10,000
// messages; the full soak of issue 19 is
//   BROKERTRACE_SOAK_MESSAGES=100000 scripts/pnpm exec jest integration/reliability/pubsub-soak --selectProjects integration
import type { Message } from '@google-cloud/pubsub';
import { traceSubscription, traceTopic } from '@brokertrace/pubsub';
import type { PubSubConfig } from '@brokertrace/pubsub';
import { expectBoundedHeap, ledgerProvider, soak, soakMessages, telemetry, waitUntil } from './support';
import { deliveryOf, publishRange, pubsubClient, remove, topicAndSubscription } from './pubsub-support';

telemetry();

const N = soakMessages(10_000);
/** Published, then received, before the next chunk: a bounded backlog (10,000 at once left 500 undelivered for minutes). */
const CHUNK = Math.min(1000, Math.ceil(N / 10));
const BOUND = 300;

test(`soak: ${N} messages through a traced topic and subscription, heap after GC bounded`, async () => {
  const { provider, ledger } = ledgerProvider();
  const config: PubSubConfig = { tracerProvider: provider, policy: { duplicateWindow: { maxEntries: BOUND } } };
  const client = await pubsubClient();
  const names = await topicAndSubscription(client, 'soak', false);
  const topic = traceTopic(client.topic(names.topicName), config);
  const subscription = traceSubscription(client.subscription(names.subscriptionName, { flowControl: { maxMessages: 500 } }), config);
  const seen = new Set<number>(); // at least once: redeliveries count once
  let deliveries = 0;
  subscription.on('message', (m: Message) => {
    deliveries++;
    seen.add(deliveryOf(m).index);
    m.ack();
  });
  let report;
  try {
    report = await soak('pubsub soak (traced)', N, CHUNK, async (from, to) => {
      await publishRange(topic, from, to, false);
      await waitUntil(() => seen.size >= to, 120_000, () => `${seen.size} of ${to} received`);
    });
  } finally {
    subscription.removeAllListeners('message');
    await subscription.close();
    await remove(client, names);
    await client.close();
  }
  await provider.shutdown();

  expect(seen.size).toBe(N);
  expect(ledger.endedNamed('subscribe ')).toBe(deliveries);
  expect(ledger.openNames()).toEqual([]);
  expectBoundedHeap(report);
}, 3_600_000);
