// Producer to consumer through a real Kafka broker (KRaft, from the harness): one trace, facts on the spans,
// payloads and caller objects unchanged. Every test runs against kafkajs and against the KafkaJS-compatible API of
// @confluentinc/kafka-javascript (helpers.ts CLIENTS).
import { randomBytes } from 'node:crypto';
import { setupTestTelemetry } from '@brokertrace/testing';
import { traceConsumer, traceProducer } from '@brokertrace/kafkajs';
import type { Consumer, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { kafka, uniqueName } from '../harness/index.js';
import { CLIENTS, Countdown, createTopics, headerString, kafkaClient } from './helpers.js';
import type { ClientLibrary } from './helpers.js';

const t = setupTestTelemetry();

describe.each(CLIENTS)('$name', (lib: ClientLibrary) => {
  let admin: Kafka;
  let producer: Producer;
  const consumers: Consumer[] = [];

  let host: string;
  let port: number;

  beforeAll(async () => {
    const [broker] = (await kafka()).brokers;
    host = broker!.slice(0, broker!.lastIndexOf(':'));
    port = Number(broker!.slice(broker!.lastIndexOf(':') + 1));
    admin = await kafkaClient('e2e-admin');
    producer = traceProducer(await lib.producer('e2e-service'));
    await producer.connect();
  });
  beforeEach(() => t.reset());
  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.disconnect()));
  });
  afterAll(async () => {
    await producer.disconnect();
  });

  /** Traces a consumer on `topic`, runs it, and collects `count` messages. */
  async function consume(topic: string, count: number, groupId = uniqueName('g')): Promise<Countdown<KafkaMessage>> {
    const consumer = traceConsumer(await lib.consumer('e2e-service', [topic], { groupId }));
    consumers.push(consumer);
    const got = new Countdown<KafkaMessage>(count);
    await consumer.run({
      eachMessage: ({ message }) => {
        got.push(message);
        return Promise.resolve();
      },
    });
    return got;
  }

  /** Waits for the messages, then stops the consumers so every process span has ended. */
  async function settle(got: Countdown<KafkaMessage>): Promise<KafkaMessage[]> {
    const messages = await got.done;
    await Promise.all(consumers.splice(0).map((c) => c.disconnect()));
    return messages;
  }

  it('puts producer and consumer spans in one trace, with the broker facts on both', async () => {
    const topic = uniqueName('e2e');
    await createTopics(admin, [topic]);
    const got = await consume(topic, 1, 'billing-' + topic);
    const payload = randomBytes(64);
    const headers = { app: 'checkout' };
    const outgoing = { key: 'order-1', value: payload, headers };
    const [reply] = await producer.send({ topic, messages: [outgoing] });
    const [message] = await settle(got);

    expect(Buffer.compare(message!.value!, payload)).toBe(0);
    expect(headerString(message!, 'app')).toBe('checkout');
    // The caller's message as it was: Confluent's client rewrites the message objects it is given (partition,
    // timestamp, headers in librdkafka's array form), so it is handed our copy.
    expect(outgoing).toEqual({ key: 'order-1', value: payload, headers: { app: 'checkout' } });
    expect(outgoing.headers).toBe(headers);

    const send = t.spansNamed(`send ${topic}`)[0]!;
    const process = t.spansNamed(`process ${topic}`)[0]!;
    expect(process.spanContext().traceId).toBe(send.spanContext().traceId);
    expect(process.parentSpanContext?.spanId).toBe(send.spanContext().spanId);
    expect(send.attributes).toMatchObject({
      'messaging.destination.partition.id': '0',
      'messaging.kafka.offset': Number(reply!.baseOffset),
      'messaging.kafka.message.key': 'order-1',
      'messaging.client.id': 'e2e-service',
    });
    expect(process.attributes).toMatchObject({
      'messaging.destination.partition.id': '0',
      'messaging.kafka.offset': Number(message!.offset),
      'messaging.kafka.message.key': 'order-1',
      'messaging.consumer.group.name': 'billing-' + topic,
      'messaging.client.id': 'e2e-service',
      'brokertrace.decision.relationship': 'child',
      'brokertrace.decision.reason': 'fresh',
      'brokertrace.message.delivery_count': 1,
    });
    expect(process.attributes['brokertrace.message.queue_time']).toBeGreaterThanOrEqual(0);
    // A child process span also links to its creation context (first link).
    expect(process.links[0]!.context.spanId).toBe(send.spanContext().spanId);
    // What the broker and the client said about themselves: the address the client talked to, the cluster id
    // only where the factory was seen (the instrumentation test), the client id.
    expect(send.attributes['server.address']).toBe(host);
    expect(send.attributes['server.port']).toBe(port);
    expect(process.attributes['server.address']).toBe(host);
    // The consumer's auto-commit is a settle span of its own, where the client reports it (librdkafka's are unseen).
    const [commit] = t.spansNamed(`commit ${topic}`);
    if (lib.seesAutomaticCommits) {
      expect(commit!.attributes).toMatchObject({
        'messaging.operation.type': 'settle',
        'messaging.consumer.group.name': 'billing-' + topic,
        'messaging.destination.partition.id': '0',
        'messaging.kafka.offset': Number(message!.offset) + 1,
      });
    } else {
      expect(commit).toBeUndefined();
    }
    // Metric attribute sets, as the conventions list them.
    const metrics = await t.metrics();
    const sent = (metrics['messaging.client.sent.messages'] ?? []).find((p) => p.attributes['messaging.destination.name'] === topic)!;
    expect(Object.keys(sent.attributes).sort()).toEqual(
      ['messaging.destination.name', 'messaging.operation.name', 'messaging.system', 'server.address', 'server.port'].sort(),
    );
    const processed = (metrics['messaging.process.duration'] ?? []).find((p) => p.attributes['messaging.destination.name'] === topic)!;
    expect(Object.keys(processed.attributes).sort()).toEqual(
      [
        'messaging.consumer.group.name',
        'messaging.destination.name',
        'messaging.destination.partition.id',
        'messaging.operation.name',
        'messaging.system',
        'server.address',
        'server.port',
      ].sort(),
    );
    expect(processed.attributes).toMatchObject({ 'messaging.consumer.group.name': 'billing-' + topic, 'server.address': host, 'messaging.operation.name': 'process' });
    expect(t.openSpans()).toHaveLength(0);
  });

  it('gives every message of a multi-message send its own create span, linked from the send span, and its consumer span as child', async () => {
    const topic = uniqueName('e2e-multi');
    await createTopics(admin, [topic]);
    const got = await consume(topic, 3);
    const checkout = await t.withSpan('checkout', (span) =>
      producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] }).then(() => span),
    );
    const messages = await settle(got);

    const send = t.spansNamed(`send ${topic}`)[0]!;
    const creates = new Map(t.spansNamed(`create ${topic}`).map((s) => [s.spanContext().spanId, s]));
    expect(creates.size).toBe(3);
    // In a trace viewer: three create spans under `checkout`, the send span (CLIENT) linking to each of them.
    for (const create of creates.values()) expect(create.parentSpanContext?.spanId).toBe(checkout.spanContext().spanId);
    expect(send.parentSpanContext?.spanId).toBe(checkout.spanContext().spanId);
    expect(new Set(send.links.map((l) => l.context.spanId))).toEqual(new Set(creates.keys()));
    expect(send.attributes['messaging.batch.message_count']).toBe(3);
    const processes = t.spansNamed(`process ${topic}`);
    expect(processes).toHaveLength(3);
    for (const process of processes) {
      const create = creates.get(process.parentSpanContext!.spanId)!;
      expect(create).toBeDefined();
      expect(process.links[0]!.context.spanId).toBe(create.spanContext().spanId);
    }
    // One trace per send call (all creates are in the caller's trace), one create span per message.
    expect(new Set(processes.map((p) => p.spanContext().traceId))).toEqual(new Set([checkout.spanContext().traceId]));
    expect(messages.map((m) => m.value!.toString())).toEqual(['a', 'b', 'c']);
  });

  it('sends deeply frozen input, leaves it as it was, and keeps the context it carried', async () => {
    const topic = uniqueName('e2e-frozen');
    await createTopics(admin, [topic]);
    const got = await consume(topic, 2);
    const own = '00-11111111111111111111111111111111-2222222222222222-01';
    const message = Object.freeze({ value: 'frozen', headers: Object.freeze({ traceparent: own }) });
    const record = Object.freeze({ topic, messages: Object.freeze([message, message]) as unknown as typeof message[] });
    await producer.send(record);
    const received = await settle(got);

    expect(message.headers.traceparent).toBe(own);
    // existingContext 'keep' (the default): a custom creation context is not modified; the send span links to it.
    expect(received.map((m) => headerString(m, 'traceparent'))).toEqual([own, own]);
    expect(received.map((m) => m.headers?.traceparent).every((v) => !Array.isArray(v))).toBe(true);
    const send = t.spansNamed(`send ${topic}`)[0]!;
    expect(send.links.map((l) => l.context.spanId)).toEqual(['2222222222222222', '2222222222222222']);
    expect(t.spansNamed(`create ${topic}`)).toHaveLength(0);
    for (const p of t.spansNamed(`process ${topic}`)) expect(p.parentSpanContext?.spanId).toBe('2222222222222222');
  });

  it('sends a message that is a frozen class instance, its value behind a getter on a private field, with its key and value', async () => {
    class Order {
      readonly #total: number;
      readonly key = 'order-9';
      readonly partition = 0;
      constructor(total: number) {
        this.#total = total;
      }
      get value(): string {
        return JSON.stringify({ total: this.#total });
      }
    }
    const topic = uniqueName('e2e-class');
    await createTopics(admin, [topic]);
    const got = await consume(topic, 1);
    const message = Object.freeze(new Order(42));
    await producer.send({ topic, messages: [message] });
    const [received] = await settle(got);
    expect(received!.value!.toString()).toBe('{"total":42}');
    expect(received!.key!.toString()).toBe('order-9');
    expect(headerString(received!, 'traceparent')).toContain(t.spansNamed(`send ${topic}`)[0]!.spanContext().spanId);
    expect(Object.hasOwn(message, 'headers')).toBe(false);
  });

  it('links a message produced an hour ago, with reason stale', async () => {
    const topic = uniqueName('e2e-stale');
    await createTopics(admin, [topic]);
    const got = await consume(topic, 1);
    const hourAgo = Date.now() - 3600_000;
    await producer.send({ topic, messages: [{ value: 'old', timestamp: String(hourAgo) }] });
    await settle(got);

    const send = t.spansNamed(`send ${topic}`)[0]!;
    const process = t.spansNamed(`process ${topic}`)[0]!;
    expect(process.attributes['brokertrace.decision.relationship']).toBe('link');
    expect(process.attributes['brokertrace.decision.reason']).toBe('stale');
    expect(process.attributes['brokertrace.message.queue_time']).toBeGreaterThanOrEqual(3600);
    expect(process.attributes['brokertrace.message.queue_time']).toBeLessThan(3700); // seconds, not ms
    expect(process.spanContext().traceId).not.toBe(send.spanContext().traceId);
    expect(process.links.map((l) => l.context.spanId)).toEqual([send.spanContext().spanId]);
  });

  it('delivers a message that leaves no room for the context intact, and records what was dropped', async () => {
    const topic = uniqueName('e2e-full');
    await createTopics(admin, [topic]);
    const got = await consume(topic, 1);
    // The broker's default message.max.bytes lets this record through only if we add nothing to it.
    const payload = randomBytes(1048576 - 96 - 30);
    await producer.send({ topic, messages: [{ value: payload }] });
    const [message] = await settle(got);

    expect(Buffer.compare(message!.value!, payload)).toBe(0);
    expect(message!.headers ?? {}).toEqual({}); // Confluent: undefined for a message without headers
    expect(t.spansNamed(`send ${topic}`)[0]!.attributes['brokertrace.context.dropped_fields']).toEqual(['traceparent']);
    expect(t.spansNamed(`process ${topic}`)[0]!.attributes['brokertrace.decision.reason']).toBe('no-context');
  });

  it('lets two consumer groups on one topic each continue the producer trace', async () => {
    const topic = uniqueName('e2e-groups');
    await createTopics(admin, [topic]);
    const first = await consume(topic, 1, 'billing-' + topic);
    const second = await consume(topic, 1, 'shipping-' + topic);
    await producer.send({ topic, messages: [{ value: 'shared' }] });
    await first.done;
    await settle(second);

    const send = t.spansNamed(`send ${topic}`)[0]!;
    const processes = t.spansNamed(`process ${topic}`);
    expect(processes.map((p) => p.attributes['messaging.consumer.group.name']).sort()).toEqual(['billing-' + topic, 'shipping-' + topic]);
    for (const process of processes) {
      expect(process.parentSpanContext?.spanId).toBe(send.spanContext().spanId);
      expect(process.attributes['brokertrace.decision.reason']).toBe('fresh');
    }
  });

  it('receives 1,000 messages exactly once with payloads unchanged and no span left open', async () => {
    const topic = uniqueName('e2e-1000');
    await createTopics(admin, [topic], 3);
    const got = await consume(topic, 1000);
    const payloads = Array.from({ length: 1000 }, (_, i) => Buffer.concat([Buffer.from(`${i}:`), randomBytes(32)]));
    for (let i = 0; i < 1000; i += 100) {
      await producer.sendBatch({ topicMessages: [{ topic, messages: payloads.slice(i, i + 100).map((value) => ({ value })) }] });
    }
    const received = await settle(got);

    const byIndex = new Map(received.map((m) => [m.value!.toString('latin1').split(':')[0], m.value!]));
    expect(byIndex.size).toBe(1000);
    payloads.forEach((p, i) => expect(Buffer.compare(byIndex.get(String(i))!, p)).toBe(0));
    expect(t.openSpans()).toHaveLength(0);
    const creates = new Set(t.spansNamed(`create ${topic}`).map((s) => s.spanContext().spanId));
    const processes = t.spansNamed(`process ${topic}`);
    expect(creates.size).toBe(1000);
    expect(processes).toHaveLength(1000);
    expect(processes.every((p) => creates.has(p.parentSpanContext!.spanId))).toBe(true);
  });

  it("records the broker's own error type on a send it rejected, and rethrows the client's error unchanged", async () => {
    const topic = uniqueName('e2e-too-large');
    await createTopics(admin, [topic]);
    // Over the broker's message.max.bytes (1 MiB by default): the broker answers MESSAGE_TOO_LARGE.
    const tooLarge = { value: randomBytes(1100 * 1024) };
    const failing = traceProducer(await lib.producer('e2e-service', { retries: 0 }), { maxRecordBytes: 4 * 1024 * 1024 });
    await failing.connect();
    const error = await failing.send({ topic, messages: [tooLarge] }).then(
      () => undefined,
      (err: unknown) => err,
    );
    await failing.disconnect();
    expect(error).toBeInstanceOf(Error);
    const send = t.spansNamed(`send ${topic}`)[0]!;
    expect(send.attributes['error.type']).toBe('MESSAGE_TOO_LARGE');
    // The error the client threw is the application's to see, untouched: kafkajs's class, or Confluent's librdkafka
    // error with its code (10, MSG_SIZE_TOO_LARGE: librdkafka refuses the message itself, as the broker would).
    if (lib.name === 'kafkajs') expect((error as Error).name).toMatch(/^KafkaJS/);
    else expect((error as { code?: unknown }).code).toBe(10);
  });
});
