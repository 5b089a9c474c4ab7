// What a Service Bus message says about itself. Received: what core's child-or-link policy and the spans need
// (enqueuedTimeUtc, the delivery count (normalised), messageId, correlationId, sequenceNumber, and whether it
// was read from a dead-letter sub-queue). Being sent: its ids.
//
// Delivery count: @azure/service-bus 7.9.5 copies the AMQP header's delivery-count as it is
// (dist/index.js `fromRheaMessage`: `deliveryCount: rheaMessage.delivery_count`), and AMQP 1.0 (part 3, 3.2.1
// "header") defines delivery-count as "the number of unsuccessful previous attempts to deliver this message":
// 0 on the first delivery (the harness's smoke test asserts `deliveryCount` 0 on a first receive). Core counts
// 1 on the first delivery, so we add one. .NET's `ServiceBusReceivedMessage.DeliveryCount` adds one too, and
// the conventions' `messaging.servicebus.message.delivery_count` ("number of deliveries that have been
// attempted for this message") is that 1-based value.
import {
  ATTR_MESSAGING_MESSAGE_CONVERSATION_ID,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_SERVICEBUS_MESSAGE_DELIVERY_COUNT,
  ATTR_MESSAGING_SERVICEBUS_MESSAGE_ENQUEUED_TIME,
} from '@brokertrace/core';
import type { MessageFacts } from '@brokertrace/core';
import type { Attributes } from '@opentelemetry/api';
import { ATTR_BROKERTRACE_SERVICEBUS_DEAD_LETTER_REASON, ATTR_BROKERTRACE_SERVICEBUS_SEQUENCE_NUMBER } from './attributes.js';
import type { Entity } from './destination.js';
import type { LongLike, ReceivedMessageLike, ServiceBusMessageLike } from './internal-types.js';

function field<K extends keyof ReceivedMessageLike>(message: ReceivedMessageLike, key: K): ReceivedMessageLike[K] | undefined {
  try {
    return message[key];
  } catch {
    return undefined;
  }
}

/** A message id (string, number or Buffer in the client) as a string; undefined when absent. */
export function idString(id: unknown): string | undefined {
  if (typeof id === 'string') return id === '' ? undefined : id.slice(0, 256);
  if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  try {
    // instanceof and the Buffer's methods throw for a proxy
    if (Buffer.isBuffer(id)) return id.length === 0 ? undefined : id.subarray(0, 128).toString('hex');
  } catch {
    // not an id we can read
  }
  return undefined;
}

/** `enqueuedTimeUtc` in ms since the epoch; undefined when absent or invalid. */
export function enqueuedAtMs(message: ReceivedMessageLike): number | undefined {
  const time = field(message, 'enqueuedTimeUtc');
  try {
    // instanceof throws for a proxy, getTime for a Date-like that is not one
    if (!(time instanceof Date)) return undefined;
    const ms = time.getTime();
    return typeof ms === 'number' && Number.isFinite(ms) && ms > 0 ? ms : undefined;
  } catch {
    return undefined;
  }
}

/** Deliveries so far, 1 on the first (the client's `deliveryCount` + 1, see the top of this file). */
export function deliveryCount(message: ReceivedMessageLike): number | undefined {
  const raw = field(message, 'deliveryCount');
  // a safe integer after the + 1 (2^53 or 1e308 are no counts)
  return typeof raw === 'number' && Number.isSafeInteger(raw + 1) && raw >= 0 ? raw + 1 : undefined;
}

