// What is particular to the KafkaJS-compatible API of @confluentinc/kafka-javascript (the tests both clients share
// are parametrised in the other files): its client-side eachBatch batches, repeated headers, the message objects
// it rewrites, a `consumer.events` that throws when read, its auto-instrumentation, and traces across the two clients.
import { SpanKind } from '@opentelemetry/api';
import { setupTestTelemetry } from '@brokertrace/testing';
import { ConfluentKafkaJsInstrumentation, traceBatchMessage, traceConsumer, traceProducer } from '@brokertrace/kafkajs';
import type { Consumer, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { kafka, uniqueName } from '../harness/index.js';
import { CONFLUENT, Countdown, KAFKAJS, confluentModule, createTopics, headerString, kafkaClient } from './helpers.js';

const t = setupTestTelemetry();
let admin: Kafka;

beforeAll(async () => {
  admin = await kafkaClient('confluent-admin');
});
beforeEach(() => t.reset());

async function topicNamed(prefix: string): Promise<string> {
  const topic = uniqueName(prefix);
  await createTopics(admin, [topic]);
  return topic;
}

/** Runs `consumer` with an eachMessage handler collecting `count` messages, then disconnects it. */
async function collect(consumer: Consumer, count: number): Promise<KafkaMessage[]> {
  const got = new Countdown<KafkaMessage>(count);
  await consumer.run({
    eachMessage: ({ message }) => {
      got.push(message);
      return Promise.resolve();
    },
  });
  const messages = await got.done;
  await consumer.disconnect();
  return messages;
}

it('eachBatch: batches of at most 32 messages (made by the client), each one span linked to its messages, offsetLag() intact', async () => {
  const topic = await topicNamed('cf-batch');
  const producer = traceProducer(await CONFLUENT.producer('cf-batch'));
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 100 }, (_, i) => ({ value: `m${i}` })) });
  await producer.disconnect();

  const consumer = traceConsumer(await CONFLUENT.consumer('cf-batch', [topic], { groupId: uniqueName('g') }));
  const done = new Countdown<KafkaMessage>(100);
  const lags: string[] = [];
  await consumer.run({
    eachBatch: async ({ batch }) => {
      lags.push((batch as { offsetLag(): string }).offsetLag());
      for (const message of batch.messages) await traceBatchMessage(batch, message, () => Promise.resolve(done.push(message)));
    },
  });
  await done.done;
  await consumer.disconnect();

  const processes = t.spansNamed(`process ${topic}`);
  const batches = processes.filter((s) => s.attributes['messaging.batch.message_count'] !== undefined);
  const sizes = batches.map((b) => b.attributes['messaging.batch.message_count'] as number);
  expect(Math.max(...sizes)).toBe(32);
  expect(sizes.reduce((a, b) => a + b, 0)).toBe(100);
  for (const b of batches) {
    expect(b.kind).toBe(SpanKind.CONSUMER);
    expect(b.parentSpanContext).toBeUndefined();
    expect(b.links).toHaveLength(b.attributes['messaging.batch.message_count'] as number);
  }
  const creates = new Set(t.spansNamed(`create ${topic}`).map((s) => s.spanContext().spanId));
  expect(new Set(batches.flatMap((b) => b.links.map((l) => l.context.spanId)))).toEqual(creates);
  const perMessage = processes.filter((s) => s.attributes['messaging.batch.message_count'] === undefined);
  expect(perMessage).toHaveLength(100);
  const batchIds = new Set(batches.map((b) => b.spanContext().spanId));
  expect(perMessage.every((p) => batchIds.has(p.parentSpanContext!.spanId))).toBe(true);
  expect(lags.every((lag) => /^\d+$/.test(lag))).toBe(true);
  expect(t.openSpans()).toHaveLength(0);
});

