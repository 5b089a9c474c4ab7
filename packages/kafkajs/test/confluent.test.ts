// The Confluent adapter (src/flavour.ts) on its own: how a client is recognised, what it learns from the client,
// error codes as error.type (with the client's real error classes), and the shared code on stand-ins shaped like
// the Confluent KafkaJS-API clients (class instances that rewrite messages, whose sendBatch calls send, whose
// `events` getter throws). The real client on a real broker: integration/kafkajs/confluent.test.ts.
import { setupTestTelemetry } from '@brokertrace/testing';
import { ClientInfo } from '../src/client-info';
import { kafkaErrorType } from '../src/errors';
import { CONFLUENT, KAFKAJS, flavourOf, groupIdOfConfig } from '../src/flavour';
import { timestampMs, retryCount } from '../src/facts';
import { traceConsumer, traceKafka, traceProducer } from '../src/index';
import type { ConsumerRunConfig, ProducerBatch, ProducerRecord } from '../src/internal-types';
import { consumed, fakeConsumer, fakeProducer } from './fakes';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const confluent = require('@confluentinc/kafka-javascript') as {
  KafkaJS: Record<string, new (message: string, properties?: { code?: number }) => Error>;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const LibrdKafkaError = require('@confluentinc/kafka-javascript/lib/error') as new (e: { message: string; code: number }) => Error;

const t = setupTestTelemetry();
beforeEach(() => t.reset());

/** The librdkafka client under a Confluent KafkaJS-API client, as far as the adapter reads it. */
function internal(config: Record<string, unknown>, origBroker?: string) {
  return { globalConfig: config, _metadata: origBroker === undefined ? {} : { orig_broker_name: origBroker } };
}

let touched = 0;

/** Shaped like Confluent's KafkaJS Producer: a class, rewrites what it is given, sendBatch through this.send. */
class ConfluentLikeProducer {
  readonly received: ProducerRecord[] = [];
  inTransaction = false;
  _getInternalClient() {
    return internal({ 'client.id': 'checkout', 'bootstrap.servers': 'seed:9092,other:9092' }, 'broker-1:9093/1');
  }
  dependentAdmin() {
    return {};
  }
  get events(): never {
    touched++;
    throw new Error('Not implemented');
  }
  send(record: ProducerRecord) {
    for (const m of record.messages as unknown as Array<Record<string, unknown>>) {
      // What the real client does to each message object.
      m.partition = -1;
      m.timestamp = 0;
      m.headers = Object.entries((m.headers as object) ?? {}).map(([k, v]) => ({ [k]: v as unknown }));
    }
    this.received.push(record);
    return Promise.resolve([{ topicName: record.topic, partition: 0, errorCode: 0, baseOffset: '7' }]);
  }
  async sendBatch(batch: ProducerBatch) {
    const all = await Promise.all((batch.topicMessages ?? []).map((tm) => this.send(tm)));
    return all.flat();
  }
  transaction() {
    this.inTransaction = true;
    return Promise.resolve(this);
  }
  commit() {
    this.inTransaction = false;
    return Promise.resolve();
  }
  abort() {
    this.inTransaction = false;
    return Promise.resolve();
  }
}

/** Shaped like Confluent's KafkaJS Consumer: `events` and `on` throw. */
class ConfluentLikeConsumer {
  config: ConsumerRunConfig | undefined;
  _getInternalClient() {
    return internal({ 'client.id': 'billing', 'group.id': 'billing-group', 'bootstrap.servers': 'seed:9092' }, 'broker-2:9094/2');
  }
  dependentAdmin() {
    return {};
  }
  get events(): never {
    touched++;
    throw new Error('Not implemented');
  }
  on(): never {
    touched++;
    throw new Error('Not implemented');
  }
  run(config?: ConsumerRunConfig) {
    this.config = config;
    return Promise.resolve();
  }
  commitOffsets() {
    return Promise.resolve();
  }
}

beforeEach(() => (touched = 0));

describe("the client's own TypeScript types", () => {
  it('traceProducer, traceConsumer and traceKafka take the real Confluent classes without a cast, and patch them', () => {
    // Compiled by the typecheck with the client's own .d.ts: a signature of ours it does not satisfy fails there.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { KafkaJS } = require('@confluentinc/kafka-javascript') as typeof import('@confluentinc/kafka-javascript');
    const kafka = traceKafka(new KafkaJS.Kafka({ kafkaJS: { brokers: ['127.0.0.1:1'], logLevel: KafkaJS.logLevel.NOTHING } }));
    const producer: import('@confluentinc/kafka-javascript').KafkaJS.Producer = traceProducer(kafka.producer());
    const consumer: import('@confluentinc/kafka-javascript').KafkaJS.Consumer = traceConsumer(kafka.consumer({ kafkaJS: { groupId: 'types' } }));
    const plain = new KafkaJS.Kafka({ kafkaJS: { brokers: ['127.0.0.1:1'], logLevel: KafkaJS.logLevel.NOTHING } });
    expect(producer.send).not.toBe(plain.producer().send);
    expect(consumer.run).not.toBe(plain.consumer({ kafkaJS: { groupId: 'types' } }).run);
  });
});

describe('recognising the client', () => {
  it('tells Confluent KafkaJS-API clients from kafkajs ones by _getInternalClient and dependentAdmin', () => {
    expect(flavourOf(new ConfluentLikeProducer())).toBe(CONFLUENT);
    expect(flavourOf(new ConfluentLikeConsumer())).toBe(CONFLUENT);
    expect(flavourOf(fakeProducer().producer)).toBe(KAFKAJS);
    expect(flavourOf(fakeConsumer().consumer)).toBe(KAFKAJS);
    expect(flavourOf({ _getInternalClient: () => null })).toBe(KAFKAJS);
  });

  it('reads the group from a kafkajs config, a Confluent kafkaJS block or its librdkafka key', () => {
    expect(groupIdOfConfig({ groupId: 'a' })).toBe('a');
    expect(groupIdOfConfig({ kafkaJS: { groupId: 'b' } })).toBe('b');
    expect(groupIdOfConfig({ 'group.id': 'c' })).toBe('c');
    expect(groupIdOfConfig({ kafkaJS: null })).toBeUndefined();
    expect(groupIdOfConfig(undefined)).toBeUndefined();
  });
});

describe('what the client exposes', () => {
  it('learns client id, group and the broker of the connect metadata once connected; nothing before', () => {
    let client: ReturnType<typeof internal> | null = null;
    const consumer = { _getInternalClient: () => client, dependentAdmin: () => ({}) };
    const info = new ClientInfo();
    info.attach(consumer);
    info.refresh();
    expect(info.clientId).toBeUndefined();
    client = internal({ 'client.id': 'billing', 'group.id': 'g1', 'bootstrap.servers': 'seed:9092' }, 'broker-2:9094/2');
    info.refresh();
    expect({ clientId: info.clientId, groupId: info.groupId, address: info.serverAddress, port: info.serverPort }).toEqual({
      clientId: 'billing',
      groupId: 'g1',
      address: 'broker-2',
      port: 9094,
    });
  });

  it("takes librdkafka's default client id and the first bootstrap server while there is no metadata", () => {
    const info = new ClientInfo();
    info.attach({ _getInternalClient: () => internal({ 'bootstrap.servers': ' seed:9092 ,other:9092' }), dependentAdmin: () => ({}) });
    info.refresh();
    expect([info.clientId, info.serverAddress, info.serverPort]).toEqual(['rdkafka', 'seed', 9092]);
  });

  it('never throws, whatever the client holds', () => {
    const info = new ClientInfo();
    info.attach({
      _getInternalClient: () => {
        throw new Error('boom');
      },
      dependentAdmin: () => ({}),
    });
    expect(() => info.refresh()).not.toThrow();
  });
});

describe('error.type from librdkafka codes', () => {
  const { KafkaJS } = confluent;
  it.each([
    ['a broker error kafkajs names the same', new KafkaJS.KafkaJSProtocolError!('x', { code: 6 }), 'NOT_LEADER_FOR_PARTITION'],
    ['a broker error librdkafka names otherwise', new KafkaJS.KafkaJSProtocolError!('x', { code: 3 }), 'UNKNOWN_TOPIC_OR_PARTITION'],
    ['MSG_SIZE_TOO_LARGE', new KafkaJS.KafkaJSError!('x', { code: 10 }), 'MESSAGE_TOO_LARGE'],
    // Codes with two librdkafka names, for which the client sets type -1.
    ['COORDINATOR_NOT_AVAILABLE', new KafkaJS.KafkaJSError!('x', { code: 15 }), 'GROUP_COORDINATOR_NOT_AVAILABLE'],
    ['NOT_COORDINATOR', new KafkaJS.KafkaJSError!('x', { code: 16 }), 'NOT_COORDINATOR_FOR_GROUP'],
    ['a client-side error keeps librdkafka\'s name', new KafkaJS.KafkaJSTimeout!('x', { code: -185 }), 'ERR__TIMED_OUT'],
    ['a local message timeout', new KafkaJS.KafkaJSError!('x', { code: -192 }), 'ERR__MSG_TIMED_OUT'],
    ['ERR_UNKNOWN', new KafkaJS.KafkaJSError!('x', { code: -1 }), 'UNKNOWN'],
    // A code the client has no name for: core falls back to the class name.
    ['a code the client has no name for', new KafkaJS.KafkaJSError!('x', { code: 99999 }), undefined],
    ['a LibrdKafkaError (librdkafka refused the message itself)', new LibrdKafkaError({ message: 'Broker: Message size too large', code: 10 }), 'MESSAGE_TOO_LARGE'],
    ['a LibrdKafkaError of a local error', new LibrdKafkaError({ message: 'Local: Queue full', code: -184 }), 'ERR__QUEUE_FULL'],
  ])('%s', (_what, error, expected) => {
    expect(kafkaErrorType(error)).toBe(expected);
  });

  it('leaves kafkajs errors and handler errors as they were', () => {
    expect(kafkaErrorType({ name: 'KafkaJSProtocolError', type: 'UNKNOWN_TOPIC_OR_PARTITION', code: 3 })).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(kafkaErrorType({ name: 'KafkaJSProtocolError', type: 'UNKNOWN', code: -1 })).toBe('UNKNOWN');
    expect(kafkaErrorType(Object.assign(new Error('mine'), { code: 10, type: 'ERR_MSG_SIZE_TOO_LARGE' }))).toBeUndefined();
    expect(kafkaErrorType({ name: 'KafkaJSError', code: 'ten', type: 'ERR_X' })).toBeUndefined();
  });
});

describe('consumed messages as the Confluent client hands them over', () => {
  it('timestamps are strings, empty when the record has none', () => {
    expect(timestampMs('1764633600000')).toBe(1764633600000);
    expect(timestampMs('')).toBeUndefined();
  });

  it('headers are Buffers, a repeated key an array: the first valid count and traceparent win, nothing is joined', async () => {
    expect(retryCount({ 'x-retry-count': [Buffer.from('two'), Buffer.from('2'), Buffer.from('5')] }, ['x-retry-count'])).toBe(2);
    const consumer = traceConsumer(new ConfluentLikeConsumer());
    await consumer.run({ eachMessage: () => Promise.resolve() });
    const valid = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await consumer.config!.eachMessage!({
      topic: 'orders',
      partition: 0,
      message: consumed({ traceparent: [Buffer.from('00-garbage'), Buffer.from(valid), Buffer.from(valid.replace('b7ad', 'c7ad'))] }, { timestamp: '' }),
    });
    const [span] = t.spansNamed('process orders');
    expect(span!.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    // No timestamp: no age, so not stale.
    expect(span!.attributes['brokertrace.message.queue_time']).toBeUndefined();
    expect(span!.attributes).toMatchObject({
      'brokertrace.decision.reason': 'fresh',
      'messaging.consumer.group.name': 'billing-group',
      'messaging.client.id': 'billing',
      'server.address': 'broker-2',
      'server.port': 9094,
    });
    expect(touched).toBe(0);
  });
});

describe('producing through a client that rewrites messages', () => {
  it("hands the client copies, so the caller's messages, even without anything to inject, stay as they were", async () => {
    const producer = traceProducer(new ConfluentLikeProducer());
    const own = { value: 'v', headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } };
    const plain = { value: 'w' };
    await producer.send({ topic: 'orders', messages: [own, plain] });
    expect(own).toEqual({ value: 'v', headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });
    expect(plain).toEqual({ value: 'w' });
    const [sent] = producer.received;
    expect(sent!.messages[0]).not.toBe(own);
    expect(t.spansNamed('send orders')[0]!.attributes).toMatchObject({ 'messaging.client.id': 'checkout', 'server.address': 'broker-1', 'server.port': 9093 });
    expect(touched).toBe(0);
  });

  it('traces a sendBatch once, although the client runs it through its own send', async () => {
    const producer = traceProducer(new ConfluentLikeProducer());
    await producer.sendBatch({ topicMessages: [{ topic: 'a', messages: [{ value: '1' }] }, { topic: 'b', messages: [{ value: '2' }, { value: '3' }] }] });
    expect(t.spansNamed('send a')).toHaveLength(1);
    expect(t.spansNamed('send b')).toHaveLength(1);
    expect(t.spansNamed('create b')).toHaveLength(2);
    // The send made inside it by the client itself is not traced again, and after it ends, send is traced again.
    await producer.send({ topic: 'a', messages: [{ value: '4' }] });
    expect(t.spansNamed('send a')).toHaveLength(2);
  });

  it('follows a transaction on the producer that is its own transaction object', async () => {
    const producer = traceProducer(new ConfluentLikeProducer());
    const txn = await producer.transaction();
    expect(txn).toBe(producer);
    await txn.send({ topic: 'orders', messages: [{ value: '1' }] });
    await txn.commit();
    await producer.send({ topic: 'orders', messages: [{ value: 'after' }] });
    // commit() with no transaction open passes straight through.
    await producer.commit();

    const [inside, after] = t.spansNamed('send orders');
    expect(inside!.attributes['brokertrace.kafka.transactional']).toBe(true);
    expect(after!.attributes['brokertrace.kafka.transactional']).toBeUndefined();
    const commits = t.spansNamed('commit_transaction orders');
    expect(commits).toHaveLength(1);
    expect(commits[0]!.attributes).toMatchObject({ 'brokertrace.kafka.transaction.outcome': 'commit', 'messaging.batch.message_count': 1 });
  });
});

describe('ConfluentKafkaJsInstrumentation on a real require', () => {
  it('patches KafkaJS.Kafka when the application requires @confluentinc/kafka-javascript, and restores it', async () => {
    const { spawn } = await import('node:child_process');
    const { join } = await import('node:path');
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures', 'confluent-require.cjs')], {
      cwd: join(__dirname, '..'),
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const line = out.split('\n').find((l) => l.startsWith('RESULT '));
    expect({ code, err: line === undefined ? err : '' }).toEqual({ code: 0, err: '' });
    expect(JSON.parse(line!.slice('RESULT '.length))).toEqual({ patched: true, restored: true });
  });
});
