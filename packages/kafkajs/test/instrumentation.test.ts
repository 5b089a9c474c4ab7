import { setupTestTelemetry } from '@brokertrace/testing';
import * as kafkajs from 'kafkajs';
import { KafkaJsInstrumentation, traceKafka, traceProducer, untraceKafka } from '../src/index';
import { fakeConsumer, fakeProducer } from './fakes';

const t = setupTestTelemetry();
beforeEach(() => t.reset());

/** A module shaped like kafkajs whose Kafka class hands out fake clients. */
function fakeModule() {
  const made = { producers: [] as ReturnType<typeof fakeProducer>[], consumers: [] as ReturnType<typeof fakeConsumer>[] };
  // kafkajs keeps its cluster factory under a private symbol of the instance, and hands each client a cluster.
  const CREATE_CLUSTER = Symbol('private:Kafka:createCluster');
  class Kafka {
    readonly clusters: Array<{ brokerPool: { metadata: { clusterId: string } | null; versions: Record<number, { maxVersion: number }> | null } }> = [];
    [CREATE_CLUSTER] = () => {
      const cluster = { brokerPool: { metadata: null as { clusterId: string } | null, versions: null as Record<number, { maxVersion: number }> | null } };
      this.clusters.push(cluster);
      return cluster;
    };
    producer() {
      this[CREATE_CLUSTER]();
      const fake = fakeProducer();
      made.producers.push(fake);
      return fake.producer;
    }
    consumer(_config: { groupId: string }) {
      this[CREATE_CLUSTER]();
      const fake = fakeConsumer();
      made.consumers.push(fake);
      return fake.consumer;
    }
  }
  return { exports: { Kafka }, made };
}

/** What require-in-the-middle would do when the app loads kafkajs. */
function load(instrumentation: KafkaJsInstrumentation, moduleExports: object): void {
  const [definition] = instrumentation.getModuleDefinitions();
  definition!.moduleExports = moduleExports;
  definition!.patch!(moduleExports, '2.2.4');
}

