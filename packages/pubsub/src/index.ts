// @brokertrace/pubsub: one trace from Google Cloud Pub/Sub publishers (@google-cloud/pubsub 6.x) to every subscriber.
import { onUnpatch, unpatchMethods } from '@brokertrace/core';
import type { PubSubLike, SubscriptionLike, TopicLike } from './internal-types.js';
import { PubSubTracing } from './tracing.js';
import type { PubSubConfig } from './types.js';
import { wrapPubSub, wrapSubscription, wrapTopic } from './wrap.js';

export { PubSubInstrumentation, SUPPORTED_VERSIONS } from './instrumentation.js';
export { TESTED_PUBSUB_VERSIONS } from './version.js';
export { DEFAULT_WRITE_GOOGCLIENT_TRACEPARENT } from './config.js';
export { PROCESS_OPERATION } from './subscribe.js';
export { isAcceptedKey } from './attributes.js';
export {
  ATTR_BROKERTRACE_GCP_PUBSUB_ACK_RESPONSE,
  ATTR_BROKERTRACE_GCP_PUBSUB_DEAD_LETTER_SOURCE_DELIVERY_COUNT,
  ATTR_BROKERTRACE_GCP_PUBSUB_DEAD_LETTER_SOURCE_SUBSCRIPTION,
  ATTR_BROKERTRACE_GCP_PUBSUB_EXACTLY_ONCE_DELIVERY,
} from './attributes.js';
export type {
  PubSubAttributes,
  PubSubConfig,
  PubSubInstrumentationConfig,
  PubSubProcessHookInfo,
  PubSubPublishHookInfo,
  PubSubSendHookInfo,
  PublishMessage,
  ReceivedMessage,
} from './types.js';
export type { PubSubLike, SubscriptionLike, TopicLike };

function traced<T extends object>(target: T, config: PubSubConfig | undefined, wrap: (target: T, tracing: PubSubTracing) => boolean): T {
  let on = true;
  if (wrap(target, new PubSubTracing(config, () => on))) onUnpatch(target, () => (on = false));
  return target;
}

/**
 * Traces a Topic in place and returns it: every publish path (`publishMessage`, `publish`, `publishJSON`,
 * `flowControlled()`), with a `create` span per message and a `send` span per batch RPC. A topic already traced
 * is returned as it is. Throws `BrokerTraceConfigError` for a bad option, naming it.
 *
 * @example
 * const topic = traceTopic(pubsub.topic('orders'));
 * await topic.publishMessage({ data: Buffer.from('hello') });
 */
export function traceTopic<T extends TopicLike>(topic: T, config?: PubSubConfig): T {
  return traced(topic, config, wrapTopic);
}

/**
 * Traces a Subscription in place and returns it: each `message` listener added from now on gets a
 * `subscribe` (process) span per message, and the message's ack/nack/modAck calls settle spans.
 *
 * @example
 * traceSubscription(pubsub.subscription('billing')).on('message', (message) => { handle(message); message.ack(); });
 */
export function traceSubscription<S extends SubscriptionLike>(subscription: S, config?: PubSubConfig): S {
  return traced(subscription, config, wrapSubscription);
}

/**
 * Traces every Topic and Subscription a PubSub client hands out from now on (`topic()`, `subscription()`, and
 * so `createTopic`, `getTopics`, `topic.subscription()`...), all with one configuration.
 *
 * @example
 * const pubsub = tracePubSub(new PubSub());
 */
export function tracePubSub<P extends PubSubLike>(pubsub: P, config?: PubSubConfig): P {
  return traced(pubsub, config, wrapPubSub);
}

/** Restores a topic traced by {@link traceTopic}; returns false if it was not traced. */
export function untraceTopic(topic: TopicLike): boolean {
  return unpatchMethods(topic);
}

/** Restores a subscription traced by {@link traceSubscription}; listeners already added stay wrapped but pass straight through. */
export function untraceSubscription(subscription: SubscriptionLike): boolean {
  return unpatchMethods(subscription);
}

/** Stops tracing what a PubSub client hands out (objects already traced stay traced); false if it was not traced. */
export function untracePubSub(pubsub: PubSubLike): boolean {
  return unpatchMethods(pubsub);
}
