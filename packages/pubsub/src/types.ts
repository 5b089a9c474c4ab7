// The public configuration of @brokertrace/pubsub: core's shared options plus the Pub/Sub ones, with defaults.
import type { MessagingInstrumentationConfig, SpanHook } from '@brokertrace/core';
import type { InstrumentationConfig } from '@opentelemetry/instrumentation';
import type { PublishMessage, ReceivedMessage } from './internal-types.js';

export type { PublishMessage, ReceivedMessage, PubSubAttributes } from './internal-types.js';

/** What the publish hook sees: one message as it goes to the client's batching (our attributes added). */
export interface PubSubPublishHookInfo {
  /** The topic id (`orders`, not `projects/p/topics/orders`). */
  readonly topic: string;
  readonly message: Readonly<PublishMessage>;
}

/** What the send hook sees: one batch publish RPC. */
export interface PubSubSendHookInfo {
  readonly topic: string;
  /** How many messages the RPC carries. */
  readonly messageCount: number;
  /** The ordering key of the batch (all messages of an ordered batch share it), if any. */
  readonly orderingKey: string | undefined;
}

/** What the process hook sees: one message handed to a `message` listener. */
export interface PubSubProcessHookInfo {
  /** The subscription id (`billing`, not `projects/p/subscriptions/billing`). */
  readonly subscription: string;
  readonly message: ReceivedMessage;
}

/** Options of `traceTopic`, `traceSubscription`, `tracePubSub` and `PubSubInstrumentation`. */
export interface PubSubConfig extends MessagingInstrumentationConfig {
  /**
   * Also write the context as `googclient_traceparent` (and `googclient_tracestate` when there is one), the keys
   * Google's Pub/Sub client libraries read in every language with their OpenTelemetry tracing on, so those
   * consumers continue our traces. Costs one or two of the message's 100 attributes. Default `false`.
   */
  writeGoogclientTraceparent?: boolean;
  /** Adds attributes to each message's `create` span (or its `send` span with `createSpans: false`). */
  publishHook?: SpanHook<PubSubPublishHookInfo>;
  /** Adds attributes to the `send` span of each batch publish RPC. */
  sendHook?: SpanHook<PubSubSendHookInfo>;
  /** Adds attributes to each `subscribe` (process) span. */
  processHook?: SpanHook<PubSubProcessHookInfo>;
}

/** Options of {@link PubSubInstrumentation}: {@link PubSubConfig} plus `enabled`. */
export interface PubSubInstrumentationConfig extends PubSubConfig, InstrumentationConfig {}
