// The Pub/Sub-specific options, validated once (core validates the shared ones) and resolved to their defaults.
import { BrokerTraceConfigError } from '@brokertrace/core';
import type { PubSubConfig } from './types.js';

/** Default of `writeGoogclientTraceparent`. */
export const DEFAULT_WRITE_GOOGCLIENT_TRACEPARENT = false;

/** The top-level options this package adds to core's (core rejects any other unknown key, naming it). */
export const PUBSUB_OPTIONS: ReadonlyArray<string> = Object.freeze(['writeGoogclientTraceparent', 'publishHook', 'sendHook', 'processHook']);

export interface ResolvedPubSubOptions {
  readonly writeGoogclientTraceparent: boolean;
  readonly publishHook: PubSubConfig['publishHook'];
  readonly sendHook: PubSubConfig['sendHook'];
  readonly processHook: PubSubConfig['processHook'];
}

function optionalFunction<T>(value: T | undefined, option: string): T | undefined {
  if (value !== undefined && typeof value !== 'function') throw new BrokerTraceConfigError(option, 'must be a function');
  return value;
}

/** Validates the Pub/Sub options of `config`; throws {@link BrokerTraceConfigError} naming the first bad one. */
export function resolvePubSubOptions(config: PubSubConfig = {}): ResolvedPubSubOptions {
  if (config === null || typeof config !== 'object') throw new BrokerTraceConfigError('config', 'must be an object');
  const write: unknown = config.writeGoogclientTraceparent;
  if (write !== undefined && typeof write !== 'boolean') throw new BrokerTraceConfigError('writeGoogclientTraceparent', 'must be a boolean');
  return {
    writeGoogclientTraceparent: write ?? DEFAULT_WRITE_GOOGCLIENT_TRACEPARENT,
    publishHook: optionalFunction(config.publishHook, 'publishHook'),
    sendHook: optionalFunction(config.sendHook, 'sendHook'),
    processHook: optionalFunction(config.processHook, 'processHook'),
  };
}
