// KafkaJsInstrumentation on the real kafkajs module: the clients `new Kafka().producer()/consumer()` create are
// traced with the same code as the explicit wrappers, and disabling restores plain kafkajs.
import { setupTestTelemetry } from '@brokertrace/testing';
import { KafkaJsInstrumentation, traceKafka, untraceKafka } from '@brokertrace/kafkajs';
import * as kafkajs from 'kafkajs';
import type { KafkaMessage } from 'kafkajs';
import { uniqueName } from '../harness/index.js';
import { Countdown, createTopics, kafkaClient } from './helpers.js';

const t = setupTestTelemetry();

it('traces clients created after the module is patched, and passes through once disabled', async () => {
  const instrumentation = new KafkaJsInstrumentation();
  const plainProducer = kafkajs.Kafka.prototype.producer;
  // What require-in-the-middle does when the app loads kafkajs (jest has its own module loader).
  const [definition] = instrumentation.getModuleDefinitions();
  definition!.moduleExports = kafkajs;
  definition!.patch!(kafkajs, '2.2.4');

  const client = await kafkaClient('auto');
  const topic = uniqueName('auto');
  await createTopics(client, [topic]);
  const producer = client.producer();
  await producer.connect();
  const groupId = uniqueName('g');
  const consumer = client.consumer({ groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const first = new Countdown<KafkaMessage>(1);
  const second = new Countdown<KafkaMessage>(1);
  await consumer.run({
    eachMessage: ({ message }) => {
      (first.items.length === 0 ? first : second).push(message);
      return Promise.resolve();
    },
  });

  await producer.send({ topic, messages: [{ value: 'traced' }] });
  const [traced] = await first.done;
  instrumentation.disable();
  expect(kafkajs.Kafka.prototype.producer).toBe(plainProducer);
  await producer.send({ topic, messages: [{ value: 'plain' }] });
  const [plain] = await second.done;
  await consumer.disconnect();
  await producer.disconnect();

  expect(traced!.headers?.traceparent).toBeDefined();
  expect(plain!.headers).toEqual({});
  const send = t.spansNamed(`send ${topic}`);
  const process = t.spansNamed(`process ${topic}`);
  expect(send).toHaveLength(1);
  expect(process).toHaveLength(1);
  expect(process[0]!.parentSpanContext?.spanId).toBe(send[0]!.spanContext().spanId);
  expect(process[0]!.attributes['messaging.consumer.group.name']).toBe(groupId);
  // The cluster id kafkajs fetched with its metadata, read from the cluster the factory built: no extra round trip.
  const admin = client.admin();
  await admin.connect();
  const { clusterId } = await admin.describeCluster();
  await admin.disconnect();
  expect(send[0]!.attributes['messaging.kafka.cluster.id']).toBe(clusterId);
  expect(process[0]!.attributes['messaging.kafka.cluster.id']).toBe(clusterId);
});

it('traceKafka traces the clients of one Kafka instance, with the cluster id', async () => {
  const client = traceKafka(await kafkaClient('explicit-kafka'));
  const topic = uniqueName('trace-kafka');
  await createTopics(client, [topic]);
  const producer = client.producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ value: 'a' }] });
  await producer.disconnect();
  const admin = client.admin();
  await admin.connect();
  const { clusterId } = await admin.describeCluster();
  await admin.disconnect();
  expect(untraceKafka(client)).toBe(true);
  expect(t.spansNamed(`send ${topic}`)[0]!.attributes['messaging.kafka.cluster.id']).toBe(clusterId);
});
