// A broker (or proxy) that takes no record headers: kafkajs drops every header there, so the instrumentation sends
// no context, says so once through diag and on the spans, and the messages still arrive as the caller made them.
// The "old broker" is the real broker behind a proxy that negotiates the Produce API down to v2 (old-protocol-proxy.ts).
import { DiagLogLevel, diag } from '@opentelemetry/api';
import type { DiagLogger } from '@opentelemetry/api';
import { setupTestTelemetry } from '@brokertrace/testing';
import { KafkaJsInstrumentation, traceConsumer, traceProducer } from '@brokertrace/kafkajs';
import * as kafkajs from 'kafkajs';
import type { KafkaMessage } from 'kafkajs';
import { kafka, uniqueName } from '../harness/index.js';
import { Countdown, createTopics, kafkaClient, subscribedConsumer } from './helpers.js';
import { oldProtocolProxy } from './old-protocol-proxy.js';
import type { OldProtocolProxy } from './old-protocol-proxy.js';

const t = setupTestTelemetry();
const warnings: string[] = [];
const logger: DiagLogger = {
  error: () => undefined,
  // A component logger hands its namespace first, then the message.
  warn: (...args: unknown[]) => void warnings.push(args.map(String).join(' ')),
  info: () => undefined,
  debug: () => undefined,
  verbose: () => undefined,
};
let proxy: OldProtocolProxy;

beforeAll(async () => {
  diag.setLogger(logger, DiagLogLevel.WARN);
  proxy = await oldProtocolProxy((await kafka()).brokers[0]!);
});
beforeEach(async () => {
  warnings.length = 0;
  await t.reset();
});
afterAll(async () => {
  diag.disable();
  await proxy.close();
});

async function oldBrokerClient(clientId: string): Promise<kafkajs.Kafka> {
  const { brokers } = await kafka();
  return new kafkajs.Kafka({ clientId, brokers, socketFactory: proxy.socketFactory, logLevel: kafkajs.logLevel.NOTHING });
}

/** Consumes `count` messages of `topic` through a normal connection. */
async function received(topic: string, count: number): Promise<KafkaMessage[]> {
  const consumer = traceConsumer(await subscribedConsumer(await kafkaClient('reader'), [topic], { groupId: uniqueName('g') }));
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

const noHeaderWarnings = () => warnings.filter((w) => w.includes('does not support record headers'));

it('explicit wrapper: learns it from the first Produce request, then sends without context, warning once', async () => {
  const client = await oldBrokerClient('old-broker-explicit');
  const topic = uniqueName('noheaders');
  await createTopics(await kafkaClient('admin'), [topic]);
  const producer = traceProducer(client.producer());
  await producer.connect();
  // The first send cannot know yet (kafkajs says which Produce version it used once it has sent).
  await producer.send({ topic, messages: [{ value: 'first', headers: { app: 'x' } }] });
  for (const value of ['second', 'third']) await producer.send({ topic, messages: [{ value, headers: { app: 'x' } }] });
  await producer.disconnect();

  expect(proxy.produceVersions.every((v) => v <= 2)).toBe(true);
  const messages = await received(topic, 3);
  // kafkajs drops every header on such a broker (ours and the caller's): what arrives has none, sends did not fail.
  expect(messages.map((m) => m.value!.toString())).toEqual(['first', 'second', 'third']);
  expect(messages.every((m) => Object.keys(m.headers ?? {}).length === 0)).toBe(true);
  expect(noHeaderWarnings()).toHaveLength(1);
  const sends = t.spansNamed(`send ${topic}`);
  expect(sends.slice(1).map((s) => s.attributes['brokertrace.context.dropped_fields'])).toEqual([['traceparent'], ['traceparent']]);
  // The consumer says what happened too: no context, a new trace.
  expect(t.spansNamed(`process ${topic}`).map((p) => p.attributes['brokertrace.decision.reason'])).toEqual(['no-context', 'no-context', 'no-context']);
});

it('auto-instrumentation: knows it from the API versions before the first send', async () => {
  const instrumentation = new KafkaJsInstrumentation();
  const [definition] = instrumentation.getModuleDefinitions();
  definition!.moduleExports = kafkajs;
  definition!.patch!(kafkajs, '2.2.4');
  try {
    const client = await oldBrokerClient('old-broker-auto');
    const topic = uniqueName('noheaders-auto');
    await createTopics(await kafkaClient('admin'), [topic]);
    const producer = client.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ value: 'only' }] });
    await producer.disconnect();
    expect(noHeaderWarnings()).toHaveLength(1);
    expect(t.spansNamed(`send ${topic}`)[0]!.attributes['brokertrace.context.dropped_fields']).toEqual(['traceparent']);
  } finally {
    instrumentation.disable();
  }
});
