// The Kafka-specific options, validated once (core validates the shared ones) and resolved to their defaults.
import { BROKER_LIMITS, BrokerTraceConfigError } from '@brokertrace/core';
import { HeaderMarkers } from './facts.js';
import type { KafkaJsConfig } from './types.js';

export const DEFAULT_RETRY_COUNT_HEADERS: ReadonlyArray<string> = Object.freeze(['x-retry-count', 'retry-count', 'retry_topic-attempts']);
export const DEFAULT_DEAD_LETTER_HEADERS: ReadonlyArray<string> = Object.freeze(['kafka_dlt-original-topic']);
export const DEFAULT_DELIVERY_TRACKING = Object.freeze({ maxEntries: 10000, ttlMs: 600000 });
export const DEFAULT_MAX_RECORD_BYTES = BROKER_LIMITS.kafka.maxTotalBytes ?? 1048576;

/**
 * The top-level options this package adds to core's (core rejects any other unknown key, naming it). `enabled`
 * is the Instrumentation class's, known to core.
 */
export const KAFKA_OPTIONS: ReadonlyArray<string> = Object.freeze([
  'clientId',
  'captureMessageKey',
  'retryCountHeaders',
  'deadLetterHeaders',
  'deliveryTracking',
  'maxRecordBytes',
  'producerHook',
  'consumerHook',
  'batchHook',
]);

export interface ResolvedKafkaOptions {
  readonly clientId: string | undefined;
  readonly captureMessageKey: boolean;
  readonly retryCountHeaders: ReadonlyArray<string>;
  readonly deadLetterHeaders: ReadonlyArray<string>;
  /** Both lists, compiled for reading each consumed message in one pass over its keys. */
  readonly markers: HeaderMarkers;
  readonly deliveryTracking: { readonly maxEntries: number; readonly ttlMs: number };
  readonly maxRecordBytes: number;
  readonly producerHook: KafkaJsConfig['producerHook'];
  readonly consumerHook: KafkaJsConfig['consumerHook'];
  readonly batchHook: KafkaJsConfig['batchHook'];
}

function headerNames(value: unknown, option: string, fallback: ReadonlyArray<string>): ReadonlyArray<string> {
  if (value === undefined) return fallback;
  if (!Array.isArray(value)) throw new BrokerTraceConfigError(option, 'must be an array of header names');
  value.forEach((name, i) => {
    if (typeof name !== 'string' || name === '') {
      throw new BrokerTraceConfigError(`${option}[${i}]`, 'must be a non-empty string');
    }
  });
  return Object.freeze([...(value as string[])]);
}

function positiveInteger(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new BrokerTraceConfigError(option, `must be a positive integer, got ${typeof value === 'number' ? value : typeof value}`);
  }
  return value;
}

function optionalFunction<T>(value: T | undefined, option: string): T | undefined {
  if (value !== undefined && typeof value !== 'function') {
    throw new BrokerTraceConfigError(option, 'must be a function');
  }
  return value;
}

/** Validates the Kafka options of `config`; throws {@link BrokerTraceConfigError} naming the first bad one. */
export function resolveKafkaOptions(config: KafkaJsConfig = {}): ResolvedKafkaOptions {
  if (config === null || typeof config !== 'object') {
    throw new BrokerTraceConfigError('config', 'must be an object');
  }
  if (config.clientId !== undefined && typeof config.clientId !== 'string') {
    throw new BrokerTraceConfigError('clientId', 'must be a string');
  }
  if (config.captureMessageKey !== undefined && typeof config.captureMessageKey !== 'boolean') {
    throw new BrokerTraceConfigError('captureMessageKey', 'must be a boolean');
  }
  const tracking: unknown = config.deliveryTracking;
  if (tracking !== undefined && (tracking === null || typeof tracking !== 'object')) {
    throw new BrokerTraceConfigError('deliveryTracking', 'must be an object');
  }
  const t = (tracking ?? {}) as { maxEntries?: unknown; ttlMs?: unknown };
  for (const key of Object.keys(t)) {
    // A misspelt key would otherwise leave its default in force without a word.
    if (key !== 'maxEntries' && key !== 'ttlMs') throw new BrokerTraceConfigError(`deliveryTracking.${key}`, 'unknown option');
  }
  const retryCountHeaders = headerNames(config.retryCountHeaders, 'retryCountHeaders', DEFAULT_RETRY_COUNT_HEADERS);
  const deadLetterHeaders = headerNames(config.deadLetterHeaders, 'deadLetterHeaders', DEFAULT_DEAD_LETTER_HEADERS);
  return {
    clientId: config.clientId,
    captureMessageKey: config.captureMessageKey ?? true,
    retryCountHeaders,
    deadLetterHeaders,
    markers: new HeaderMarkers(retryCountHeaders, deadLetterHeaders),
    deliveryTracking: {
      maxEntries: positiveInteger(t.maxEntries, 'deliveryTracking.maxEntries', DEFAULT_DELIVERY_TRACKING.maxEntries),
      ttlMs: positiveInteger(t.ttlMs, 'deliveryTracking.ttlMs', DEFAULT_DELIVERY_TRACKING.ttlMs),
    },
    maxRecordBytes: positiveInteger(config.maxRecordBytes, 'maxRecordBytes', DEFAULT_MAX_RECORD_BYTES),
    producerHook: optionalFunction(config.producerHook, 'producerHook'),
    consumerHook: optionalFunction(config.consumerHook, 'consumerHook'),
    batchHook: optionalFunction(config.batchHook, 'batchHook'),
  };
}