it('repeated headers arrive as arrays of Buffers: the first valid traceparent is the parent, values never joined, the caller\'s arrays untouched', async () => {
  const topic = await topicNamed('cf-repeated');
  const producer = traceProducer(await CONFLUENT.producer('cf-repeated'));
  await producer.connect();
  const own = '00-11111111111111111111111111111111-2222222222222222-01';
  const repeated = { value: 'own context', headers: { traceparent: ['not a traceparent', own], tag: ['a', 'b'] } };
  const plain = { value: 'ours', headers: { tag: ['c', 'd'] } };
  await producer.send({ topic, messages: [repeated] });
  await producer.send({ topic, messages: [plain] });
  await producer.disconnect();
  expect(repeated).toEqual({ value: 'own context', headers: { traceparent: ['not a traceparent', own], tag: ['a', 'b'] } });
  expect(plain).toEqual({ value: 'ours', headers: { tag: ['c', 'd'] } });

  const [first, second] = await collect(traceConsumer(await CONFLUENT.consumer('cf-repeated', [topic], { groupId: uniqueName('g') })), 2);
  expect(first!.headers!.traceparent).toEqual([Buffer.from('not a traceparent'), Buffer.from(own)]);
  expect(first!.headers!.tag).toEqual([Buffer.from('a'), Buffer.from('b')]);
  expect(second!.headers!.tag).toEqual([Buffer.from('c'), Buffer.from('d')]);
  expect(Buffer.isBuffer(second!.headers!.traceparent)).toBe(true);

  const [keptSend, oursSend] = t.spansNamed(`send ${topic}`);
  const [keptProcess, oursProcess] = t.spansNamed(`process ${topic}`);
  expect(keptSend!.links.map((l) => l.context.spanId)).toEqual(['2222222222222222']);
  expect(keptProcess!.parentSpanContext?.spanId).toBe('2222222222222222');
  expect(oursProcess!.parentSpanContext?.spanId).toBe(oursSend!.spanContext().spanId);
});

it('sendBatch (which the client runs through its own send) is traced once, and the caller\'s batch and messages stay as they were', async () => {
  const [a, b] = [await topicNamed('cf-sendbatch-a'), await topicNamed('cf-sendbatch-b')];
  const producer = traceProducer(await CONFLUENT.producer('cf-sendbatch'));
  await producer.connect();
  const messagesA = [{ value: 'a1' }, { value: 'a2', headers: { k: 'v' } }];
  const messagesB = [{ value: 'b1', partition: 0 }];
  const batch = { topicMessages: [{ topic: a, messages: messagesA }, { topic: b, messages: messagesB }] };
  await producer.sendBatch(batch);
  await producer.disconnect();

  expect(batch.topicMessages[0]!.messages).toBe(messagesA);
  expect(messagesA).toEqual([{ value: 'a1' }, { value: 'a2', headers: { k: 'v' } }]);
  expect(messagesB).toEqual([{ value: 'b1', partition: 0 }]);
  expect(t.spansNamed(`send ${a}`)).toHaveLength(1);
  expect(t.spansNamed(`send ${b}`)).toHaveLength(1);
  expect(t.spansNamed(`create ${a}`)).toHaveLength(2);
  expect(t.spansNamed(`create ${b}`)).toHaveLength(1);
  expect(t.openSpans()).toHaveLength(0);
});

it('never reads consumer.events (its getter throws) nor calls consumer.on', async () => {
  const topic = await topicNamed('cf-events');
  const consumer = await CONFLUENT.consumer('cf-events', [topic], { groupId: uniqueName('g') });
  let touched = 0;
  const proto = Object.getPrototypeOf(consumer) as object;
  const eventsGetter = Object.getOwnPropertyDescriptor(proto, 'events')!.get!;
  const on = (consumer as unknown as { on: (...args: unknown[]) => unknown }).on;
  Object.defineProperty(consumer, 'events', {
    configurable: true,
    get() {
      touched++;
      return eventsGetter.call(this) as unknown;
    },
  });
  Object.defineProperty(consumer, 'on', {
    configurable: true,
    value(...args: unknown[]) {
      touched++;
      return on.apply(this, args);
    },
  });
  traceConsumer(consumer);
  const producer = traceProducer(await CONFLUENT.producer('cf-events'));
  await producer.connect();
  await producer.send({ topic, messages: [{ value: 'x' }] });
  await producer.disconnect();
  const got = new Countdown<KafkaMessage>(1);
  await consumer.run({
    eachMessage: ({ message }) => {
      got.push(message);
      return Promise.resolve();
    },
  });
  const [message] = await got.done;
  await consumer.commitOffsets([{ topic, partition: 0, offset: String(Number(message!.offset) + 1) }]);
  await consumer.disconnect();

  expect(touched).toBe(0);
  expect(t.spansNamed(`process ${topic}`)).toHaveLength(1);
  expect(t.spansNamed(`commit ${topic}`)[0]!.attributes).toMatchObject({ 'messaging.kafka.offset': Number(message!.offset) + 1 });
});

