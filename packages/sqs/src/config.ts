// The SQS-specific options, validated once (core validates the shared ones) and resolved to their defaults.
import { BrokerTraceConfigError } from '@brokertrace/core';
import type { SqsConfig } from './types.js';

/** SQS's maximum message size (body and attributes), the default of `MaximumMessageSize` since 2025. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1048576;
/** The smallest `MaximumMessageSize` a queue can have. */
export const MIN_MAX_MESSAGE_BYTES = 1024;

/** The top-level options this package adds to core's (core rejects any other unknown key, naming it). */
export const SQS_OPTIONS: ReadonlyArray<string> = Object.freeze([
  'maxMessageBytes',
  'writeAwsTraceHeader',
  'snsEnvelope',
  'traceEmptyReceives',
  'producerHook',
  'consumerHook',
  'receiveHook',
]);

export interface ResolvedSqsOptions {
  readonly maxMessageBytes: number;
  readonly writeAwsTraceHeader: boolean;
  readonly snsEnvelope: boolean;
  readonly traceEmptyReceives: boolean;
  readonly producerHook: SqsConfig['producerHook'];
  readonly consumerHook: SqsConfig['consumerHook'];
  readonly receiveHook: SqsConfig['receiveHook'];
}

function optionalBoolean(value: unknown, option: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new BrokerTraceConfigError(option, `must be a boolean, got ${typeof value}`);
  return value;
}

function optionalFunction<T>(value: T | undefined, option: string): T | undefined {
  if (value !== undefined && typeof value !== 'function') throw new BrokerTraceConfigError(option, 'must be a function');
  return value;
}

/** Validates the SQS options of `config`; throws {@link BrokerTraceConfigError} naming the first bad one. */
export function resolveSqsOptions(config: SqsConfig = {}): ResolvedSqsOptions {
  if (config === null || typeof config !== 'object') throw new BrokerTraceConfigError('config', 'must be an object');
  const max: unknown = config.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (typeof max !== 'number' || !Number.isSafeInteger(max) || max < MIN_MAX_MESSAGE_BYTES || max > DEFAULT_MAX_MESSAGE_BYTES) {
    throw new BrokerTraceConfigError(
      'maxMessageBytes',
      `must be an integer from ${MIN_MAX_MESSAGE_BYTES} to ${DEFAULT_MAX_MESSAGE_BYTES} (a queue's MaximumMessageSize), got ${JSON.stringify(max)}`,
    );
  }
  return {
    maxMessageBytes: max,
    writeAwsTraceHeader: optionalBoolean(config.writeAwsTraceHeader, 'writeAwsTraceHeader', false),
    snsEnvelope: optionalBoolean(config.snsEnvelope, 'snsEnvelope', true),
    traceEmptyReceives: optionalBoolean(config.traceEmptyReceives, 'traceEmptyReceives', false),
    producerHook: optionalFunction(config.producerHook, 'producerHook'),
    consumerHook: optionalFunction(config.consumerHook, 'consumerHook'),
    receiveHook: optionalFunction(config.receiveHook, 'receiveHook'),
  };
}
