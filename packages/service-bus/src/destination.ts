// What an entity path says: `queue`, `topic/Subscriptions/sub`, either with `/$DeadLetterQueue` or
// `/$Transfer/$DeadLetterQueue`; and the namespace host/port every span and metric carries.
import { ATTR_MESSAGING_DESTINATION_SUBSCRIPTION_NAME, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT } from '@brokertrace/core';
import type { Attributes } from '@opentelemetry/api';
import type { ConnectionContextLike } from './internal-types.js';

/** One entity a sender or receiver works on, resolved once per sender/receiver. */
export interface Entity {
  /** `messaging.destination.name`: the queue (with its sub-queue suffix) or the topic. */
  readonly destination: string;
  /** The subscription (topics), with its sub-queue suffix when reading one. */
  readonly subscription: string | undefined;
  /** A dead-letter sub-queue (`$DeadLetterQueue`, also `$Transfer/$DeadLetterQueue`). */
  readonly deadLetter: boolean;
  /** server.address/port and the subscription: the same object for every span of this entity (core caches by it). */
  readonly metricAttributes: Attributes;
}

const SUBSCRIPTIONS = /^(.+?)\/subscriptions\/(.+)$/i;
const DEAD_LETTER = /\/\$deadletterqueue$/i;

/** The namespace host and port of a sender/receiver (internal `_context.config`); undefined when unknown. */
export function serverOf(context: ConnectionContextLike | undefined, fallbackHost?: string): { host?: string; port?: number } {
  let host: unknown;
  let port: unknown;
  try {
    host = context?.config?.host;
    port = context?.config?.port;
  } catch {
    // a foreign object: no server attributes
  }
  return {
    host: typeof host === 'string' && host !== '' ? host : fallbackHost,
    port: typeof port === 'number' && Number.isInteger(port) && port > 0 ? port : undefined,
  };
}

export function entityOf(entityPath: string, server: { host?: string; port?: number }): Entity {
  const path = typeof entityPath === 'string' ? entityPath : String(entityPath);
  const deadLetter = DEAD_LETTER.test(path);
  const match = SUBSCRIPTIONS.exec(path);
  // A queue's dead-letter sub-queue keeps its path (`orders/$DeadLetterQueue`): it is the entity read.
  const destination = match ? match[1]! : path;
  const subscription = match ? match[2]! : undefined;
  const metricAttributes: Attributes = {};
  if (server.host !== undefined) metricAttributes[ATTR_SERVER_ADDRESS] = server.host;
  if (server.port !== undefined) metricAttributes[ATTR_SERVER_PORT] = server.port;
  if (subscription !== undefined) metricAttributes[ATTR_MESSAGING_DESTINATION_SUBSCRIPTION_NAME] = subscription;
  return { destination, subscription, deadLetter, metricAttributes };
}
