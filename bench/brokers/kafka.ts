// Kafka through kafkajs: one-partition topics, so every variant sees the same batches in the same order.
import type { Consumer, EachBatchPayload, EachMessagePayload, Kafka, KafkaMessage, Message, Producer } from 'kafkajs';
import { endWhenSent, Floor } from '../lib/floor.js';
import { ConsumeCountdown, measureProducer, type Meter } from '../lib/meter.js';
import { creationTraceparent, payload } from '../lib/messages.js';
import { load, type BrokerAdmin, type Workload } from '../lib/workload.js';
import { instrumentationOf, type BrokerSettings, type ChildTask } from '../lib/types.js';

// Fetch at most this much per partition and request, so that `eachBatch` gets batches of one or two hundred
// messages (kafkajs' default of 1 MiB would hand over most of a run in one batch).
const MAX_BYTES_PER_PARTITION = 64 * 1024;

function client(settings: BrokerSettings, clientId: string): Kafka {
  const { Kafka, logLevel } = load('kafkajs') as typeof import('kafkajs');
  return new Kafka({ clientId, brokers: settings.brokers as string[], logLevel: logLevel.NOTHING });
}

function message(index: number): { key: string; value: Buffer } {
  return { key: `key-${index}`, value: payload(index) };
}

const floorOf = (task: ChildTask): Floor => new Floor('kafka', task.destination, 'send');

async function produce(task: ChildTask, meter: Meter, kafka: Kafka, batchSize: number): Promise<void> {
  const instrumentation = instrumentationOf(task.variant);
  let producer: Producer = kafka.producer({ allowAutoTopicCreation: false });
  if (instrumentation === 'brokertrace') {
    const { traceProducer } = load('@brokertrace/kafkajs') as typeof import('@brokertrace/kafkajs');
    producer = traceProducer(producer);
  }
  const floor = instrumentation === 'floor' ? floorOf(task) : undefined;
  await producer.connect();
  try {
    await measureProducer(task.size, meter, batchSize, async (first, count) => {
      const messages: Message[] = Array.from({ length: count }, (_, i) => message(first + i));
      if (!floor) return void (await producer.send({ topic: task.destination, messages }));
      const spans = messages.map((m, i) => {
        const started = floor.startSend(m.headers);
        messages[i] = { ...m, headers: started.headers };
        return started.span;
      });
      await endWhenSent(spans, producer.send({ topic: task.destination, messages }));
    });
  } finally {
    await producer.disconnect();
  }
}

async function consume(task: ChildTask, meter: Meter, kafka: Kafka, batches: boolean): Promise<void> {
  let consumer: Consumer = kafka.consumer({
    groupId: `${task.destination}-group`,
    maxBytesPerPartition: MAX_BYTES_PER_PARTITION,
  });
  const instrumentation = instrumentationOf(task.variant);
  if (instrumentation === 'brokertrace') {
    const { traceConsumer } = load('@brokertrace/kafkajs') as typeof import('@brokertrace/kafkajs');
    consumer = traceConsumer(consumer);
  }
  const floor = instrumentation === 'floor' ? floorOf(task) : undefined;
  const countdown = new ConsumeCountdown(task.size, meter);
  let bytes = 0; // the handler reads each message, as an application would
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [task.destination], fromBeginning: true });
    if (batches) {
      // With brokertrace, each message of the batch gets its process span through `traceBatchMessage`, as our
      // README shows; the peer starts one per message on its own; the floor does the same as
      // `traceBatchMessage`, by hand. All emit about one span per message.
      const perMessage =
        instrumentation === 'brokertrace'
          ? (load('@brokertrace/kafkajs') as typeof import('@brokertrace/kafkajs')).traceBatchMessage
          : floor
            ? <R>(_batch: unknown, m: KafkaMessage, handler: () => R): R => floor.process(m.headers, handler)
            : <R>(_batch: unknown, _message: unknown, handler: () => R): R => handler();
      await consumer.run({
        eachBatch: ({ batch }: EachBatchPayload) => {
          for (const m of batch.messages) perMessage(batch, m, () => (bytes += m.value?.length ?? 0));
          countdown.add(batch.messages.length);
          return Promise.resolve();
        },
      });
    } else {
      const eachMessage = ({ message: m }: EachMessagePayload): Promise<void> => {
        bytes += m.value?.length ?? 0;
        countdown.add();
        return Promise.resolve();
      };
      await consumer.run({
        eachMessage: floor ? (payload: EachMessagePayload) => floor.process(payload.message.headers, () => eachMessage(payload)) : eachMessage,
      });
    }
    await countdown.done;
  } finally {
    await consumer.disconnect();
  }
  if (bytes === 0) throw new Error('kafka: the consumer read no payload');
}

export const kafka: Workload = {
  peer: '@opentelemetry/instrumentation-kafkajs',
  peerRecordsMetrics: true,
  paths: ['produce-1', 'produce-100', 'consume', 'consume-batch'],

  async admin(settings) {
    const kafka = client(settings, 'bench-admin');
    const admin = kafka.admin();
    await admin.connect();
    const helper: BrokerAdmin = {
      async prepare(path, topic, count) {
        await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
        if (!path.startsWith('consume')) return;
        // A producer per topic: a kafkajs producer refreshes metadata for every topic it ever sent to, and
        // fails once one of them is deleted.
        const producer = kafka.producer();
        await producer.connect();
        try {
          for (let sent = 0; sent < count; sent += 100) {
            const messages = Array.from({ length: Math.min(100, count - sent) }, (_, i) => ({
              ...message(sent + i),
              headers: { traceparent: creationTraceparent() },
            }));
            await producer.send({ topic, messages });
          }
        } finally {
          await producer.disconnect();
        }
      },
      async remove(topic) {
        await admin.deleteTopics({ topics: [topic] });
      },
      async close() {
        await admin.disconnect();
      },
    };
    return helper;
  },

  installPeer() {
    const { KafkaJsInstrumentation } = load('@opentelemetry/instrumentation-kafkajs') as typeof import('@opentelemetry/instrumentation-kafkajs');
    new KafkaJsInstrumentation().enable();
  },

  async run(task, meter) {
    const kafka = client(task.settings, `bench-${task.variant}`);
    switch (task.path) {
      case 'produce-1':
        return produce(task, meter, kafka, 1);
      case 'produce-100':
        return produce(task, meter, kafka, 100);
      case 'consume':
        return consume(task, meter, kafka, false);
      case 'consume-batch':
        return consume(task, meter, kafka, true);
    }
  },
};
