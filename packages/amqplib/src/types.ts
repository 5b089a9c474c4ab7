// Public configuration and hook types of @brokertrace/amqplib (validated in config.ts).
import type { MessagingInstrumentationConfig, SpanHook } from '@brokertrace/core';
import type { InstrumentationConfig } from '@opentelemetry/instrumentation';
import type { AmqpMessage } from './internal-types.js';

/** What a publish hook sees: the arguments of `publish` / `sendToQueue`, after our headers were added. */
export interface AmqplibPublishInfo {
  readonly exchange: string;
  readonly routingKey: string;
  readonly content: Uint8Array;
  /** The options as sent (a copy of the caller's, with the trace headers); do not modify. */
  readonly options: Readonly<Record<string, unknown>>;
  /** The channel has publisher confirms on (a `ConfirmChannel`): the span ends on the broker's confirm. */
  readonly confirm: boolean;
}

/** What a consume hook sees: the delivered message (do not modify) and the queue it was consumed from. */
export interface AmqplibConsumeInfo {
  readonly message: AmqpMessage;
  readonly queue: string;
}

/**
 * How a message was settled, recorded as `brokertrace.message.settlement` on its settle span and, when the
 * settlement happened while its handler ran, on its process span:
 * `ack`, `nack`, `nack_requeue`, `reject`, `reject_requeue` (also through `allUpTo`, `ackAll`, `nackAll`);
 * `auto_ack` (a `noAck` consumer: the broker settled it on delivery); `channel_closed` (the channel or its
 * connection closed while the handler ran, before the message was settled).
 */
export type AmqplibSettlement = 'ack' | 'nack' | 'nack_requeue' | 'reject' | 'reject_requeue' | 'auto_ack' | 'channel_closed';

/** What a settle hook sees, when the settle span starts. */
export interface AmqplibSettleInfo {
  /** The message passed to `ack` / `nack` / `reject`; undefined for `ackAll` / `nackAll`. */
  readonly message: AmqpMessage | undefined;
  /** The queue the message was consumed from, when known ('' otherwise). */
  readonly queue: string;
  readonly settlement: AmqplibSettlement;
  /** Messages this call settled, as far as this channel saw them delivered (1 for a single-message settle). */
  readonly messageCount: number;
}

/** Options of `traceChannel`, `traceConnection` and `AmqplibInstrumentation`. */
export interface AmqplibTraceConfig extends MessagingInstrumentationConfig {
  /** Adds attributes to the `send` span of each publish. Default: none. A throwing hook is logged, never rethrown. */
  publishHook?: SpanHook<AmqplibPublishInfo>;
  /** Adds attributes to the `process` span of each consumed message, before the handler runs. Default: none. */
  consumeHook?: SpanHook<AmqplibConsumeInfo>;
  /** Adds attributes to the settle span (`ack` / `nack` / `reject`) of each settle call. Default: none. */
  settleHook?: SpanHook<AmqplibSettleInfo>;
  /**
   * A message that carries `x-death` (it went through a dead-letter exchange) counts as replayed from a
   * dead-letter queue, so the policy links it (`redelivered`). Set `false` for retry loops built on dead-letter
   * exchanges and TTLs, so that `x-death` only counts deliveries and `policy.maxChildDeliveries` decides.
   * Default `true`.
   */
  deadLetterIsReplay?: boolean;
  /**
   * Classic queues only say `redelivered`, not how often: this process counts the redeliveries it sees of each
   * message (by message id, else its trace context, else a digest of its content) in a bounded memory.
   * Default `{ maxEntries: 10000, ttlMs: 600000 }`; `false` turns counting off (every redelivery then counts 2).
   */
  redeliveryTracking?: { maxEntries?: number; ttlMs?: number } | false;
  /**
   * `'always'`: a settle span per `ack` / `nack` / `reject` / `ackAll` / `nackAll` call, as the messaging conventions
   * ask. `'outside-handler'`: a settlement made while the handler of every message it covers still runs is recorded
   * on those process spans only (`brokertrace.message.settlement`, which they carry either way), with no settle span
   * and so no `messaging.client.operation.duration` for it (amqplib's ack waits for no broker answer: the span would
   * time a buffered write); settlements after the handler returned still get their settle span. Default `'always'`.
   */
  settleSpans?: 'always' | 'outside-handler';
}

/** Options of {@link AmqplibInstrumentation}: the tracing options plus `enabled`. */
export interface AmqplibInstrumentationConfig extends AmqplibTraceConfig, InstrumentationConfig {}
