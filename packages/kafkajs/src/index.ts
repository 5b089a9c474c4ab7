// @brokertrace/kafkajs: one trace from kafkajs producers to every consumer; the same for the KafkaJS-compatible API
// of @confluentinc/kafka-javascript (one code path: what differs is described in flavour.ts).
import type { ConsumedBatch, KafkaConsumer, KafkaProducer } from './internal-types.js';
import { isPatched, onUnpatch, patchMethods, unpatchMethods } from '@brokertrace/core';
import { ClientInfo } from './client-info.js';
import { withClusterOf } from './cluster.js';
import { groupIdOfConfig } from './flavour.js';
import { KafkaTracing } from './tracing.js';
import type { KafkaJsConfig } from './types.js';
import { recognised, wrapConsumer, wrapProducer } from './wrap.js';

export { ConfluentKafkaJsInstrumentation, KafkaJsInstrumentation } from './instrumentation.js';
export { TESTED_CONFLUENT_VERSIONS, TESTED_KAFKAJS_VERSIONS } from './version.js';
export { traceBatchMessage } from './consumer.js';
export { ATTR_BROKERTRACE_KAFKA_COMMIT_PARTITIONS, ATTR_BROKERTRACE_KAFKA_TRANSACTIONAL } from './attributes.js';
export { ATTR_BROKERTRACE_KAFKA_TRANSACTION_OUTCOME } from './transaction.js';
export { DEFAULT_DEAD_LETTER_HEADERS, DEFAULT_DELIVERY_TRACKING, DEFAULT_MAX_RECORD_BYTES, DEFAULT_RETRY_COUNT_HEADERS } from './config.js';
export type {
  ConsumedMessage,
  DeliveryTracking,
  KafkaBatchHookInfo,
  KafkaConsumerHookInfo,
  KafkaHeaders,
  KafkaHeaderValue,
  KafkaJsConfig,
  KafkaJsInstrumentationConfig,
  KafkaProducerHookInfo,
  ProducerMessage,
} from './types.js';
export type { KafkaConsumer, KafkaProducer, ConsumedBatch };

/**
 * Traces a kafkajs producer (or one of `@confluentinc/kafka-javascript`'s KafkaJS API) in place and returns it:
 * `send`, `sendBatch` and `transaction()` (its sends, `commit` and `abort`). A producer already traced (by an earlier call or by `KafkaJsInstrumentation`) is
 * returned as it is. Throws `BrokerTraceConfigError` for a bad option, naming it.
 *
 * @example
 * const producer = traceProducer(kafka.producer(), { createSpans: true });
 */
export function traceProducer<P extends KafkaProducer>(producer: P, config?: KafkaJsConfig): P {
  let on = true;
  if (wrapProducer(producer, new KafkaTracing(config, () => on))) onUnpatch(producer, () => (on = false));
  return producer;
}

/**
 * Traces a kafkajs consumer (or one of `@confluentinc/kafka-javascript`'s KafkaJS API) in place and returns it: the handlers given to `run` (`eachMessage`, `eachBatch`)
 * and `commitOffsets`. Call it before `run`. A consumer already traced is returned as it is; so is anything without `run`, after
 * one `diag.warn` (never a throw). Throws
 * `BrokerTraceConfigError` for a bad option, naming it.
 *
 * @example
 * const consumer = traceConsumer(kafka.consumer({ groupId: 'billing' }));
 */
export function traceConsumer<C extends KafkaConsumer>(consumer: C, config?: KafkaJsConfig): C {
  // untraceConsumer also silences the handlers a running consumer already holds.
  let on = true;
  if (wrapConsumer(consumer, new KafkaTracing(config, () => on))) onUnpatch(consumer, () => (on = false));
  return consumer;
}

/** A kafkajs `Kafka` client (or Confluent's `KafkaJS.Kafka`), as far as {@link traceKafka} touches it. */
export interface KafkaClientFactory {
  producer(...args: never[]): unknown;
  consumer(...args: never[]): unknown;
}

/**
 * Traces every producer and consumer a kafkajs `Kafka` instance creates from now on, in place, and returns it:
 * like {@link traceProducer} / {@link traceConsumer}, and also catching the cluster object kafkajs builds for each
 * client, so that spans carry `messaging.kafka.cluster.id` and a broker without record headers is known before
 * the first send (the explicit form of what `KafkaJsInstrumentation` does). Clients made earlier are left as
 * they are. `untraceKafka` restores the instance. Throws `BrokerTraceConfigError` for a bad option, naming it.
 *
 * @example
 * const kafka = traceKafka(new Kafka({ clientId: 'checkout', brokers }));
 * const producer = kafka.producer(); // traced
 */
export function traceKafka<K extends KafkaClientFactory>(kafka: K, config?: KafkaJsConfig): K {
  if (!recognised(kafka, 'Kafka client', ['producer', 'consumer']) || isPatched(kafka)) return kafka;
  let on = true;
  const tracing = new KafkaTracing(config, () => on);
  const patched = patchMethods(kafka, {
    producer: (original) =>
      function producer(this: unknown, ...args: unknown[]): unknown {
        const { client, cluster } = withClusterOf(this, () => (original).apply(this, args));
        if (on) wrapProducer(client, tracing, new ClientInfo({ cluster }));
        return client;
      },
    consumer: (original) =>
      function consumer(this: unknown, ...args: unknown[]): unknown {
        const { client, cluster } = withClusterOf(this, () => (original).apply(this, args));
        const info = new ClientInfo({ cluster, groupId: groupIdOfConfig(args[0]) });
        if (on) wrapConsumer(client, tracing, info);
        return client;
      },
  });
  if (patched) onUnpatch(kafka, () => (on = false));
  return kafka;
}

/** Restores a `Kafka` instance traced by {@link traceKafka} (its clients pass calls straight through); false if it was not traced. */
export function untraceKafka(kafka: KafkaClientFactory): boolean {
  return unpatchMethods(kafka);
}

/** Restores a producer traced by {@link traceProducer} to its original methods; returns false if it was not traced. */
export function untraceProducer(producer: KafkaProducer): boolean {
  return unpatchMethods(producer);
}

/** Restores a consumer traced by {@link traceConsumer} to its original methods; returns false if it was not traced. */
export function untraceConsumer(consumer: KafkaConsumer): boolean {
  return unpatchMethods(consumer);
}
