// Pub/Sub (@google-cloud/pubsub + @brokertrace/pubsub): tracing never harms messages, and faults inside the
// tracing never change what the application sees. Against the harness's Pub/Sub emulator.
import type { Message, PubSub, Subscription } from '@google-cloud/pubsub';
import { traceSubscription, traceTopic } from '@brokertrace/pubsub';
import type { PubSubConfig } from '@brokertrace/pubsub';
import { FaultError, describeTracingFaults, firstDeliveries, ledgerProvider, orderViolations, reliabilityMessages, telemetry } from './support';
import type { Fault } from './support';
import { PUBSUB_CI_MESSAGES, deliveryOf, publishRange, pubsubClient, pubsubDiffs, remove, topicAndSubscription, until } from './pubsub-support';
import type { PubSubDelivery } from './pubsub-support';

telemetry();

const N = reliabilityMessages(PUBSUB_CI_MESSAGES);

let client: PubSub;
beforeAll(async () => {
  client = await pubsubClient();
});
afterAll(async () => {
  await client.close();
});

/** Publishes 0..n-1 with ordering keys and receives them all, through a topic and subscription traced with `config` (or plain). */
async function run(n: number, config: PubSubConfig | undefined): Promise<{ deliveries: PubSubDelivery[]; ids: string[] }> {
  const names = await topicAndSubscription(client, config ? 'traced' : 'plain', true);
  let topic = client.topic(names.topicName, { messageOrdering: true });
  let subscription = client.subscription(names.subscriptionName, { flowControl: { maxMessages: 500 } });
  if (config) {
    topic = traceTopic(topic, config);
    subscription = traceSubscription(subscription, config);
  }
  const deliveries: PubSubDelivery[] = [];
  const distinct = new Set<number>(); // Pub/Sub delivers at least once: wait for every message, not a count
  subscription.on('message', (m: Message) => {
    const d = deliveryOf(m);
    deliveries.push(d);
    distinct.add(d.index);
    m.ack();
  });
  try {
    const ids = await publishRange(topic, 0, n, true);
    await until(subscription, () => distinct.size, n, 300_000);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // anything delivered twice would show now
    return { deliveries, ids };
  } finally {
    subscription.removeAllListeners('message');
    await subscription.close();
    await remove(client, names);
  }
}

describe(`no harm to messages: ${N} messages`, () => {
  test('traced and untraced clients deliver every message exactly as sent, in ordering-key order, every message at least once', async () => {
    const { provider, ledger } = ledgerProvider();
    const plain = await run(N, undefined);
    const traced = await run(N, { tracerProvider: provider });

    const all = Array.from({ length: N }, (_, i) => i);
    for (const { deliveries, ids } of [plain, traced]) {
      // Pub/Sub delivers at least once (the emulator redelivered some hundreds of 10,000 in an untraced run):
      // every message at least once, and the first deliveries in ordering-key order.
      const first = firstDeliveries(deliveries);
      expect(first.map((d) => d.index).sort((a, b) => a - b)).toEqual(all);
      expect(new Set(ids).size).toBe(N);
      expect(orderViolations(first, (d) => d.orderingKey).slice(0, 5)).toEqual([]);
    }
    expect(plain.deliveries.flatMap((d) => pubsubDiffs(d, false, true)).slice(0, 10)).toEqual([]);
    expect(traced.deliveries.flatMap((d) => pubsubDiffs(d, true, true)).slice(0, 10)).toEqual([]);
    expect(traced.deliveries.filter((d) => d.attributes.traceparent === undefined).map((d) => d.index).slice(0, 5)).toEqual([]);
    // one subscribe span per delivery, redeliveries included
    expect(ledger.endedNamed('subscribe ')).toBe(traced.deliveries.length);
    process.stdout.write(`pubsub no-harm: ${N} messages; deliveries plain ${plain.deliveries.length}, traced ${traced.deliveries.length} (redeliveries by the emulator)\n`);
    expect(ledger.endedNamed('create ')).toBe(N);
    expect(ledger.openNames()).toEqual([]);
    await provider.shutdown();
  }, 900_000);
});

const FAULT_MESSAGES = 30;
const FAILING_INDEX = 7;

interface Observed {
  calls: number[];
}

/** A recorder between the client and whatever listener reaches it (installed before tracing, so it sits below). */
function observeListeners(subscription: Subscription): Observed {
  const observed: Observed = { calls: [] };
  const original = subscription.on.bind(subscription);
  subscription.on = ((event: string, listener: (...args: unknown[]) => unknown) => {
    if (event !== 'message') return original(event as 'message', listener as never);
    return original('message', (m: Message) => {
      observed.calls.push(deliveryOf(m).index);
      return listener(m);
    });
  }) as Subscription['on'];
  return observed;
}

async function faultScenario(fault: Fault): Promise<void> {
  const config: PubSubConfig = { tracerProvider: fault.provider, publishHook: fault.hook, sendHook: fault.hook, processHook: fault.hook };
  const names = await topicAndSubscription(client, 'fault', false);
  const topic = traceTopic(client.topic(names.topicName), config);
  const subscription = client.subscription(names.subscriptionName);
  const observed = observeListeners(subscription);
  traceSubscription(subscription, config);
  try {
    const handled: number[] = [];
    const thrown: unknown[] = [];
    const caught: unknown[] = [];
    const acked = new Set<number>();
    const work = async (d: PubSubDelivery): Promise<void> => {
      await Promise.resolve();
      if (d.index === FAILING_INDEX && thrown.length === 0) {
        const error = new FaultError(`listener of #${d.index}`);
        thrown.push(error);
        throw error;
      }
      expect(pubsubDiffs(d, true, false)).toEqual([]);
    };
    // The usual listener: its own failure is caught and the message nacked for redelivery. (A rejection left to a
    // layer below, e.g. EventEmitter's captureRejections, is covered by packages/pubsub/test/subscribe.test.ts.)
    const listener = async (m: Message): Promise<void> => {
      const d = deliveryOf(m);
      handled.push(d.index);
      try {
        await work(d);
      } catch (error) {
        caught.push(error);
        m.nack();
        return;
      }
      m.ack();
      acked.add(d.index);
    };
    // eslint-disable-next-line @typescript-eslint/no-misused-promises -- an async listener, as applications write them
    subscription.on('message', listener);
    const ids = await publishRange(topic, 0, FAULT_MESSAGES, false);
    expect(new Set(ids).size).toBe(FAULT_MESSAGES);
    await until(subscription, () => acked.size, FAULT_MESSAGES, 60_000);
    // Every delivery reached the listener once; its error came out as the same object.
    expect(observed.calls.slice().sort((a, b) => a - b)).toEqual(handled.slice().sort((a, b) => a - b));
    expect(handled.filter((i) => i === FAILING_INDEX)).toHaveLength(2);
    expect(caught).toHaveLength(1);
    expect(caught[0]).toBe(thrown[0]);
  } finally {
    subscription.removeAllListeners('message');
    await subscription.close();
    await remove(client, names);
  }
}

describeTracingFaults('faults inside the tracing', 'publishes and deliveries are unchanged, the listener error passes through', faultScenario);
