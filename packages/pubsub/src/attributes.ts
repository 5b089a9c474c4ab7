// Which message attribute keys Pub/Sub accepts from us, Pub/Sub resource names, and this package's own span
// attribute names.
import { GOOGCLIENT_TRACEPARENT, GOOGCLIENT_TRACESTATE } from '@brokertrace/core';

/** Dead-letter facts the service adds to a message it forwards to a dead-letter topic. */
export const DEAD_LETTER_SOURCE_SUBSCRIPTION = 'CloudPubSubDeadLetterSourceSubscription';
export const DEAD_LETTER_SOURCE_DELIVERY_COUNT = 'CloudPubSubDeadLetterSourceDeliveryCount';
export const DEAD_LETTER_SOURCE_SUBSCRIPTION_PROJECT = 'CloudPubSubDeadLetterSourceSubscriptionProject';
export const DEAD_LETTER_SOURCE_TOPIC_PUBLISH_TIME = 'CloudPubSubDeadLetterSourceTopicPublishTime';

/** Process span: the subscription the dead-lettered message was forwarded from. */
export const ATTR_BROKERTRACE_GCP_PUBSUB_DEAD_LETTER_SOURCE_SUBSCRIPTION = 'brokertrace.gcp_pubsub.dead_letter.source_subscription';
/** Process span: how many times it was delivered there before it was forwarded. */
export const ATTR_BROKERTRACE_GCP_PUBSUB_DEAD_LETTER_SOURCE_DELIVERY_COUNT = 'brokertrace.gcp_pubsub.dead_letter.source_delivery_count';
/** Settle span of a `*WithResponse` call: the client's AckResponse (`SUCCESS`, `INVALID`, `PERMISSION_DENIED`...). */
export const ATTR_BROKERTRACE_GCP_PUBSUB_ACK_RESPONSE = 'brokertrace.gcp_pubsub.ack_response';
/** Settle span: the client was asked to wait for the service's answer (exactly-once delivery). */
export const ATTR_BROKERTRACE_GCP_PUBSUB_EXACTLY_ONCE_DELIVERY = 'brokertrace.gcp_pubsub.exactly_once_delivery';

/**
 * The `googclient_` keys the service is known to accept: Google's own client libraries write them (Node, Go,
 * Java, Python). Every other key starting with `goog` (any case) is rejected with INVALID_ARGUMENT, failing the
 * whole batch the message is in.
 */
export const ACCEPTED_GOOG_KEYS: ReadonlySet<string> = new Set([GOOGCLIENT_TRACEPARENT, GOOGCLIENT_TRACESTATE]);

/** False for a key the service would reject (`goog*` except {@link ACCEPTED_GOOG_KEYS}, or empty). */
export function isAcceptedKey(key: string): boolean {
  if (key === '') return false;
  if (key.length >= 4 && key.slice(0, 4).toLowerCase() === 'goog') return ACCEPTED_GOOG_KEYS.has(key);
  return true;
}

/** `projects/p/topics/orders` -> `orders`; a name without the prefix is returned as it is. */
export function topicId(name: unknown): string {
  return resourceId(name, '/topics/');
}

/** `projects/p/subscriptions/billing` -> `billing`. */
export function subscriptionId(name: unknown): string {
  return resourceId(name, '/subscriptions/');
}

function resourceId(name: unknown, marker: string): string {
  if (typeof name !== 'string') return '';
  const i = name.lastIndexOf(marker);
  return i < 0 ? name : name.slice(i + marker.length);
}
