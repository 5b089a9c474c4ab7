// assertQueue: remember the queues a connection declares to go away (exclusive, auto-delete, expiring), so
// their names stay out of span names and metrics (messaging.destination.temporary).
import { isThenable } from '@brokertrace/core';
import { temporaryQueuesOf } from './channel-state.js';
import type { AnyMethod } from './internal-types.js';
import { log } from './log.js';

function isTemporary(options: unknown): boolean {
  if (typeof options !== 'object' || options === null) return false;
  const o = options as { exclusive?: unknown; autoDelete?: unknown; expires?: unknown; arguments?: unknown };
  if (o.exclusive === true || o.autoDelete === true || o.expires !== undefined) return true;
  const args = o.arguments;
  return typeof args === 'object' && args !== null && (args as Record<string, unknown>)['x-expires'] !== undefined;
}

/** Wraps `assertQueue(queue, options?, callback?)` of either API; what it returns or calls back is untouched. */
export function wrapAssertQueue(original: AnyMethod): AnyMethod {
  return function tracedAssertQueue(this: unknown, ...args: unknown[]): unknown {
    if (typeof this !== 'object' || this === null || !isTemporary(args[1])) return original.apply(this, args);
    const channel: object = this; // eslint-disable-line @typescript-eslint/no-this-alias -- read once the reply arrives
    const remember = (ok: unknown): void => {
      try {
        const name = (ok as { queue?: unknown } | null | undefined)?.queue;
        if (typeof name === 'string') temporaryQueuesOf(channel).add(name);
      } catch (error) {
        log.debug('could not note a temporary queue', error);
      }
    };
    const callerCallback = args[2];
    const tracedArgs = args.slice();
    if (typeof callerCallback === 'function') {
      tracedArgs[2] = function onDeclared(this: unknown, ...replyArgs: unknown[]): unknown {
        if (replyArgs[0] === null || replyArgs[0] === undefined) remember(replyArgs[1]);
        return (callerCallback as AnyMethod).apply(this, replyArgs);
      };
    }
    const result = original.apply(this, tracedArgs);
    // The promise API: the caller gets the promise that notes the name; a rejection reaches the caller unchanged
    // (a branch of our own would either swallow it or add an unhandled rejection of ours).
    if (!isThenable(result)) return result;
    return result.then((ok) => {
      remember(ok);
      return ok;
    });
  };
}
