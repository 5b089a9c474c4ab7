// The one set of wrappers both ways in use: `traceChannel` puts them on a channel instance, the instrumentation
// on amqplib's Channel prototypes.
import { wrapConsume } from './consume.js';
import { wrapGet } from './get.js';
import type { AnyMethod } from './internal-types.js';
import { wrapPublish } from './producer.js';
import { wrapAssertQueue } from './queues.js';
import { wrapSettle } from './settle.js';
import type { TracingSource } from './tracing.js';

/** Methods of a Channel / ConfirmChannel we wrap (`sendToQueue` calls `publish`, so it is covered). */
export const CHANNEL_METHODS = ['publish', 'consume', 'get', 'ack', 'nack', 'reject', 'ackAll', 'nackAll', 'assertQueue'] as const;
export type ChannelMethod = (typeof CHANNEL_METHODS)[number];

export function wrapperFor(method: ChannelMethod, source: TracingSource): (original: AnyMethod) => AnyMethod {
  switch (method) {
    case 'publish':
      return (original) => wrapPublish(source, original);
    case 'consume':
      return (original) => wrapConsume(source, original);
    case 'get':
      return (original) => wrapGet(source, original);
    case 'assertQueue':
      return (original) => wrapAssertQueue(original);
    default:
      return (original) => wrapSettle(method, source, original);
  }
}
