// Attributes of this package's spans beyond the semantic conventions (project namespace `brokertrace.kafka.*`).
import { ATTR_MESSAGING_DESTINATION_PARTITION_ID, ATTR_MESSAGING_KAFKA_MESSAGE_KEY, ATTR_MESSAGING_KAFKA_MESSAGE_TOMBSTONE } from '@brokertrace/core';
import type { Attributes } from '@opentelemetry/api';
import { keyToString } from './facts.js';

/** `true` on send spans of a transactional producer's `transaction().send/sendBatch`. */
export const ATTR_BROKERTRACE_KAFKA_TRANSACTIONAL = 'brokertrace.kafka.transactional';

/** Per-message attributes every producer or consumer span of one message carries. */
export function messageAttributes(
  message: { readonly key?: unknown; readonly value?: unknown; readonly partition?: unknown },
  captureKey: boolean,
  attributes: Attributes = {},
): Attributes {
  if (captureKey) {
    const key = keyToString(message.key);
    if (key !== undefined) attributes[ATTR_MESSAGING_KAFKA_MESSAGE_KEY] = key;
  }
  if (message.value === null) attributes[ATTR_MESSAGING_KAFKA_MESSAGE_TOMBSTONE] = true;
  if (typeof message.partition === 'number') attributes[ATTR_MESSAGING_DESTINATION_PARTITION_ID] = String(message.partition);
  return attributes;
}

/** kafkajs offsets are decimal strings; spans carry them as numbers (exact below 2^53). */
export function offsetNumber(offset: unknown): number | undefined {
  if (typeof offset !== 'string' && typeof offset !== 'number') return undefined;
  const n = Number(offset);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}
