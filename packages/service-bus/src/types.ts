// The public options and hook shapes of @brokertrace/service-bus (traceSender, traceReceiver,
// traceServiceBusClient, ServiceBusInstrumentation), with their defaults.
import type { MessagingInstrumentationConfig, SpanHook } from '@brokertrace/core';
import type { InstrumentationConfig } from '@opentelemetry/instrumentation';
import type { ReceivedMessageLike, ServiceBusMessageLike } from './internal-types.js';

export type { ApplicationPropertyValue, LongLike, ReceivedMessageLike, ServiceBusMessageLike } from './internal-types.js';

/** Operation names of the producer side (`messaging.operation.name`). */
export type SendOperation = 'send' | 'schedule';
/** Operation names of the pull APIs. */
export type ReceiveOperation = 'receive' | 'peek' | 'receive_deferred';
/** Operation names of settlement (and lock renewal, which holds a message as settlement does). */
export type SettleOperation = 'complete' | 'abandon' | 'defer' | 'dead_letter' | 'renew_message_lock';

/** What the producer hook sees: one message as it goes out (a copy, with our context in its properties). */
export interface ServiceBusProducerHookInfo {
  /** Queue or topic name. */
  readonly destination: string;
  readonly message: Readonly<ServiceBusMessageLike>;
}

/** What the send hook sees: one `sendMessages` / `scheduleMessages` call. */
export interface ServiceBusSendHookInfo {
  readonly destination: string;
  readonly operation: SendOperation;
  readonly messageCount: number;
}

/** What the consumer hook sees: one message handed to a `subscribe()` handler. */
export interface ServiceBusConsumerHookInfo {
  /** Queue or topic name. */
  readonly destination: string;
  /** Subscription name (topics), with `/$DeadLetterQueue` for its dead-letter sub-queue. */
  readonly subscription: string | undefined;
  readonly message: Readonly<ReceivedMessageLike>;
}

/** What the receive hook sees: the messages one pull call returned. */
export interface ServiceBusReceiveHookInfo {
  readonly destination: string;
  readonly subscription: string | undefined;
  readonly operation: ReceiveOperation;
  readonly messages: ReadonlyArray<Readonly<ReceivedMessageLike>>;
}

/** What the settle hook sees: one settlement (explicit or the client's automatic one). */
export interface ServiceBusSettleHookInfo {
  readonly destination: string;
  readonly subscription: string | undefined;
  readonly operation: SettleOperation;
  readonly message: Readonly<ReceivedMessageLike>;
  /** The client settled it by itself (`subscribe()` auto-complete, or abandon after a throwing handler). */
  readonly automatic: boolean;
}

/** Options of `traceSender`, `traceReceiver`, `traceServiceBusClient` and `ServiceBusInstrumentation`. */
export interface ServiceBusConfig extends MessagingInstrumentationConfig {
  /**
   * Also write the context as the `Diagnostic-Id` application property (the W3C traceparent value the Azure
   * SDKs read in every language), so .NET, Java and Python consumers continue our traces, and so that Azure's
   * own tracing, when registered, sees the message as instrumented and adds no second context. A message that
   * already carries `Diagnostic-Id` keeps it. Costs about 70 bytes of the 64 KB header. Default `true`.
   */
  writeDiagnosticId?: boolean;
  /** Adds attributes to the span that carries a message's context (`create`, or `send`/`schedule` for one message). */
  producerHook?: SpanHook<ServiceBusProducerHookInfo>;
  /** Adds attributes to each `send` / `schedule` span. */
  sendHook?: SpanHook<ServiceBusSendHookInfo>;
  /** Adds attributes to each `process` span. */
  consumerHook?: SpanHook<ServiceBusConsumerHookInfo>;
  /** Adds attributes to each `receive` / `peek` / `receive_deferred` span. */
  receiveHook?: SpanHook<ServiceBusReceiveHookInfo>;
  /** Adds attributes to each settle span (`complete`, `abandon`, `defer`, `dead_letter`, `renew_message_lock`). */
  settleHook?: SpanHook<ServiceBusSettleHookInfo>;
}

/** Options of {@link ServiceBusInstrumentation}: {@link ServiceBusConfig} plus `enabled`. */
export interface ServiceBusInstrumentationConfig extends ServiceBusConfig, InstrumentationConfig {}
