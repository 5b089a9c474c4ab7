// The facts core's child-or-link policy needs, read from what RabbitMQ puts on a delivery; where the broker only
// says "redelivered" (classic queues), the redeliveries this process saw of the message are counted.
import { createHash } from 'node:crypto';
import { headerValueToString, type DeliveryCounter, type MessageFacts } from '@brokertrace/core';
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
 * What identifies one message across its redeliveries: its message id, else the trace context it carries (a
 * send span's context is unique per publish), else a digest of where it was published and its content. Two
 * messages identical in all of these share a count (an overestimate, never a missed redelivery).
 */
function redeliveryKey(message: AmqpMessage, queue: string): string {
  const id = messageId(message);
  if (id !== undefined) return queue + '\u0000id\u0000' + id;
  const traceparent = headerValueToString(ownHeader(message.properties?.headers, 'traceparent'));
  if (traceparent !== undefined && traceparent !== '') return queue + '\u0000tp\u0000' + traceparent;
  const hash = createHash('sha256');
  hash.update(String(message.fields?.exchange)).update('\u0000').update(String(message.fields?.routingKey)).update('\u0000');
  hash.update(String(message.properties?.timestamp)).update('\u0000');
  if (message.content instanceof Uint8Array) hash.update(message.content);
  return queue + '\u0000sha\u0000' + hash.digest('base64');
}

/**
 * How many times this message has been handed to a consumer, 1 the first time. The largest of what the broker
 * says: `redelivered` (at least 2), a quorum queue's `x-delivery-count` (earlier failed deliveries, so +1), and
 * `x-death` (each entry counts the times the message left one queue for one reason; the largest of those
 * counts is the number of earlier rounds through a dead-letter loop, so +1). A redelivery the broker does not
 * count (no `x-delivery-count`: a classic queue) is counted in `redeliveries`: 1 + the redeliveries seen here.
 */
export function deliveryCount(message: AmqpMessage, queue = '', redeliveries?: DeliveryCounter): number {
  const redelivered = message.fields?.redelivered === true;
  let count = redelivered ? 2 : 1;
  const headers = message.properties?.headers;
  const xDeliveryCount = toCount(ownHeader(headers, 'x-delivery-count'));
  if (xDeliveryCount !== undefined && xDeliveryCount >= 0) count = Math.max(count, xDeliveryCount + 1);
  for (const entry of xDeathEntries(headers)) {
    if (typeof entry !== 'object' || entry === null) continue;
    const deaths = toCount((entry as Record<string, unknown>).count);
    if (deaths !== undefined && deaths >= 0) count = Math.max(count, deaths + 1);
  }
  // Only redeliveries are remembered: a first delivery costs no memory.
  if (redelivered && xDeliveryCount === undefined && redeliveries !== undefined) {
    count = Math.max(count, redeliveries.record(redeliveryKey(message, queue)) + 1);
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
export function readFacts(message: AmqpMessage, queue: string, deadLetterIsReplay: boolean, redeliveries?: DeliveryCounter): MessageFacts {
  return {
    destination: queue,
    messageId: messageId(message),
    enqueuedAtMs: enqueuedAtMs(message),
    deliveryCount: deliveryCount(message, queue, redeliveries),
    replayedFromDeadLetter: deadLetterIsReplay && wasDeadLettered(message),
  };
}
