// kafkajs hands an offset over again after the handler throws: the re-seen offset counts as a redelivery,
// a child of the producer trace up to maxChildDeliveries (3), a link after that. Confluent's KafkaJS API seeks back to
// the offset instead: the same count.
import { SpanStatusCode } from '@opentelemetry/api';
import { setupTestTelemetry } from '@brokertrace/testing';
import { traceConsumer, traceProducer } from '@brokertrace/kafkajs';
import type { KafkaMessage } from 'kafkajs';
import { uniqueName } from '../harness/index.js';
import { CLIENTS, Countdown, createTopics, kafkaClient } from './helpers.js';
import type { ClientLibrary } from './helpers.js';

const t = setupTestTelemetry();

describe.each(CLIENTS)('$name', (lib: ClientLibrary) => {

  it('counts deliveries 1, 2, 3 as children and links the fourth', async () => {
    const topic = uniqueName('redelivery');
    await createTopics(await kafkaClient('redelivery-admin'), [topic]);
    const producer = traceProducer(await lib.producer('redelivery'));
    await producer.connect();
    // One partition, so "second" is only handed over once "first" has succeeded.
    await producer.send({ topic, messages: [{ key: 'first', value: 'throws twice' }] });
    await producer.send({ topic, messages: [{ key: 'second', value: 'throws three times' }] });
    await producer.disconnect();

    const failuresLeft: Record<string, number> = { first: 2, second: 3 };
    const consumer = traceConsumer(await lib.consumer('redelivery', [topic], { groupId: uniqueName('g') }));
    const done = new Countdown<KafkaMessage>(2);
    await consumer.run({
      eachMessage: ({ message }) => {
        const key = message.key!.toString();
        if (failuresLeft[key]! > 0) {
          failuresLeft[key]!--;
          return Promise.reject(new Error(`${key} failed`));
        }
        done.push(message);
        return Promise.resolve();
      },
    });
    await done.done;
    await consumer.disconnect();

    const sends = new Map(t.spansNamed(`send ${topic}`).map((s) => [s.attributes['messaging.kafka.message.key'], s]));
    const processes = t.spansNamed(`process ${topic}`);
    const attempts = (key: string) => processes.filter((p) => p.attributes['messaging.kafka.message.key'] === key);

    const first = attempts('first');
    expect(first.map((p) => p.attributes['brokertrace.message.delivery_count'])).toEqual([1, 2, 3]);
    expect(first.map((p) => p.attributes['brokertrace.decision.relationship'])).toEqual(['child', 'child', 'child']);
    expect(first.map((p) => p.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.ERROR, SpanStatusCode.UNSET]);
    for (const p of first) expect(p.parentSpanContext?.spanId).toBe(sends.get('first')!.spanContext().spanId);

    const second = attempts('second');
    expect(second.map((p) => p.attributes['brokertrace.message.delivery_count'])).toEqual([1, 2, 3, 4]);
    expect(second.map((p) => p.attributes['brokertrace.decision.relationship'])).toEqual(['child', 'child', 'child', 'link']);
    const fourth = second[3]!;
    expect(fourth.attributes['brokertrace.decision.reason']).toBe('redelivered');
    expect(fourth.spanContext().traceId).not.toBe(sends.get('second')!.spanContext().traceId);
    expect(fourth.links[0]!.context.spanId).toBe(sends.get('second')!.spanContext().spanId);
    expect(fourth.links[0]!.attributes ?? {}).toEqual({}); // the count is on the span
    expect(t.openSpans()).toHaveLength(0);
  });
});
