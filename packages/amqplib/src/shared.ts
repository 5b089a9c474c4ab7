// State that every copy of this package loaded in one process must share (the CJS and the ESM build are two
// copies): kept under a global symbol, like @opentelemetry/api keeps its globals, never in module variables.
import type { ChannelState } from './channel-state.js';
import type { ConnectionInfo } from './connection-info.js';
import type { TemporaryQueues } from './destination.js';
import type { AmqplibTracing } from './tracing.js';
import type { AmqplibTraceConfig } from './types.js';

export interface SharedState {
  /** Consume handlers we made: a second wrapper (explicit + instrumentation, or two copies) passes them through. */
  readonly tracedHandlers: WeakSet<object>;
  /** Per-channel state (unsettled deliveries, consumer queues, declared temporary queues), by channel. */
  readonly channels: WeakMap<object, ChannelState>;
  /** server.address / server.port of each amqplib Connection, computed once. */
  readonly connections: WeakMap<object, ConnectionInfo>;
  /** Queues each connection declared exclusive / auto-delete / server-named (by connection, else channel). */
  readonly temporaryQueues: WeakMap<object, TemporaryQueues>;
  /** The explicit wrappers' tracing per config object, and the one for "no config". */
  readonly tracingByConfig: WeakMap<AmqplibTraceConfig, AmqplibTracing>;
  defaultTracing: AmqplibTracing | undefined;
  /**
   * Nesting of the synchronous publish / get calls: ConfirmChannel#publish calls Channel#publish, and a channel
   * traced twice has two wrappers; only the outermost call traces. publish is synchronous, so a counter is exact.
   */
  publishDepth: number;
  getDepth: number;
  /** The same for ack / nack / reject / ackAll / nackAll (synchronous too). */
  settleDepth: number;
}

// Bump the version when SharedState changes shape: two different versions then keep apart, safely.
const KEY = Symbol.for('@brokertrace/amqplib/shared@1');

// This copy's handle on the global state, once found (the global one is never replaced): no global lookup per call.
let found: SharedState | undefined;

export function shared(): SharedState {
  if (found !== undefined) return found;
  const holder = globalThis as { [KEY]?: SharedState };
  return (found = holder[KEY] ??= {
    tracedHandlers: new WeakSet(),
    channels: new WeakMap(),
    connections: new WeakMap(),
    temporaryQueues: new WeakMap(),
    tracingByConfig: new WeakMap(),
    defaultTracing: undefined,
    publishDepth: 0,
    getDepth: 0,
    settleDepth: 0,
  });
}
