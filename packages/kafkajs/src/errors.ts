// `error.type` of a failed kafkajs operation: the Kafka protocol error the broker answered, not the class name of
// kafkajs's wrapper (a `KafkaJSNumberOfRetriesExceeded` around an `UNKNOWN_TOPIC_OR_PARTITION` is the latter).
// Confluent's KafkaJS-API errors carry librdkafka codes instead: flavour.ts names them the same way.
import { confluentErrorType } from './flavour.js';

/** How deep to follow `originalError` / `cause` (kafkajs nests a retry wrapper around the protocol error). */
const MAX_DEPTH = 5;
/** Kafka error type names are upper snake case (`NOT_LEADER_FOR_PARTITION`); anything else is not one. */
const PROTOCOL_TYPE = /^[A-Z][A-Z0-9_]{1,80}$/;

function field(error: object, name: string): unknown {
  try {
    return (error as Record<string, unknown>)[name];
  } catch {
    return undefined;
  }
}

/**
 * The Kafka protocol error type (`err.type` of a `KafkaJSProtocolError`, e.g. `UNKNOWN_TOPIC_OR_PARTITION`),
 * found on the error or the errors it wraps (`originalError`, `cause`); for a Confluent client error, the same
 * name from its librdkafka `code` (or librdkafka's name of a client-side error, `ERR__MSG_TIMED_OUT`); undefined
 * when there is none, so core falls back to the class name (`KafkaJSConnectionError`,
 * `KafkaJSNumberOfRetriesExceeded`, `TypeError`). Never throws, whatever the error object.
 */
export function kafkaErrorType(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < MAX_DEPTH && current !== null && typeof current === 'object'; depth++) {
    // Only the clients' own errors (KafkaJSProtocolError and its kin): a handler's error with a `type` field
    // of its own says nothing about the broker.
    const confluent = confluentErrorType(current);
    if (confluent !== undefined) return confluent;
    const name = field(current, 'name');
    const type = field(current, 'type');
    // (kafkajs's names never start with ERR_, librdkafka's always do.)
    if (typeof name === 'string' && name.startsWith('KafkaJS') && typeof type === 'string' && PROTOCOL_TYPE.test(type) && !type.startsWith('ERR_')) {
      return type;
    }
    current = field(current, 'originalError') ?? field(current, 'cause');
  }
  return undefined;
}
