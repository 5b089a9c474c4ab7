// Kafka through the KafkaJS-compatible API of @confluentinc/kafka-javascript (librdkafka underneath), on the same
// broker and the same paths as brokers/kafka.ts: one-partition topics, prepared by kafka.ts's admin helper.
import type { KafkaJS } from '@confluentinc/kafka-javascript';
import { endWhenSent, Floor } from '../lib/floor.js';
import { ConsumeCountdown, measureProducer, type Meter } from '../lib/meter.js';
import { payload } from '../lib/messages.js';
import { load, type Workload } from '../lib/workload.js';
import { instrumentationOf, type BrokerSettings, type ChildTask } from '../lib/types.js';
import { kafka } from './kafka.js';

type Confluent = typeof import('@confluentinc/kafka-javascript');
type BrokertraceKafka = typeof import('@brokertrace/kafkajs');

// As kafka.ts: at most this much per partition and fetch, so that `eachBatch` gets batches, not the whole run.
const MAX_BYTES_PER_PARTITION = 64 * 1024;

function client(settings: BrokerSettings, clientId: string): KafkaJS.Kafka {
  const { KafkaJS } = load('@confluentinc/kafka-javascript') as Confluent;
  return new KafkaJS.Kafka({ kafkaJS: { clientId, brokers: settings.brokers as string[], logLevel: KafkaJS.logLevel.NOTHING } });
}

function message(index: number): { key: string; value: Buffer } {
  return { key: `key-${index}`, value: payload(index) };
}

async function produce(task: ChildTask, meter: Meter, confluent: KafkaJS.Kafka, batchSize: number): Promise<void> {
  const instrumentation = instrumentationOf(task.variant);
  let producer = confluent.producer({ kafkaJS: { allowAutoTopicCreation: false } });
  if (instrumentation === 'brokertrace') producer = (load('@brokertrace/kafkajs') as BrokertraceKafka).traceProducer(producer);
  const floor = instrumentation === 'floor' ? new Floor('kafka', task.destination, 'send') : undefined;
  await producer.connect();
  try {
    await measureProducer(task.size, meter, batchSize, async (first, count) => {
      const messages: KafkaJS.Message[] = Array.from({ length: count }, (_, i) => message(first + i));
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

async function consume(task: ChildTask, meter: Meter, confluent: KafkaJS.Kafka, batches: boolean): Promise<void> {
  const instrumentation = instrumentationOf(task.variant);
  let consumer = confluent.consumer({
    kafkaJS: { groupId: `${task.destination}-group`, fromBeginning: true, maxBytesPerPartition: MAX_BYTES_PER_PARTITION },
  });
  const brokertrace = instrumentation === 'brokertrace' ? (load('@brokertrace/kafkajs') as BrokertraceKafka) : undefined;
  if (brokertrace) consumer = brokertrace.traceConsumer(consumer);
  const floor = instrumentation === 'floor' ? new Floor('kafka', task.destination, 'send') : undefined;
  const countdown = new ConsumeCountdown(task.size, meter);
  let bytes = 0; // the handler reads each message, as an application would
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [task.destination] });
    if (batches) {
      // As kafka.ts: brokertrace's `traceBatchMessage` per message, the floor by hand; about one span per message.
      const perMessage = brokertrace
        ? brokertrace.traceBatchMessage
        : floor
          ? <R>(_batch: unknown, m: KafkaJS.Message, handler: () => R): R => floor.process(m.headers, handler)
          : <R>(_batch: unknown, _message: unknown, handler: () => R): R => handler();
      await consumer.run({
        eachBatch: ({ batch }: KafkaJS.EachBatchPayload) => {
          for (const m of batch.messages) perMessage(batch, m, () => (bytes += m.value?.length ?? 0));
          countdown.add(batch.messages.length);
          return Promise.resolve();
        },
      });
    } else {
      const eachMessage = ({ message: m }: KafkaJS.EachMessagePayload): Promise<void> => {
        bytes += m.value?.length ?? 0;
        countdown.add();
        return Promise.resolve();
      };
      await consumer.run({
        eachMessage: floor ? (p: KafkaJS.EachMessagePayload) => floor.process(p.message.headers, () => eachMessage(p)) : eachMessage,
      });
    }
    await countdown.done;
  } finally {
    await consumer.disconnect();
  }
  if (bytes === 0) throw new Error('confluent: the consumer read no payload');
}

export const confluent: Workload = {
  peer: '@instana/instrumentation-confluent-kafka-javascript',
  peerRecordsMetrics: false, // 1.1.0 records none
  // 1.1.0 wraps `consumer.run` by always passing an `eachMessage` of its own, which calls the application's
  // eachMessage if there is one: given `eachBatch`, the client then runs that eachMessage instead, so the
  // application's eachBatch is never called (its messages are consumed and committed unhandled).
  peerMissing: { 'consume-batch': 'the peer replaces eachBatch by an eachMessage of its own: the handler is never called' },
  server: 'kafka',
  paths: ['produce-1', 'produce-100', 'consume', 'consume-batch'],
  // Each send of one waits for librdkafka's delivery report (about 180 a second here): fewer measured than kafkajs's
  // 2,500, and a long warm-up, affordable because its sends overlap (lib/meter.ts).
  fullSizes: { 'produce-1': { warmup: 2000, measured: 400 } },
  admin: (settings) => kafka.admin(settings),

  installPeer() {
    const { registerInstrumentations } = load('@opentelemetry/instrumentation') as typeof import('@opentelemetry/instrumentation');
    const { ConfluentKafkaInstrumentation } = load('@instana/instrumentation-confluent-kafka-javascript') as typeof import('@instana/instrumentation-confluent-kafka-javascript');
    registerInstrumentations({ instrumentations: [new ConfluentKafkaInstrumentation()] });
  },

  async run(task, meter) {
    const confluent = client(task.settings, `bench-${task.variant}`);
    switch (task.path) {
      case 'produce-1':
        return produce(task, meter, confluent, 1);
      case 'produce-100':
        return produce(task, meter, confluent, 100);
      case 'consume':
        return consume(task, meter, confluent, false);
      case 'consume-batch':
        return consume(task, meter, confluent, true);
      default:
        throw new Error(`confluent: no ${task.path} path`);
    }
  },
};
