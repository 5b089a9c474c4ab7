// The amqplib options: their defaults and their validation (core validates the shared ones; its
// `packageOptions` list below makes any other unknown key a BrokerTraceConfigError naming it).
import { BrokerTraceConfigError, DeliveryCounter } from '@brokertrace/core';
import type { AmqplibTraceConfig } from './types.js';

/** Top-level keys this package adds to core's options (core knows its own and InstrumentationConfig's `enabled`). */
export const AMQPLIB_OPTIONS: readonly string[] = Object.freeze([
  'publishHook',
  'consumeHook',
  'settleHook',
  'deadLetterIsReplay',
  'redeliveryTracking',
  'settleSpans',
]);

export const DEFAULT_DEAD_LETTER_IS_REPLAY = true;
export const DEFAULT_REDELIVERY_TRACKING = Object.freeze({ maxEntries: 10000, ttlMs: 600000 });

export interface ResolvedAmqplibOptions {
  readonly publishHook: AmqplibTraceConfig['publishHook'];
  readonly consumeHook: AmqplibTraceConfig['consumeHook'];
  readonly settleHook: AmqplibTraceConfig['settleHook'];
  readonly deadLetterIsReplay: boolean;
  /** `'outside-handler'`: a settlement made while its message's handler runs makes no settle span. */
  readonly settleSpans: 'always' | 'outside-handler';
  /** Sightings of redelivered messages on queues whose broker does not count them; undefined when off. */
  readonly redeliveries: DeliveryCounter | undefined;
}

function optionalFunction<T>(value: T | undefined, option: string): T | undefined {
  if (value !== undefined && typeof value !== 'function') {
    throw new BrokerTraceConfigError(option, `must be a function, got ${typeof value}`);
  }
  return value;
}

/**
 * Validates this package's options and resolves their defaults; throws {@link BrokerTraceConfigError} naming
 * the first bad one. `previous` keeps the redelivery memory across setConfig when its options did not change.
 */
export function resolveAmqplibOptions(config: AmqplibTraceConfig = {}, previous?: ResolvedAmqplibOptions): ResolvedAmqplibOptions {
  if (config === null || typeof config !== 'object') throw new BrokerTraceConfigError('config', 'must be an object');
  const replay: unknown = config.deadLetterIsReplay;
  if (replay !== undefined && typeof replay !== 'boolean') {
    throw new BrokerTraceConfigError('deadLetterIsReplay', `must be a boolean, got ${typeof replay}`);
  }
  const settleSpans: unknown = config.settleSpans ?? 'always';
  if (settleSpans !== 'always' && settleSpans !== 'outside-handler') {
    throw new BrokerTraceConfigError('settleSpans', `must be 'always' or 'outside-handler', got ${JSON.stringify(settleSpans) ?? typeof settleSpans}`);
  }
  const tracking: unknown = config.redeliveryTracking;
  let redeliveries: DeliveryCounter | undefined;
  if (tracking !== false) {
    if (tracking !== undefined && (tracking === null || typeof tracking !== 'object' || Array.isArray(tracking))) {
      throw new BrokerTraceConfigError('redeliveryTracking', 'must be { maxEntries?, ttlMs? } or false');
    }
    const { maxEntries = DEFAULT_REDELIVERY_TRACKING.maxEntries, ttlMs = DEFAULT_REDELIVERY_TRACKING.ttlMs } =
      (tracking ?? {}) as { maxEntries?: number; ttlMs?: number };
    const kept = previous?.redeliveries;
    redeliveries =
      kept !== undefined && kept.maxEntries === maxEntries && kept.ttlMs === ttlMs
        ? kept
        : new DeliveryCounter({ maxEntries, ttlMs }, 'redeliveryTracking');
  }
  return {
    publishHook: optionalFunction(config.publishHook, 'publishHook'),
    consumeHook: optionalFunction(config.consumeHook, 'consumeHook'),
    settleHook: optionalFunction(config.settleHook, 'settleHook'),
    deadLetterIsReplay: config.deadLetterIsReplay ?? DEFAULT_DEAD_LETTER_IS_REPLAY,
    settleSpans,
    redeliveries,
  };
}
