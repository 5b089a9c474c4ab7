// Attributes of this package's spans beyond the semantic conventions (project namespace `brokertrace.kafka.*`).
import {
  ATTR_MESSAGING_CLIENT_ID,
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_KAFKA_MESSAGE_KEY,
  ATTR_MESSAGING_KAFKA_MESSAGE_TOMBSTONE,
} from '@brokertrace/core';
import type { Attributes } from '@opentelemetry/api';
import { keyToString } from './facts.js';

/** `true` on send spans of a transactional producer's `transaction().send/sendBatch`. */
export const ATTR_BROKERTRACE_KAFKA_TRANSACTIONAL = 'brokertrace.kafka.transactional';
/** The number of partitions a `commit {topic}` span covers, when it covers several (int). */
export const ATTR_BROKERTRACE_KAFKA_COMMIT_PARTITIONS = 'brokertrace.kafka.commit.partitions';

/**
 * Attributes every span of one client carries: `messaging.client.id`, `messaging.kafka.cluster.id` once known,
 * plus `extra`. (Group and broker address go through `ClientInfo.metricAttributes`, to reach metrics too.)
 */
export function clientAttributes(clientId: string | undefined, clusterId: string | undefined, extra: Attributes = {}): Attributes {
  if (clientId !== undefined) extra[ATTR_MESSAGING_CLIENT_ID] = clientId;
  if (clusterId !== undefined) extra[ATTR_MESSAGING_KAFKA_CLUSTER_ID] = clusterId;
  return extra;
}

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

/** `messaging.kafka.cluster.id` (semantic conventions v1.44+): the id in the broker metadata kafkajs fetched. */
export const ATTR_MESSAGING_KAFKA_CLUSTER_ID = 'messaging.kafka.cluster.id';
