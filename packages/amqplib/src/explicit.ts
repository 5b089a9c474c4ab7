// Explicit wrapping: works in ESM, bundlers and serverless, where require hooks do not.
import { diag } from '@opentelemetry/api';
import { isPatched, MessagingTelemetry, patchMethods, unpatchMethods } from '@brokertrace/core';
import type { AmqpChannelLike, AmqpConnectionLike, AnyMethod } from './internal-types.js';
import type { TracingState } from './state.js';
import { validateAmqplibConfig, type AmqplibTraceConfig } from './types.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';
import { CHANNEL_METHODS, wrapperFor } from './wrap.js';

/** Builds the telemetry for a config; throws `BrokerTraceConfigError` naming a bad option. */
export function createTracingState(config: AmqplibTraceConfig = {}): TracingState {
  validateAmqplibConfig(config);
  const telemetry = new MessagingTelemetry({
    system: 'rabbitmq',
    instrumentationName: PACKAGE_NAME,
    instrumentationVersion: PACKAGE_VERSION,
    config,
  });
  return { telemetry, config };
}

// One telemetry per config object (a connection's channels share it), and one for "no config".
const statesByConfig = new WeakMap<AmqplibTraceConfig, TracingState>();
let defaultState: TracingState | undefined;

function stateFor(config: AmqplibTraceConfig | undefined): TracingState {
  if (config === undefined) return (defaultState ??= createTracingState());
  let state = statesByConfig.get(config);
  if (state === undefined) {
    state = createTracingState(config);
    statesByConfig.set(config, state);
  }
  return state;
}

/**
 * Traces a channel (`Channel` or `ConfirmChannel`, promise or callback API) and returns it: `publish` and
 * `sendToQueue` get a `send` span and carry the trace context in a copy of their headers; `consume` handlers
 * run in a `process` span that ends when the message is settled on this channel; `get` gets a `receive` span.
 * Tracing a channel twice changes nothing (the first config stays). Throws `BrokerTraceConfigError` on a bad option.
 */
export function traceChannel<T extends AmqpChannelLike>(channel: T, config?: AmqplibTraceConfig): T {
  if (typeof channel !== 'object' || channel === null || isPatched(channel)) return channel;
  const state = stateFor(config);
  const source = () => state;
  patchMethods(channel, Object.fromEntries(CHANNEL_METHODS.map((name) => [name, wrapperFor(name, source)])));
  return channel;
}

/** Undoes {@link traceChannel}: the channel's methods are amqplib's again. Spans already started still end. */
export function untraceChannel<T extends AmqpChannelLike>(channel: T): T {
  unpatchMethods(channel);
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
    diag.error('@brokertrace/amqplib: could not trace a channel', error);
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
  stateFor(config); // validate now, not at the first channel
  const wrap = (original: AnyMethod) => wrapCreate(original, config);
  patchMethods(connection, { createChannel: wrap, createConfirmChannel: wrap });
  return connection;
}

/** Undoes {@link traceConnection} (channels already traced stay traced). */
export function untraceConnection<T extends AmqpConnectionLike>(connection: T): T {
  unpatchMethods(connection);
  return connection;
}
