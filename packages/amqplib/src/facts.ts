// The facts core's child-or-link policy needs, read from what RabbitMQ puts on a delivery.
import { headerValueToString, type MessageFacts } from '@brokertrace/core';
import type { AmqpMessage } from './internal-types.js';

/** A header's numeric value: plain numbers, numeric strings, bigint, AMQP typed `{'!': type, value}`. */
function toCount(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && '!' in value && 'value' in value) {
    return toCount((value as { value: unknown }).value);
  }
  const s = headerValueToString(value);
  if (s === undefined || s.trim() === '') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

function ownHeader(headers: Record<string, unknown> | undefined, key: string): unknown {
  if (headers === undefined || headers === null || typeof headers !== 'object') return undefined;
  return Object.prototype.hasOwnProperty.call(headers, key) ? headers[key] : undefined;
}

/** The `x-death` entries (one per queue and reason a message was dead-lettered from), or `[]`. */
function xDeathEntries(headers: Record<string, unknown> | undefined): readonly unknown[] {
  const raw = ownHeader(headers, 'x-death');
  const value: unknown = typeof raw === 'object' && raw !== null && '!' in raw && 'value' in raw ? raw.value : raw;
  return Array.isArray(value) ? value : [];
}

/**
 * How many times this message has been handed to a consumer, 1 the first time. The largest of what the broker
 * says: `redelivered` (at least 2), a quorum queue's `x-delivery-count` (earlier failed deliveries, so +1), and
 * `x-death` (each entry counts the times the message left one queue for one reason; the largest of those
 * counts is the number of earlier rounds through a dead-letter loop, so +1).
 */
export function deliveryCount(message: AmqpMessage): number {
  let count = message.fields?.redelivered === true ? 2 : 1;
  const headers = message.properties?.headers;
  const xDeliveryCount = toCount(ownHeader(headers, 'x-delivery-count'));
  if (xDeliveryCount !== undefined && xDeliveryCount >= 0) count = Math.max(count, xDeliveryCount + 1);
  for (const entry of xDeathEntries(headers)) {
    if (typeof entry !== 'object' || entry === null) continue;
    const deaths = toCount((entry as Record<string, unknown>).count);
    if (deaths !== undefined && deaths >= 0) count = Math.max(count, deaths + 1);
  }
  return count;
}

/** The message came back through a dead-letter exchange (RabbitMQ stamps `x-death` when it dead-letters). */
export function wasDeadLettered(message: AmqpMessage): boolean {
  return xDeathEntries(message.properties?.headers).length > 0;
}

/** `properties.timestamp` is in seconds (AMQP); amqplib gives a number, or a typed value inside tables. */
export function enqueuedAtMs(message: AmqpMessage): number | undefined {
  const seconds = toCount(message.properties?.timestamp);
  return seconds !== undefined && seconds > 0 ? seconds * 1000 : undefined;
}

export function messageId(message: AmqpMessage): string | undefined {
  const id = headerValueToString(message.properties?.messageId);
  return id === undefined || id === '' ? undefined : id;
}

/** Everything core's policy reads, for one message consumed from `queue`. */
export function readFacts(message: AmqpMessage, queue: string, deadLetterIsReplay: boolean): MessageFacts {
  return {
    destination: queue,
    messageId: messageId(message),
    enqueuedAtMs: enqueuedAtMs(message),
    deliveryCount: deliveryCount(message),
    replayedFromDeadLetter: deadLetterIsReplay && wasDeadLettered(message),
  };
}
