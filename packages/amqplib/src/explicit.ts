// Explicit wrapping: works in ESM, bundlers and serverless, where require hooks do not.
import { isPatched, patchMethods, unpatchMethods } from '@brokertrace/core';
import { dropChannelState } from './channel-state.js';
import type { AmqpChannelLike, AmqpConnectionLike, AnyMethod } from './internal-types.js';
import { log } from './log.js';
import { shared } from './shared.js';
import { AmqplibTracing } from './tracing.js';
import type { AmqplibTraceConfig } from './types.js';
import { CHANNEL_METHODS, wrapperFor } from './wrap.js';

/** One tracing per config object (a connection's channels share it), and one for "no config". */
function tracingFor(config: AmqplibTraceConfig | undefined): AmqplibTracing {
  const state = shared();
  if (config === undefined) return (state.defaultTracing ??= new AmqplibTracing(undefined));
  let tracing = state.tracingByConfig.get(config);
  if (tracing === undefined) {
    tracing = new AmqplibTracing(config);
    state.tracingByConfig.set(config, tracing);
  }
  return tracing;
}

/**
 * Traces a channel (`Channel` or `ConfirmChannel`, promise or callback API) and returns it: `publish` and
 * `sendToQueue` get a `send` span and carry the trace context in a copy of their headers; `consume` handlers
 * run in a `process` span; `ack`, `nack`, `reject`, `ackAll`, `nackAll` get settle spans; `get` gets a `receive`
 * span. Tracing a channel twice changes nothing (the first config stays). Throws `BrokerTraceConfigError` on a
 * bad option.
 */
export function traceChannel<T extends AmqpChannelLike>(channel: T, config?: AmqplibTraceConfig): T {
  if (typeof channel !== 'object' || channel === null || isPatched(channel)) return channel;
  const tracing = tracingFor(config);
  const source = () => tracing;
  patchMethods(channel, Object.fromEntries(CHANNEL_METHODS.map((name) => [name, wrapperFor(name, source)])));
  return channel;
}

/**
 * Undoes {@link traceChannel}: the channel's methods are amqplib's again, and what brokertrace kept for it
 * (unsettled delivery tags, its close listener) is forgotten. A handler still running ends its span as usual.
 */
export function untraceChannel<T extends AmqpChannelLike>(channel: T): T {
  if (typeof channel !== 'object' || channel === null) return channel;
  unpatchMethods(channel);
  dropChannelState(channel);
  return channel;
}

function isChannel(value: unknown): value is AmqpChannelLike {
  return typeof value === 'object' && value !== null && typeof (value as { publish?: unknown }).publish === 'function';
}

function traceQuietly(value: unknown, config: AmqplibTraceConfig | undefined): void {
  if (!isChannel(value)) return;
  try {
    traceChannel(value, config);
  } catch (error) {
    log.error('could not trace a channel', error);
  }
}

/** createChannel / createConfirmChannel of either API: trace the channel handed back (callback, promise or return). */
function wrapCreate(original: AnyMethod, config: AmqplibTraceConfig | undefined): AnyMethod {
  return function tracedCreate(this: unknown, ...args: unknown[]): unknown {
    const last = args.length - 1;
    const tracedArgs = args.slice();
    const callback = args[last];
    if (typeof callback === 'function') {
      tracedArgs[last] = function onChannel(this: unknown, ...cbArgs: unknown[]): unknown {
        if (cbArgs[0] === null || cbArgs[0] === undefined) traceQuietly(cbArgs[1], config);
        return (callback as AnyMethod).apply(this, cbArgs);
      };
    }
    const result = original.apply(this, tracedArgs);
    if (result !== this) traceQuietly(result, config); // CallbackModel returns the channel as well
    if (typeof result === 'object' && result !== null && typeof (result as { then?: unknown }).then === 'function') {
      return (result as Promise<unknown>).then((channel) => {
        traceQuietly(channel, config);
        return channel;
      });
    }
    return result;
  };
}

/**
 * Traces every channel the connection creates from now on (`createChannel`, `createConfirmChannel`; promise,
 * callback and recovering connections) and returns the connection. Channels created before are not traced:
 * pass them to {@link traceChannel}. Throws `BrokerTraceConfigError` on a bad option.
 */
export function traceConnection<T extends AmqpConnectionLike>(connection: T, config?: AmqplibTraceConfig): T {
  if (typeof connection !== 'object' || connection === null || isPatched(connection)) return connection;
  tracingFor(config); // validate now, not at the first channel
  const wrap = (original: AnyMethod) => wrapCreate(original, config);
  patchMethods(connection, { createChannel: wrap, createConfirmChannel: wrap });
  return connection;
}

/** Undoes {@link traceConnection} (channels already traced stay traced). */
export function untraceConnection<T extends AmqpConnectionLike>(connection: T): T {
  unpatchMethods(connection);
  return connection;
}
