// The one set of wrappers both ways in use: `traceChannel` puts them on a channel instance, the instrumentation
// on amqplib's Channel prototypes.
import { wrapConsume, wrapGet, wrapSettle } from './consumer.js';
import type { AnyMethod } from './internal-types.js';
import { wrapPublish } from './producer.js';
import type { StateSource } from './state.js';

/** Methods of a Channel / ConfirmChannel we wrap (`sendToQueue` calls `publish`, so it is covered). */
export const CHANNEL_METHODS = ['publish', 'consume', 'get', 'ack', 'nack', 'reject', 'ackAll', 'nackAll'] as const;
export type ChannelMethod = (typeof CHANNEL_METHODS)[number];

export function wrapperFor(method: ChannelMethod, source: StateSource): (original: AnyMethod) => AnyMethod {
  switch (method) {
    case 'publish':
      return (original) => wrapPublish(source, original);
    case 'consume':
      return (original) => wrapConsume(source, original);
    case 'get':
      return (original) => wrapGet(source, original);
    default:
      return (original) => wrapSettle(method, original);
  }
}
