// eachBatch: a receive span linked to every message of the batch, and traceBatchMessage for a process span
// per message with its own timing.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { setupTestTelemetry } from '@brokertrace/testing';
import { traceBatchMessage, traceConsumer, traceProducer } from '@brokertrace/kafkajs';
import type { KafkaMessage } from 'kafkajs';
import { uniqueName } from '../harness/index.js';
import { Awaited, createTopics, kafkaClient, subscribedConsumer } from './helpers.js';

// The global propagator and context manager; spans go to the provider below.
setupTestTelemetry();

// The SDK keeps 128 links per span by default (spanLimits.linkCountLimit): a receive span over 500 messages
// needs a provider that allows more. The SDK is a dependency of @brokertrace/testing, not of integration/.
const sdk = createRequire(join(__dirname, '..', '..', 'packages', 'testing', 'package.json'))('@opentelemetry/sdk-trace');
const exporter = new sdk.InMemorySpanExporter();
const provider = new sdk.TracerProvider({
  spanLimits: { linkCountLimit: 1000 },
  spanProcessors: [new sdk.SimpleSpanProcessor({ exporter })],
});

it('links a receive span to all 500 messages of a batch and gives each message a process span', async () => {
  const client = await kafkaClient('batch');
  const topic = uniqueName('batch');
  await createTopics(client, [topic]);
  const producer = traceProducer(client.producer(), { tracerProvider: provider });
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 500 }, (_, i) => ({ value: `m${i}` })) });
  await producer.disconnect();

  const consumer = traceConsumer(await subscribedConsumer(client, [topic], { groupId: uniqueName('g') }), { tracerProvider: provider });
  const done = new Awaited<KafkaMessage>(500);
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) {
        await traceBatchMessage(batch, message, () => {
          done.push(message);
          return Promise.resolve();
        });
      }
    },
  });
  await done.done;
  await consumer.disconnect();

  const spans: { name: string; links: { context: { spanId: string } }[]; parentSpanContext?: { spanId: string }; spanContext(): { spanId: string } }[] =
    exporter.getFinishedSpans();
  const creates = new Set(spans.filter((s) => s.name === `create ${topic}`).map((s) => s.spanContext().spanId));
  const receives = spans.filter((s) => s.name === `receive ${topic}`);
  const processes = spans.filter((s) => s.name === `process ${topic}`);
  expect(creates.size).toBe(500);
  // kafkajs fetched the 500 messages (produced before the consumer started) in one batch.
  expect(receives).toHaveLength(1);
  const linked = new Set(receives[0]!.links.map((l) => l.context.spanId));
  expect(linked).toEqual(creates);
  expect(processes).toHaveLength(500);
  expect(processes.every((p) => creates.has(p.parentSpanContext!.spanId))).toBe(true);
});
