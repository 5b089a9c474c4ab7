// eachBatch: one process span over the handler, linked to every message of the batch, and traceBatchMessage
// for a process span per message under it; messages a handler never got to are not counted as delivered. Against
// kafkajs and Confluent's KafkaJS API (whose eachBatch batches are made client-side, 32 messages by default).
import { SpanKind } from '@opentelemetry/api';
import { setupTestTelemetry } from '@brokertrace/testing';
import { traceBatchMessage, traceConsumer, traceProducer } from '@brokertrace/kafkajs';
import type { KafkaMessage } from 'kafkajs';
import { uniqueName } from '../harness/index.js';
import { CLIENTS, Countdown, createTopics, kafkaClient } from './helpers.js';
import type { ClientLibrary } from './helpers.js';

// Its provider keeps up to 10,000 links per span (the SDK's default is 128: see the package README).
const telemetry = setupTestTelemetry();
beforeEach(() => telemetry.reset());

describe.each(CLIENTS)('$name', (lib: ClientLibrary) => {

  it('links a batch process span to all 500 messages of a batch and puts a process span per message under it', async () => {
    const topic = uniqueName('batch');
    await createTopics(await kafkaClient('batch-admin'), [topic]);
    const producer = traceProducer(await lib.producer('batch'));
    await producer.connect();
    await producer.send({ topic, messages: Array.from({ length: 500 }, (_, i) => ({ value: `m${i}` })) });
    await producer.disconnect();

    const consumer = traceConsumer(await lib.consumer('batch', [topic], { groupId: uniqueName('g') }));
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
    const receives = spans.filter((s) => s.name === `process ${topic}` && s.attributes['messaging.batch.message_count'] !== undefined);
    const processes = spans.filter((s) => s.name === `process ${topic}` && s.attributes['messaging.batch.message_count'] === undefined);
    expect(receives.every((r) => r.kind === SpanKind.CONSUMER && r.parentSpanContext === undefined)).toBe(true);
    expect(creates.size).toBe(500);
    // However kafkajs split the fetches into batches, each receive span links to exactly its batch's messages.
    expect(receives.length).toBeGreaterThanOrEqual(1);
    expect(receives.reduce((n, r) => n + r.links.length, 0)).toBe(500);
    expect(receives.every((r) => r.links.length === r.attributes['messaging.batch.message_count'])).toBe(true);
    const linked = new Set(receives.flatMap((r) => r.links.map((l) => l.context.spanId)));
    expect(linked).toEqual(creates);
    expect(processes).toHaveLength(500);
    // Each per-message span sits under its batch's span and links to its message's create span.
    const batchIds = new Set(receives.map((r) => r.spanContext().spanId));
    expect(processes.every((p) => batchIds.has(p.parentSpanContext!.spanId))).toBe(true);
    expect(new Set(processes.map((p) => p.links[0]!.context.spanId))).toEqual(creates);
    expect(receives.every((r) => r.links.every((l) => typeof l.attributes?.['messaging.kafka.offset'] === 'number'))).toBe(true);
  });

  it('counts an unresolved tail as delivered only once it is processed (eachBatchAutoResolve: false)', async () => {
    const topic = uniqueName('batch-tail');
    await createTopics(await kafkaClient('batch-admin'), [topic]);
    const producer = traceProducer(await lib.producer('batch-tail'));
    await producer.connect();
    await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ key: String(i), value: `m${i}` })) });
    await producer.disconnect();

    const consumer = traceConsumer(await lib.consumer('batch-tail', [topic], { groupId: uniqueName('g') }));
    const done = new Countdown<KafkaMessage>(10);
    let calls = 0;
    await consumer.run({
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        // The first call stops half way (as a handler does when isRunning()/isStale() say so): kafkajs fetches the
        // unresolved rest again, and that is its first hand-over to the application.
        const take = calls++ === 0 ? batch.messages.slice(0, Math.ceil(batch.messages.length / 2)) : batch.messages;
        for (const message of take) {
          await traceBatchMessage(batch, message, () => {
            done.push(message);
            return Promise.resolve();
          });
          resolveOffset(message.offset);
        }
      },
    });
    await done.done;
    await consumer.disconnect();

    expect(calls).toBeGreaterThanOrEqual(2);
    const processes = telemetry.spansNamed(`process ${topic}`).filter((s) => s.attributes['messaging.batch.message_count'] === undefined);
    expect(processes.map((p) => p.attributes['messaging.kafka.message.key']).sort()).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(processes.map((p) => p.attributes['brokertrace.message.delivery_count'])).toEqual(new Array(10).fill(1));
    expect(telemetry.openSpans()).toHaveLength(0);
  });
});
