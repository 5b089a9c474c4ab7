// Smoke test of the harness's Kafka: the plain kafkajs client, no instrumentation.
import { Kafka, logLevel, type Consumer, type KafkaMessage } from 'kafkajs';
import { kafka, uniqueName } from '../harness/index.js';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const PAYLOAD = Buffer.from([0x00, 0xff, 0x10, 0x80, ...Buffer.from(' kafka smoke ✓')]);

describe('Kafka from the harness', () => {
  let client: Kafka;
  let consumer: Consumer | undefined;

  beforeAll(async () => {
    client = new Kafka({ clientId: 'smoke', brokers: (await kafka()).brokers, logLevel: logLevel.NOTHING });
  });
  afterAll(async () => {
    await consumer?.disconnect();
  });

  it('delivers a message with its traceparent header and payload unchanged', async () => {
    const topic = uniqueName('smoke-kafka');
    const admin = client.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();

    const producer = client.producer();
    await producer.connect();
    const [sent] = await producer.send({ topic, messages: [{ key: 'k1', value: PAYLOAD, headers: { traceparent: TRACEPARENT } }] });
    await producer.disconnect();

    consumer = client.consumer({ groupId: uniqueName('smoke-group') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = await new Promise<KafkaMessage>((resolve) => {
      void consumer!.run({ eachMessage: ({ message }) => Promise.resolve(resolve(message)) });
    });

    expect(received.offset).toBe(sent?.baseOffset);
    expect(received.key?.toString()).toBe('k1');
    expect(received.value).toEqual(PAYLOAD);
    expect(received.headers?.traceparent?.toString()).toBe(TRACEPARENT);
  });
});
