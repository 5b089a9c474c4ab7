// @brokertrace/kafkajs: one trace from kafkajs producers to every consumer.
import type { ConsumedBatch, KafkaConsumer, KafkaProducer } from './internal-types.js';
import { onUnpatch, unpatchMethods } from '@brokertrace/core';
import { KafkaTracing } from './tracing.js';
import type { KafkaJsConfig } from './types.js';
import { wrapConsumer, wrapProducer } from './wrap.js';

export { KafkaJsInstrumentation } from './instrumentation.js';
export { traceBatchMessage } from './consumer.js';
export { ATTR_BROKERTRACE_KAFKA_TRANSACTIONAL } from './attributes.js';
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
 * Traces a kafkajs producer in place and returns it: `send`, `sendBatch` and `transaction()` (its sends,
 * `commit` and `abort`). A producer already traced (by an earlier call or by `KafkaJsInstrumentation`) is
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
 * Traces a kafkajs consumer in place and returns it: the handlers given to `run` (`eachMessage`, `eachBatch`)
 * and `commitOffsets`. Call it before `run`. A consumer already traced is returned as it is. Throws
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

/** Restores a producer traced by {@link traceProducer} to its original methods; returns false if it was not traced. */
export function untraceProducer(producer: KafkaProducer): boolean {
  return unpatchMethods(producer);
}

/** Restores a consumer traced by {@link traceConsumer} to its original methods; returns false if it was not traced. */
export function untraceConsumer(consumer: KafkaConsumer): boolean {
  return unpatchMethods(consumer);
}
