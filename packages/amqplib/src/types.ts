// Public configuration of @brokertrace/amqplib.
import { BrokerTraceConfigError, type MessagingInstrumentationConfig, type SpanHook } from '@brokertrace/core';
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
 * How a process span ended, recorded as `brokertrace.message.settlement`:
 * `ack`, `nack`, `nack_requeue`, `reject`, `reject_requeue` (settled on the channel, also through `allUpTo`,
 * `ackAll`, `nackAll`); `auto_ack` (a `noAck` consumer's handler finished); `channel_closed` (the channel or its
 * connection closed before the message was settled).
 */
export type AmqplibSettlement = 'ack' | 'nack' | 'nack_requeue' | 'reject' | 'reject_requeue' | 'auto_ack' | 'channel_closed';

/** What a settle hook sees, just before the process span ends. */
export interface AmqplibSettleInfo extends AmqplibConsumeInfo {
  readonly settlement: AmqplibSettlement;
}

/** Options of `traceChannel`, `traceConnection` and `AmqplibInstrumentation`. */
export interface AmqplibTraceConfig extends MessagingInstrumentationConfig {
  /** Adds attributes to the `send` span of each publish. Default: none. A throwing hook is logged, never rethrown. */
  publishHook?: SpanHook<AmqplibPublishInfo>;
  /** Adds attributes to the `process` span of each consumed message, before the handler runs. Default: none. */
  consumeHook?: SpanHook<AmqplibConsumeInfo>;
  /** Adds attributes to the `process` span when the message is settled, just before the span ends. Default: none. */
  settleHook?: SpanHook<AmqplibSettleInfo>;
  /**
   * A message that carries `x-death` (it went through a dead-letter exchange) counts as replayed from a
   * dead-letter queue, so the policy links it (`redelivered`). Set `false` for retry loops built on dead-letter
   * exchanges and TTLs, so that `x-death` only counts deliveries and `policy.maxChildDeliveries` decides.
   * Default `true`.
   */
  deadLetterIsReplay?: boolean;
}

/** Options of {@link AmqplibInstrumentation}: the tracing options plus `enabled`. */
export interface AmqplibInstrumentationConfig extends AmqplibTraceConfig, InstrumentationConfig {}

/** Checks this package's own options (core checks the shared ones); throws naming the option. */
export function validateAmqplibConfig(config: AmqplibTraceConfig): void {
  for (const hook of ['publishHook', 'consumeHook', 'settleHook'] as const) {
    const value: unknown = config[hook];
    if (value !== undefined && typeof value !== 'function') {
      throw new BrokerTraceConfigError(hook, `must be a function, got ${typeof value}`);
    }
  }
  const replay: unknown = config.deadLetterIsReplay;
  if (replay !== undefined && typeof replay !== 'boolean') {
    throw new BrokerTraceConfigError('deadLetterIsReplay', `must be a boolean, got ${typeof replay}`);
  }
}
