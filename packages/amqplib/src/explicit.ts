// Explicit wrapping: works in ESM, bundlers and serverless, where require hooks do not.
import { isPatched, patchMethods, unpatchMethods } from '@brokertrace/core';
import { dropChannelState } from './channel-state.js';
import type { AmqpChannelLike, AmqpConnectionLike, AnyMethod } from './internal-types.js';
import { log, warnOnce } from './log.js';
import { shared } from './shared.js';
import { AmqplibTracing } from './tracing.js';
import type { AmqplibTraceConfig } from './types.js';
import { CHANNEL_METHODS, wrapperFor } from './wrap.js';

/** What every amqplib channel (promise or callback API, plain or confirm) has. */
const CHANNEL_SHAPE = ['publish', 'sendToQueue', 'consume', 'ack'] as const;

/**
 * True when `value` is an object with every method named; otherwise says so once per kind through `diag.warn` (an
 * untested amqplib, or not an amqplib object at all), and the wrapper returns it untraced.
 */
function recognised(value: unknown, kind: string, methods: readonly string[]): boolean {
  const missing =
    value === null || typeof value !== 'object'
      ? methods
      : methods.filter((m) => typeof (value as Record<string, unknown>)[m] !== 'function');
  if (missing.length === 0) return true;
  const what = value === null ? 'null' : typeof value === 'object' ? `an object without ${missing.join(', ')}` : typeof value;
  warnOnce(`unrecognised:${kind}`, `expected an amqplib ${kind} (with ${methods.join(', ')}), got ${what}; returned untraced (an untested amqplib version?)`);
  return false;
}

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
 * span. Tracing a channel twice changes nothing (the first config stays). Anything without `publish`,
 * `sendToQueue`, `consume` and `ack` is returned untraced after one `diag.warn`, never a throw. Throws
 * `BrokerTraceConfigError` on a bad option.
 */
export function traceChannel<T extends AmqpChannelLike>(channel: T, config?: AmqplibTraceConfig): T {
  if (!recognised(channel, 'channel', CHANNEL_SHAPE) || isPatched(channel)) return channel;
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

/** `sure`: `value` is what amqplib handed over as the channel, so anything else is worth the warning. */
function traceQuietly(value: unknown, config: AmqplibTraceConfig | undefined, sure = true): void {
  if (!sure && !isChannel(value)) return;
  try {
    // traceChannel checks the shape itself (and says so when it is not a channel).
    traceChannel(value as AmqpChannelLike, config);
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
    // CallbackModel returns the channel as well (the promise API returns a promise: looked at below).
    if (result !== this) traceQuietly(result, config, false);
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
 * pass them to {@link traceChannel}. Anything without `createChannel` is returned untraced after one `diag.warn`.
 * Throws `BrokerTraceConfigError` on a bad option.
 */
export function traceConnection<T extends AmqpConnectionLike>(connection: T, config?: AmqplibTraceConfig): T {
  if (!recognised(connection, 'connection', ['createChannel']) || isPatched(connection)) return connection;
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
