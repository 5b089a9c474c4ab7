// eachBatch: a receive span linked to every message of the batch, and traceBatchMessage for a process span
// per message with its own timing.
import { setupTestTelemetry } from '@brokertrace/testing';
import { traceBatchMessage, traceConsumer, traceProducer } from '@brokertrace/kafkajs';
import type { KafkaMessage } from 'kafkajs';
import { uniqueName } from '../harness/index.js';
import { Countdown, createTopics, kafkaClient, subscribedConsumer } from './helpers.js';

// Its provider keeps up to 10,000 links per span (the SDK's default is 128: see the package README).
const telemetry = setupTestTelemetry();

it('links a receive span to all 500 messages of a batch and gives each message a process span', async () => {
  const client = await kafkaClient('batch');
  const topic = uniqueName('batch');
  await createTopics(client, [topic]);
  const producer = traceProducer(client.producer());
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 500 }, (_, i) => ({ value: `m${i}` })) });
  await producer.disconnect();

  const consumer = traceConsumer(await subscribedConsumer(client, [topic], { groupId: uniqueName('g') }));
  const done = new Countdown<KafkaMessage>(500);
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

  const spans = telemetry.spans();
  const creates = new Set(spans.filter((s) => s.name === `create ${topic}`).map((s) => s.spanContext().spanId));
  const receives = spans.filter((s) => s.name === `receive ${topic}`);
  const processes = spans.filter((s) => s.name === `process ${topic}`);
  expect(creates.size).toBe(500);
  // However kafkajs split the fetches into batches, each receive span links to exactly its batch's messages.
  expect(receives.length).toBeGreaterThanOrEqual(1);
  expect(receives.reduce((n, r) => n + r.links.length, 0)).toBe(500);
  expect(receives.every((r) => r.links.length === r.attributes['messaging.batch.message_count'])).toBe(true);
  const linked = new Set(receives.flatMap((r) => r.links.map((l) => l.context.spanId)));
  expect(linked).toEqual(creates);
  expect(processes).toHaveLength(500);
  expect(processes.every((p) => creates.has(p.parentSpanContext!.spanId))).toBe(true);
});