describe('KafkaJsInstrumentation', () => {
  it('traces clients the Kafka class creates, with the group id it was given', async () => {
    const instrumentation = new KafkaJsInstrumentation();
    const { exports, made } = fakeModule();
    load(instrumentation, exports);
    const kafka = new exports.Kafka();
    const producer = kafka.producer();
    await producer.send({ topic: 'orders', messages: [{ value: 'a' }] });
    const consumer = kafka.consumer({ groupId: 'billing' });
    await consumer.run({ eachMessage: () => Promise.resolve() });
    await made.consumers[0]!.deliver({
      topic: 'orders',
      partition: 0,
      message: { ...made.producers[0]!.sent[0]!.messages[0]!, offset: '0', timestamp: String(Date.now()), key: null },
    });
    const [send, process] = t.spans();
    expect(send!.name).toBe('send orders');
    expect(process!.name).toBe('process orders');
    expect(process!.parentSpanContext?.spanId).toBe(send!.spanContext().spanId);
    expect(process!.attributes['messaging.consumer.group.name']).toBe('billing');
    instrumentation.disable();
  });

  it('puts the cluster id kafkajs fetched on the spans, and sends without context to a broker that takes no headers', async () => {
    const instrumentation = new KafkaJsInstrumentation();
    const { exports, made } = fakeModule();
    load(instrumentation, exports);
    const kafka = new exports.Kafka();
    const producer = kafka.producer();
    // Before metadata: no cluster id yet.
    await producer.send({ topic: 'orders', messages: [{ value: 'a' }] });
    kafka.clusters[0]!.brokerPool.metadata = { clusterId: 'Xk9-cluster' };
    kafka.clusters[0]!.brokerPool.versions = { 0: { maxVersion: 9 } };
    await producer.send({ topic: 'orders', messages: [{ value: 'b' }] });
    // A proxy that negotiated the Produce API down to v2: kafkajs would drop every header.
    kafka.clusters[0]!.brokerPool.versions = { 0: { maxVersion: 2 } };
    const plain = { value: 'c', headers: { app: 'x' } };
    await producer.send({ topic: 'orders', messages: [plain] });

    const [first, second, third] = t.spansNamed('send orders');
    expect(first!.attributes['messaging.kafka.cluster.id']).toBeUndefined();
    expect(second!.attributes['messaging.kafka.cluster.id']).toBe('Xk9-cluster');
    expect(third!.attributes['messaging.kafka.cluster.id']).toBe('Xk9-cluster');
    const sent = made.producers[0]!.sent;
    expect(sent[1]!.messages[0]!.headers?.traceparent).toBeDefined();
    expect(sent[2]!.messages[0]).toBe(plain);
    instrumentation.disable();
  });

  it('traceKafka: the explicit form, cluster id included, restored by untraceKafka', async () => {
    const { exports, made } = fakeModule();
    const kafka = traceKafka(new exports.Kafka());
    expect(traceKafka(kafka)).toBe(kafka);
    const producer = kafka.producer();
    kafka.clusters[0]!.brokerPool.metadata = { clusterId: 'explicit-cluster' };
    await producer.send({ topic: 'orders', messages: [{ value: 'a' }] });
    const consumer = kafka.consumer({ groupId: 'billing' });
    await consumer.run({ eachMessage: () => Promise.resolve() });
    await made.consumers[0]!.deliver({ topic: 'orders', partition: 0, message: { ...made.producers[0]!.sent[0]!.messages[0]!, offset: '0', timestamp: String(Date.now()), key: null } });
    const [send, process] = t.spans();
    expect(send!.attributes['messaging.kafka.cluster.id']).toBe('explicit-cluster');
    expect(process!.attributes).toMatchObject({ 'messaging.consumer.group.name': 'billing' });
    expect(process!.parentSpanContext?.spanId).toBe(send!.spanContext().spanId);

    expect(untraceKafka(kafka)).toBe(true);
    expect(Object.hasOwn(kafka, 'producer')).toBe(false);
    await producer.send({ topic: 'orders', messages: [{ value: 'b' }] });
    expect(t.spans()).toHaveLength(2);
  });

  it('does not double spans when a client is also wrapped explicitly', async () => {
    const instrumentation = new KafkaJsInstrumentation();
    const { exports } = fakeModule();
    load(instrumentation, exports);
    const producer = traceProducer(new exports.Kafka().producer());
    await producer.send({ topic: 'orders', messages: [{ value: 'a' }] });
    expect(t.spans()).toHaveLength(1);
    instrumentation.disable();
  });

  it('disable restores the Kafka class and makes existing clients pass through; enable traces again', async () => {
    const instrumentation = new KafkaJsInstrumentation();
    const { exports } = fakeModule();
    const originalProducer = exports.Kafka.prototype.producer;
    load(instrumentation, exports);
    expect(exports.Kafka.prototype.producer).not.toBe(originalProducer);
    const producer = new exports.Kafka().producer();

    instrumentation.disable();
    expect(exports.Kafka.prototype.producer).toBe(originalProducer);
    await producer.send({ topic: 'orders', messages: [{ value: 'a' }] });
    expect(t.spans()).toHaveLength(0);

    instrumentation.enable();
    await producer.send({ topic: 'orders', messages: [{ value: 'a' }] });
    expect(t.spans()).toHaveLength(1);
    instrumentation.disable();
  });

  it('validates its configuration at construction and on setConfig', () => {
    expect(() => new KafkaJsInstrumentation({ maxRecordBytes: -1 })).toThrow(/maxRecordBytes/);
    expect(() => new KafkaJsInstrumentation({ policy: { mode: 'sometimes' as never } })).toThrow(/policy\.mode/);
    const instrumentation = new KafkaJsInstrumentation({ enabled: false, clientId: 'a' });
    expect(() => instrumentation.setConfig({ retryCountHeaders: [''] })).toThrow(/retryCountHeaders\[0\]/);
    expect(instrumentation.getConfig().clientId).toBe('a');
  });

  it('applies setConfig to clients already traced', async () => {
    const instrumentation = new KafkaJsInstrumentation();
    const { exports } = fakeModule();
    load(instrumentation, exports);
    const producer = new exports.Kafka().producer();
    instrumentation.setConfig({ ignoreDestinations: ['orders'] });
    await producer.send({ topic: 'orders', messages: [{ value: 'a' }] });
    expect(t.spans()).toHaveLength(0);
    instrumentation.disable();
  });

  it('patches the real kafkajs module and restores it', () => {
    const instrumentation = new KafkaJsInstrumentation();
    const proto = kafkajs.Kafka.prototype;
    const original = proto.producer;
    load(instrumentation, kafkajs);
    expect(proto.producer).not.toBe(original);
    const kafka = new kafkajs.Kafka({ brokers: ['127.0.0.1:1'], logLevel: kafkajs.logLevel.NOTHING });
    const producer = kafka.producer();
    // Traced in place: its send is ours, a second wrap is a no-op.
    expect(producer.send.name).toBe('send');
    expect(traceProducer(producer)).toBe(producer);
    instrumentation.disable();
    expect(proto.producer).toBe(original);
  });
});
