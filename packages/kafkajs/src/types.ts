import type { MessagingInstrumentationConfig, SpanHook } from '@brokertrace/core';
import type { InstrumentationConfig } from '@opentelemetry/instrumentation';
import type { ConsumedMessage, ProducerMessage } from './internal-types.js';

export type { ConsumedMessage, ProducerMessage, KafkaHeaders, KafkaHeaderValue } from './internal-types.js';

/**
 * What the producer hook sees: one message. For a single-message send, as it goes out (with our headers); for a
 * create span of a multi-message send, as the caller built it (the create span ends when its context is injected).
 */
export interface KafkaProducerHookInfo {
  readonly topic: string;
  readonly message: ProducerMessage;
}

/** What the consumer hook sees: one message handed to user code. */
export interface KafkaConsumerHookInfo {
  readonly topic: string;
  readonly partition: number;
  readonly message: ConsumedMessage;
}

/** What the batch hook sees: the batch of an `eachBatch` call (its `process` span). */
export interface KafkaBatchHookInfo {
  readonly topic: string;
  readonly partition: number;
  readonly messages: ReadonlyArray<ConsumedMessage>;
}

/** Bounds of the memory that remembers which offsets this consumer has already been handed. */
export interface DeliveryTracking {
  /** Most offsets remembered per traced consumer; the oldest are forgotten first. Default 10000. */
  maxEntries?: number;
  /** How long an offset is remembered, in ms. Default 600000 (10 minutes). */
  ttlMs?: number;
}

/** Options of `traceProducer`, `traceConsumer` and `KafkaJsInstrumentation`. */
export interface KafkaJsConfig extends MessagingInstrumentationConfig {
  /**
   * `messaging.client.id` on every span. Default: the `clientId` the Kafka client was built with, learned from
   * the client's first request (spans before that carry none), together with the broker's address
   * (`server.address`/`server.port`).
   */
  clientId?: string;
  /**
   * Put the message key on spans as `messaging.kafka.message.key` (Buffers only when valid UTF-8). Keys can hold
   * personal data: turn this off when they do. Default `true`.
   */
  captureMessageKey?: boolean;
  /**
   * Headers that retry-topic patterns use to count earlier failed attempts of a message. The first one present
   * (a decimal string, or a 4- or 8-byte big-endian integer) adds to the delivery count: delivery count =
   * earlier attempts + times this consumer has been handed the offset. Spring Kafka's `retry_topic-attempts`
   * holds the number of the current attempt, so one less is taken from it.
   * Default `['x-retry-count', 'retry-count', 'retry_topic-attempts']`.
   */
  retryCountHeaders?: ReadonlyArray<string>;
  /**
   * Headers whose presence says the message was replayed from a dead-letter topic (the policy links such
   * messages, reason `redelivered`). Default `['kafka_dlt-original-topic']` (Spring Kafka's dead-letter publisher).
   */
  deadLetterHeaders?: ReadonlyArray<string>;
  /**
   * How many re-delivered offsets each consumer remembers, to count their deliveries (an offset at or below the
   * highest one a partition has handed over is a re-delivery). Default `{ maxEntries: 10000, ttlMs: 600000 }`.
   */
  deliveryTracking?: DeliveryTracking;
  /**
   * The most bytes one record may take (the producer's `max.request.size` / the topic's `max.message.bytes`):
   * our headers are fitted into what the message's key, value and headers leave of it. Default 1048576.
   */
  maxRecordBytes?: number;
  /** Adds attributes to the span that carries a message's context (`create`, or `send` for a single message). */
  producerHook?: SpanHook<KafkaProducerHookInfo>;
  /** Adds attributes to each `process` span. */
  consumerHook?: SpanHook<KafkaConsumerHookInfo>;
  /** Adds attributes to the `process` span of each `eachBatch` call (the one over the whole batch). */
  batchHook?: SpanHook<KafkaBatchHookInfo>;
}

/** Options of {@link KafkaJsInstrumentation}: {@link KafkaJsConfig} plus `enabled`. */
export interface KafkaJsInstrumentationConfig extends KafkaJsConfig, InstrumentationConfig {}
