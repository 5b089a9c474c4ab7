// Google Cloud Pub/Sub through @google-cloud/pubsub 6 (against Google's emulator, or the user's): publishMessage
// one at a time, bursts of 100 publishes that the client batches itself, and a subscription's `message`
// listener over the streaming pull, acking each message.
import type { Message, PubSub, Topic } from '@google-cloud/pubsub';
import { endWhenSent, Floor } from '../lib/floor.js';
import { ConsumeCountdown, measureProducer, type Meter } from '../lib/meter.js';
import { creationTraceparent, payload } from '../lib/messages.js';
import { load, type BrokerAdmin, type Workload } from '../lib/workload.js';
import { instrumentationOf, type BrokerSettings, type ChildTask } from '../lib/types.js';

type PubSubModule = typeof import('@google-cloud/pubsub');
type BrokertracePubSub = typeof import('@brokertrace/pubsub');

/** The client, on the emulator; `ownTracing`: the client's own OpenTelemetry tracing (the peer variant). */
function client(settings: BrokerSettings, ownTracing = false): PubSub {
  // google-auth-library would otherwise probe for a GCE metadata server
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const { PubSub } = load('@google-cloud/pubsub') as PubSubModule;
  return new PubSub({
    apiEndpoint: settings.apiEndpoint as string,
    projectId: settings.projectId as string,
    emulatorMode: true,
    ...(ownTracing ? { enableOpenTelemetryTracing: true } : {}),
  });
}

const subscriptionOf = (topic: string): string => `${topic}-sub`;

/** The application's own attribute on every message. */
const attributes = (): Record<string, string> => ({ app: 'bench' });

const floorOf = (task: ChildTask, destination: string): Floor => new Floor('gcp_pubsub', destination, 'send');

async function produce(task: ChildTask, meter: Meter, pubsub: PubSub, burst: number): Promise<void> {
  const instrumentation = instrumentationOf(task.variant);
  let topic: Topic = pubsub.topic(task.destination);
  if (instrumentation === 'brokertrace') topic = (load('@brokertrace/pubsub') as BrokertracePubSub).traceTopic(topic);
  const floor = instrumentation === 'floor' ? floorOf(task, task.destination) : undefined;
  const publish = (index: number): Promise<string> => {
    if (!floor) return topic.publishMessage({ data: payload(index), attributes: attributes() });
    const { span, headers } = floor.startSend(attributes());
    return endWhenSent([span], topic.publishMessage({ data: payload(index), attributes: headers }));
  };
  try {
    await measureProducer(task.size, meter, burst, async (first, count) => {
      if (count === 1) return void (await publish(first));
      await Promise.all(Array.from({ length: count }, (_, i) => publish(first + i)));
    });
  } finally {
    await topic.flush();
  }
}

async function consume(task: ChildTask, meter: Meter, pubsub: PubSub): Promise<void> {
  const instrumentation = instrumentationOf(task.variant);
  const name = subscriptionOf(task.destination);
  let subscription = pubsub.subscription(name);
  if (instrumentation === 'brokertrace') subscription = (load('@brokertrace/pubsub') as BrokertracePubSub).traceSubscription(subscription);
  const countdown = new ConsumeCountdown(task.size, meter);
  let bytes = 0; // the handler reads each message, as an application would
  const handle = (m: Message): void => {
    bytes += m.data.length;
    m.ack();
    countdown.add();
  };
  const floor = instrumentation === 'floor' ? floorOf(task, name) : undefined;
  subscription.on('message', floor ? (m: Message) => floor.process(m.attributes, () => handle(m)) : handle);
  const failed = new Promise<never>((_, reject) => subscription.once('error', reject));
  try {
    await Promise.race([countdown.done, failed]);
  } finally {
    await subscription.close();
  }
  if (bytes === 0) throw new Error('pubsub: the consumer read no payload');
}

export const pubsub: Workload = {
  peer: '@google-cloud/pubsub',
  peerRecordsMetrics: false, // the client's own tracing records no metrics
  paths: ['produce-1', 'produce-100', 'consume'],
  // Each publishMessage waits for the client's 10 ms batching delay (50-100 a second on produce-1 here), and the
  // emulator shares 2 busy cores: smaller runs than FULL_SIZES.
  fullSizes: {
    'produce-1': { warmup: 1500, measured: 300 },
    'produce-100': { warmup: 500, measured: 4000 },
    consume: { warmup: 2000, measured: 4000 },
  },

  admin(settings) {
    const admin = client(settings);
    const helper: BrokerAdmin = {
      async prepare(path, name, count) {
        const [topic] = await admin.createTopic(name);
        if (path !== 'consume') return;
        await topic.createSubscription(subscriptionOf(name), { ackDeadlineSeconds: 60 });
        // Both context keys, so that brokertrace (traceparent) and the client's own tracing
        // (googclient_traceparent) each extract a creation context, as after a producer traced by either.
        const publisher = admin.topic(name, { batching: { maxMessages: 500, maxMilliseconds: 20 } });
        for (let sent = 0; sent < count; sent += 500) {
          const n = Math.min(500, count - sent);
          await Promise.all(
            Array.from({ length: n }, (_, i) => {
              const traceparent = creationTraceparent();
              return publisher.publishMessage({ data: payload(sent + i), attributes: { ...attributes(), traceparent, googclient_traceparent: traceparent } });
            }),
          );
        }
      },
      async remove(name) {
        await admin
          .subscription(subscriptionOf(name))
          .delete()
          .catch(() => undefined); // produce paths have none
        await admin.topic(name).delete();
      },
      async close() {
        await admin.close();
      },
    };
    return Promise.resolve(helper);
  },

  // The client's own tracing is switched on by the option it is created with (in run), as its users do.
  installPeer() {},

  async run(task, meter) {
    const pubsub = client(task.settings, instrumentationOf(task.variant) === 'peer');
    try {
      switch (task.path) {
        case 'produce-1':
          return await produce(task, meter, pubsub, 1);
        case 'produce-100':
          return await produce(task, meter, pubsub, 100);
        case 'consume':
          return await consume(task, meter, pubsub);
        default:
          throw new Error(`pubsub: no ${task.path} path`);
      }
    } finally {
      await pubsub.close();
    }
  },
};
