// What a received Pub/Sub message says about itself, for core's child-or-link policy and for its process span:
// publishTime, deliveryAttempt (0 means unknown), id, orderingKey and the dead-letter source attributes.
import {
  ATTR_MESSAGING_GCP_PUBSUB_MESSAGE_ACK_ID,
  ATTR_MESSAGING_GCP_PUBSUB_MESSAGE_DELIVERY_ATTEMPT,
  ATTR_MESSAGING_GCP_PUBSUB_MESSAGE_ORDERING_KEY,
  ATTR_MESSAGING_MESSAGE_ID,
} from '@brokertrace/core';
import type { MessageFacts } from '@brokertrace/core';
import type { Attributes } from '@opentelemetry/api';
import {
  ATTR_BROKERTRACE_GCP_PUBSUB_DEAD_LETTER_SOURCE_DELIVERY_COUNT,
  ATTR_BROKERTRACE_GCP_PUBSUB_DEAD_LETTER_SOURCE_SUBSCRIPTION,
  DEAD_LETTER_SOURCE_DELIVERY_COUNT,
  DEAD_LETTER_SOURCE_SUBSCRIPTION,
} from './attributes.js';
import type { ReceivedMessage } from './internal-types.js';

/** Longest message id we report (the service's are decimal numbers; a hand-made message may hold anything). */
const MAX_ID_LENGTH = 256;

function field<K extends keyof ReceivedMessage>(message: ReceivedMessage, key: K): ReceivedMessage[K] | undefined {
  try {
    return message[key];
  } catch {
    return undefined;
  }
}

/** `publishTime` in ms since the epoch; undefined when absent or not a valid time. */
export function publishTimeMs(message: ReceivedMessage): number | undefined {
  const time = field(message, 'publishTime');
  if (time === null || typeof time !== 'object') return undefined;
  let ms: unknown;
  try {
    ms = typeof time.getTime === 'function' ? time.getTime() : undefined;
  } catch {
    return undefined; // a Date-like whose getTime throws, a proxy
  }
  // An absent proto Timestamp becomes the epoch (0) or NaN in the client: unknown, not 56 years old.
  return typeof ms === 'number' && Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/** `deliveryAttempt`, or undefined when the service does not say (0: no dead-letter policy on the subscription). */
export function deliveryAttempt(message: ReceivedMessage): number | undefined {
  const n = field(message, 'deliveryAttempt');
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

function attribute(message: ReceivedMessage, key: string): string | undefined {
  const attributes = field(message, 'attributes');
  if (attributes === null || typeof attributes !== 'object') return undefined;
  let value: unknown;
  try {
    value = Object.hasOwn(attributes, key) ? attributes[key] : undefined;
  } catch {
    return undefined; // a getter that throws, a proxy
  }
  return typeof value === 'string' ? value : undefined;
}

/** The policy's input for one message received on `subscription`. */
export function messageFacts(message: ReceivedMessage, subscription: string): MessageFacts {
  const id = field(message, 'id');
  return {
    destination: subscription,
    consumer: subscription,
    messageId: typeof id === 'string' && id !== '' ? id.slice(0, MAX_ID_LENGTH) : undefined,
    enqueuedAtMs: publishTimeMs(message),
    deliveryCount: deliveryAttempt(message),
    // Forwarded by a dead-letter policy and now replayed from the dead-letter topic.
    replayedFromDeadLetter: attribute(message, DEAD_LETTER_SOURCE_SUBSCRIPTION) !== undefined ? true : undefined,
  };
}

/** The process span's Pub/Sub attributes, set when the span records (no sampler needs them). */
export function processAttributes(message: ReceivedMessage, facts: MessageFacts): Attributes {
  const attributes: Attributes = {};
  if (facts.messageId !== undefined) attributes[ATTR_MESSAGING_MESSAGE_ID] = facts.messageId;
  const key = field(message, 'orderingKey');
  if (typeof key === 'string' && key !== '') attributes[ATTR_MESSAGING_GCP_PUBSUB_MESSAGE_ORDERING_KEY] = key;
  if (facts.deliveryCount !== undefined) attributes[ATTR_MESSAGING_GCP_PUBSUB_MESSAGE_DELIVERY_ATTEMPT] = facts.deliveryCount;
  // Recommended on process spans too: what the ack of this delivery will name.
  const ackId = field(message, 'ackId');
  if (typeof ackId === 'string' && ackId !== '') attributes[ATTR_MESSAGING_GCP_PUBSUB_MESSAGE_ACK_ID] = ackId;
  const source = attribute(message, DEAD_LETTER_SOURCE_SUBSCRIPTION);
  if (source !== undefined) attributes[ATTR_BROKERTRACE_GCP_PUBSUB_DEAD_LETTER_SOURCE_SUBSCRIPTION] = source;
  const count = Number(attribute(message, DEAD_LETTER_SOURCE_DELIVERY_COUNT));
  if (Number.isSafeInteger(count) && count > 0) attributes[ATTR_BROKERTRACE_GCP_PUBSUB_DEAD_LETTER_SOURCE_DELIVERY_COUNT] = count;
  return attributes;
}