/** A sequence number (Long) as a number when it is exactly one, else undefined. */
export function sequenceNumber(value: LongLike | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  try {
    const n = Number(value.toString());
    return Number.isSafeInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Read from a dead-letter sub-queue (the entity path says so), or carrying the dead-letter reason the service
 * stamps (`DeadLetterReason`: auto-forwarded from a dead-letter queue, or re-sent from one with its properties;
 * `deadLetterSource` is set only after auto-forwarding).
 */
export function fromDeadLetter(message: ReceivedMessageLike, entity: Entity): boolean {
  if (entity.deadLetter) return true;
  const source = field(message, 'deadLetterSource');
  if (typeof source === 'string' && source !== '') return true;
  const reason = field(message, 'deadLetterReason');
  return typeof reason === 'string' && reason !== '';
}

/** The policy's input for one message received from `entity`. */
export function messageFacts(message: ReceivedMessageLike, entity: Entity): MessageFacts {
  const seq = sequenceNumber(field(message, 'sequenceNumber'));
  const facts: MessageFacts = {
    destination: entity.destination,
    consumer: entity.subscription,
    messageId: idString(field(message, 'messageId')),
    enqueuedAtMs: enqueuedAtMs(message),
    deliveryCount: deliveryCount(message),
    replayedFromDeadLetter: fromDeadLetter(message, entity) ? true : undefined,
  };
  if (seq !== undefined) facts.linkAttributes = { [ATTR_BROKERTRACE_SERVICEBUS_SEQUENCE_NUMBER]: seq };
  return facts;
}

/**
 * Puts a received message's `messaging.servicebus.message.delivery_count` and `.enqueued_time` among the
 * attributes of its link, for a receive span over several messages (the values differ from message to message).
 * `facts` come from {@link messageFacts}, made for this receive.
 */
export function addServiceBusLinkAttributes(facts: MessageFacts): void {
  const own = (facts.linkAttributes ??= {});
  if (facts.deliveryCount !== undefined) own[ATTR_MESSAGING_SERVICEBUS_MESSAGE_DELIVERY_COUNT] = facts.deliveryCount;
  if (facts.enqueuedAtMs !== undefined) own[ATTR_MESSAGING_SERVICEBUS_MESSAGE_ENQUEUED_TIME] = Math.floor(facts.enqueuedAtMs / 1000);
}

/**
 * The ids of one message being sent (`messageId`, `correlationId`), for its create span, or the send span of a
 * single message: recommended there by the conventions, as on the consumer side. Undefined when it has neither.
 */
export function sentIdAttributes(message: ServiceBusMessageLike): Attributes | undefined {
  const id = idString(field(message, 'messageId'));
  const correlation = idString(field(message, 'correlationId'));
  if (id === undefined && correlation === undefined) return undefined;
  const attributes: Attributes = {};
  if (id !== undefined) attributes[ATTR_MESSAGING_MESSAGE_ID] = id;
  if (correlation !== undefined) attributes[ATTR_MESSAGING_MESSAGE_CONVERSATION_ID] = correlation;
  return attributes;
}

/** The Service Bus attributes of a span about one received message (process, settle), set at start. */
export function messageAttributes(message: ReceivedMessageLike, facts: MessageFacts): Attributes {
  const attributes: Attributes = {};
  if (facts.messageId !== undefined) attributes[ATTR_MESSAGING_MESSAGE_ID] = facts.messageId;
  const correlation = idString(field(message, 'correlationId'));
  if (correlation !== undefined) attributes[ATTR_MESSAGING_MESSAGE_CONVERSATION_ID] = correlation;
  // The conventions: "if available and > 0" (always > 0 once normalised).
  if (facts.deliveryCount !== undefined) attributes[ATTR_MESSAGING_SERVICEBUS_MESSAGE_DELIVERY_COUNT] = facts.deliveryCount;
  // The conventions: int, UTC epoch seconds.
  if (facts.enqueuedAtMs !== undefined) attributes[ATTR_MESSAGING_SERVICEBUS_MESSAGE_ENQUEUED_TIME] = Math.floor(facts.enqueuedAtMs / 1000);
  const seq = facts.linkAttributes?.[ATTR_BROKERTRACE_SERVICEBUS_SEQUENCE_NUMBER];
  if (typeof seq === 'number') attributes[ATTR_BROKERTRACE_SERVICEBUS_SEQUENCE_NUMBER] = seq;
  if (facts.replayedFromDeadLetter === true) {
    const reason = field(message, 'deadLetterReason');
    if (typeof reason === 'string' && reason !== '') attributes[ATTR_BROKERTRACE_SERVICEBUS_DEAD_LETTER_REASON] = reason.slice(0, 256);
  }
  return attributes;
}
