// Propagation formats: the context goes through whatever propagator the application registered, not a built-in W3C
// one. B3 multi-header (Zipkin estates) and a composite W3C + B3 (bridging legacy services), producer to consumer
// through the real broker, one trace.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { propagation } from '@opentelemetry/api';
import type { TextMapPropagator } from '@opentelemetry/api';
import { setupTestTelemetry } from '@brokertrace/testing';
import { traceConsumer, traceProducer } from '@brokertrace/kafkajs';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { uniqueName } from '../harness/index.js';
import { CLIENTS, Countdown, createTopics, headerString, kafkaClient } from './helpers.js';
import type { ClientLibrary } from './helpers.js';

// The propagators are devDependencies of @brokertrace/kafkajs (the integration package does not list them).
const fromKafkajsPackage = createRequire(join(__dirname, '../../packages/kafkajs/package.json'));
const { B3InjectEncoding, B3Propagator } = fromKafkajsPackage('@opentelemetry/propagator-b3') as {
  B3Propagator: new (options?: { injectEncoding?: number }) => TextMapPropagator;
  B3InjectEncoding: { MULTI_HEADER: number };
};
const { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } = fromKafkajsPackage('@opentelemetry/core') as {
  CompositePropagator: new (options: { propagators: TextMapPropagator[] }) => TextMapPropagator;
  W3CTraceContextPropagator: new () => TextMapPropagator;
  W3CBaggagePropagator: new () => TextMapPropagator;
};

const t = setupTestTelemetry();
let admin: Kafka;

beforeAll(async () => {
  admin = await kafkaClient('propagation-admin');
});
beforeEach(() => t.reset());
afterEach(() => {
  // Back to what the test telemetry registered (W3C trace context + baggage).
  propagation.disable();
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
});

function use(propagator: TextMapPropagator): void {
  propagation.disable();
  propagation.setGlobalPropagator(propagator);
}

describe.each(CLIENTS)('$name', (lib: ClientLibrary) => {
  /** Sends one message and a multi-message batch through traced clients; returns what the consumer got. */
  async function roundTrip(): Promise<{ topic: string; messages: KafkaMessage[] }> {
    const topic = uniqueName('propagation');
    await createTopics(admin, [topic]);
    const producer = traceProducer(await lib.producer('propagation'));
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'single', value: 'one' }] });
    await producer.send({ topic, messages: [{ key: 'multi', value: 'two' }, { key: 'multi', value: 'three' }] });
    await producer.disconnect();
    const consumer = traceConsumer(await lib.consumer('propagation', [topic], { groupId: uniqueName('g') }));
    const got = new Countdown<KafkaMessage>(3);
    await consumer.run({
      eachMessage: ({ message }) => {
        got.push(message);
        return Promise.resolve();
      },
    });
    const messages = await got.done;
    await consumer.disconnect();
    return { topic, messages };
  }

  /** Every process span is a child of the span whose context its message carried, in the producer's trace. */
  function expectOneTracePerCreation(topic: string): void {
    const producerSpans = new Map([...t.spansNamed(`send ${topic}`), ...t.spansNamed(`create ${topic}`)].map((s) => [s.spanContext().spanId, s]));
    const processes = t.spansNamed(`process ${topic}`);
    expect(processes).toHaveLength(3);
    for (const p of processes) {
      const parent = producerSpans.get(p.parentSpanContext!.spanId)!;
      expect(parent).toBeDefined();
      expect(p.spanContext().traceId).toBe(parent.spanContext().traceId);
      expect(p.attributes['brokertrace.decision.reason']).toBe('fresh');
    }
  }

  it('carries B3 multi-header context from producer to consumer', async () => {
    use(new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER }));
    const { topic, messages } = await roundTrip();
    for (const m of messages) {
      expect(headerString(m, 'x-b3-traceid')).toMatch(/^[0-9a-f]{32}$/);
      expect(headerString(m, 'x-b3-spanid')).toMatch(/^[0-9a-f]{16}$/);
      expect(m.headers?.traceparent).toBeUndefined();
    }
    expectOneTracePerCreation(topic);
  });

  it('carries a composite W3C + B3 context: both formats in every message, one trace', async () => {
    use(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new B3Propagator()] }));
    const { topic, messages } = await roundTrip();
    for (const m of messages) {
      const traceparent = headerString(m, 'traceparent')!;
      const b3 = headerString(m, 'b3')!;
      // The same span in both formats.
      expect(b3.split('-').slice(0, 2)).toEqual(traceparent.split('-').slice(1, 3));
    }
    expectOneTracePerCreation(topic);
  });
});
