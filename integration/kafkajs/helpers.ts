// Shared pieces of the kafkajs integration tests: clients on the harness's broker, topics, and waiting for
// messages by event (never by sleeping). CLIENTS holds the two client libraries @brokertrace/kafkajs traces, kafkajs
// and the KafkaJS-compatible API of @confluentinc/kafka-javascript, behind one factory, so that a test written once
// runs against both (`describe.each(CLIENTS)`).
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { Consumer, ConsumerConfig, KafkaMessage, Producer } from 'kafkajs';
import { kafka } from '../harness/index.js';
export { Countdown } from '../harness/countdown.js';

export async function kafkaClient(clientId: string): Promise<Kafka> {
  const { brokers } = await kafka();
  return new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING });
}

export async function createTopics(client: Kafka, topics: string[], numPartitions = 1): Promise<void> {
  const admin = client.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions })), waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/** A consumer subscribed from the beginning of `topics`, connected; the caller traces it and runs it. */
export async function subscribedConsumer(client: Kafka, topics: string[], config: Partial<ConsumerConfig> & { groupId: string }): Promise<Consumer> {
  const consumer = client.consumer({ maxWaitTimeInMs: 100, ...config });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  return consumer;
}

export function headerString(message: KafkaMessage, key: string): string | undefined {
  const value = message.headers?.[key];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

/** The Confluent client is a dev dependency of @brokertrace/kafkajs (the integration package does not list it). */
const fromKafkajsPackage = createRequire(join(__dirname, '../../packages/kafkajs/package.json'));

/** The part of `require('@confluentinc/kafka-javascript').KafkaJS` the tests use. */
export interface ConfluentKafkaJS {
  Kafka: {
    new (config: Record<string, unknown>): { producer(config?: object): unknown; consumer(config?: object): unknown };
    prototype: { producer: unknown; consumer: unknown };
  };
  logLevel: { NOTHING: number };
}

/** `require('@confluentinc/kafka-javascript')`, loaded once a test asks for it. */
export function confluentModule(): { KafkaJS: ConfluentKafkaJS } {
  return fromKafkajsPackage('@confluentinc/kafka-javascript') as { KafkaJS: ConfluentKafkaJS };
}

/** A Confluent KafkaJS-API `Kafka` instance on the harness's broker. */
export async function confluentClient(clientId: string): Promise<InstanceType<ConfluentKafkaJS['Kafka']>> {
  const { brokers } = await kafka();
  const { KafkaJS } = confluentModule();
  return new KafkaJS.Kafka({ kafkaJS: { clientId, brokers, logLevel: KafkaJS.logLevel.NOTHING } });
}

export interface ProducerOptions {
  /** Retries of a failed send (kafkajs `retry.retries`, librdkafka `retries`). */
  retries?: number;
  /** A transactional producer (idempotent, one request in flight). */
  transactionalId?: string;
}

export interface ConsumerOptions {
  groupId: string;
  /** Default false: read committed, as both clients do by default. */
  readUncommitted?: boolean;
  /** Confluent: librdkafka keys of the consumer config (e.g. `js.consumer.max.batch.size`). */
  librdkafka?: Record<string, unknown>;
}

/**
 * One client library as the tests see it. Both hand out objects with the kafkajs API the tests use (`send`,
 * `sendBatch`, `transaction`, `run`, `commitOffsets`, `connect`, `disconnect`), typed as kafkajs's.
 */
export interface ClientLibrary {
  readonly name: 'kafkajs' | 'confluent';
  /** Whether the client reports its automatic commits (kafkajs's COMMIT_OFFSETS event; librdkafka commits unseen). */
  readonly seesAutomaticCommits: boolean;
  /** Whether the client exposes the cluster id (kafkajs's cluster metadata, with traceKafka or the instrumentation). */
  readonly exposesClusterId: boolean;
  /** A producer of a client named `clientId`, not connected. */
  producer(clientId: string, options?: ProducerOptions): Promise<Producer>;
  /** A consumer subscribed from the beginning of `topics`, connected; the caller traces it and runs it. */
  consumer(clientId: string, topics: string[], options: ConsumerOptions): Promise<Consumer>;
}

export const KAFKAJS: ClientLibrary = {
  name: 'kafkajs',
  seesAutomaticCommits: true,
  exposesClusterId: true,
  async producer(clientId, options = {}) {
    const { retries, transactionalId } = options;
    return (await kafkaClient(clientId)).producer({
      ...(retries === undefined ? {} : { retry: { retries } }),
      ...(transactionalId === undefined ? {} : { transactionalId, idempotent: true, maxInFlightRequests: 1 }),
    });
  },
  async consumer(clientId, topics, options) {
    const { groupId, readUncommitted = false } = options;
    // Quick retries after a handler throws (the redelivery test), as Confluent's consumer seeks back at once.
    return subscribedConsumer(await kafkaClient(clientId), topics, { groupId, readUncommitted, retry: { initialRetryTime: 50, retries: 10 } });
  },
};

export const CONFLUENT: ClientLibrary = {
  name: 'confluent',
  seesAutomaticCommits: false,
  exposesClusterId: false,
  async producer(clientId, options = {}) {
    const { retries, transactionalId } = options;
    const kafkaJS = {
      ...(retries === undefined ? {} : { retry: { retries } }),
      ...(transactionalId === undefined ? {} : { transactionalId, idempotent: true, maxInFlightRequests: 1 }),
    };
    // librdkafka refuses messages over 1,000,000 bytes itself by default: up to the broker's own limit (Kafka's
    // default message.max.bytes), so that the broker decides as it does for kafkajs.
    return (await confluentClient(clientId)).producer({ kafkaJS, 'message.max.bytes': 1048588 }) as Producer;
  },
  async consumer(clientId, topics, options) {
    const { groupId, readUncommitted = false, librdkafka = {} } = options;
    const consumer = (await confluentClient(clientId)).consumer({
      kafkaJS: { groupId, fromBeginning: true, maxWaitTimeInMs: 100, readUncommitted },
      ...librdkafka,
    }) as Consumer;
    await consumer.connect();
    await consumer.subscribe({ topics });
    return consumer;
  },
};

/** Both client libraries, for `describe.each(CLIENTS)('$name', (lib) => ...)`. */
export const CLIENTS: ReadonlyArray<ClientLibrary> = [KAFKAJS, CONFLUENT];