describe.each([
  ['a kafkajs producer', 'a Confluent consumer', KAFKAJS, CONFLUENT],
  ['a Confluent producer', 'a kafkajs consumer', CONFLUENT, KAFKAJS],
] as const)('%s traced by brokertrace and %s traced by brokertrace', (_p, _c, producing, consuming) => {
  it('share one trace', async () => {
    const topic = await topicNamed('cf-cross');
    const consumer = traceConsumer(await consuming.consumer('cf-cross', [topic], { groupId: uniqueName('g') }));
    const producer: Producer = traceProducer(await producing.producer('cf-cross'));
    await producer.connect();
    const checkout = await t.withSpan('checkout', (span) =>
      producer.send({ topic, messages: [{ value: 'one' }, { value: 'two' }] }).then(() => span),
    );
    await producer.disconnect();
    const messages = await collect(consumer, 2);

    expect(messages.map((m) => headerString(m, 'traceparent'))).toEqual([expect.any(String), expect.any(String)]);
    const creates = new Set(t.spansNamed(`create ${topic}`).map((s) => s.spanContext().spanId));
    const processes = t.spansNamed(`process ${topic}`);
    expect(processes).toHaveLength(2);
    for (const p of processes) {
      expect(p.spanContext().traceId).toBe(checkout.spanContext().traceId);
      expect(creates.has(p.parentSpanContext!.spanId)).toBe(true);
      expect(p.attributes['brokertrace.decision.reason']).toBe('fresh');
    }
  });
});

it('ConfluentKafkaJsInstrumentation traces the clients KafkaJS.Kafka creates, and passes through once disabled', async () => {
  const module = confluentModule();
  const instrumentation = new ConfluentKafkaJsInstrumentation();
  const plainProducer = module.KafkaJS.Kafka.prototype.producer;
  // What require-in-the-middle does when the app loads the package (jest has its own module loader).
  const [definition] = instrumentation.getModuleDefinitions();
  expect(definition!.name).toBe('@confluentinc/kafka-javascript');
  definition!.moduleExports = module;
  definition!.patch!(module, '1.10.1');
  try {
    const { brokers } = await kafka();
    const topic = await topicNamed('cf-auto');
    // No client id configured: librdkafka's own default is what the broker sees.
    const client = new module.KafkaJS.Kafka({ kafkaJS: { brokers, logLevel: module.KafkaJS.logLevel.NOTHING } });
    const groupId = uniqueName('g');
    const consumer = client.consumer({ kafkaJS: { groupId, fromBeginning: true, maxWaitTimeInMs: 100 } }) as Consumer;
    await consumer.connect();
    await consumer.subscribe({ topic });
    const producer = client.producer() as Producer;
    await producer.connect();
    await producer.send({ topic, messages: [{ value: 'traced' }] });
    const [message] = await collect(consumer, 1);
    instrumentation.disable();
    expect(module.KafkaJS.Kafka.prototype.producer).toBe(plainProducer);
    await producer.send({ topic, messages: [{ value: 'plain' }] });
    await producer.disconnect();

    expect(headerString(message!, 'traceparent')).toBeDefined();
    const [send] = t.spansNamed(`send ${topic}`);
    const [process] = t.spansNamed(`process ${topic}`);
    expect(t.spansNamed(`send ${topic}`)).toHaveLength(1);
    expect(process!.parentSpanContext?.spanId).toBe(send!.spanContext().spanId);
    expect(process!.attributes).toMatchObject({ 'messaging.consumer.group.name': groupId, 'messaging.client.id': 'rdkafka' });
    expect(send!.attributes['messaging.client.id']).toBe('rdkafka');
    // This client exposes no cluster id.
    expect(send!.attributes['messaging.kafka.cluster.id']).toBeUndefined();
  } finally {
    instrumentation.disable();
  }
});
