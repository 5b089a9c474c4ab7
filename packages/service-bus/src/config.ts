// The Service Bus options, validated once (core validates the shared ones) and resolved to their defaults.
import { BrokerTraceConfigError } from '@brokertrace/core';
import type { ServiceBusConfig } from './types.js';

/** Default of `writeDiagnosticId`. */
export const DEFAULT_WRITE_DIAGNOSTIC_ID = true;

/** The top-level options this package adds to core's (core rejects any other unknown key, naming it). */
export const SERVICEBUS_OPTIONS: ReadonlyArray<string> = Object.freeze([
  'writeDiagnosticId',
  'producerHook',
  'sendHook',
  'consumerHook',
  'receiveHook',
  'settleHook',
]);

export interface ResolvedServiceBusOptions {
  readonly writeDiagnosticId: boolean;
  readonly producerHook: ServiceBusConfig['producerHook'];
  readonly sendHook: ServiceBusConfig['sendHook'];
  readonly consumerHook: ServiceBusConfig['consumerHook'];
  readonly receiveHook: ServiceBusConfig['receiveHook'];
  readonly settleHook: ServiceBusConfig['settleHook'];
}

function optionalFunction<T>(value: T | undefined, option: string): T | undefined {
  if (value !== undefined && typeof value !== 'function') throw new BrokerTraceConfigError(option, 'must be a function');
  return value;
}

/** Validates the Service Bus options of `config`; throws {@link BrokerTraceConfigError} naming the first bad one. */
export function resolveServiceBusOptions(config: ServiceBusConfig = {}): ResolvedServiceBusOptions {
  if (config === null || typeof config !== 'object') throw new BrokerTraceConfigError('config', 'must be an object');
  const write: unknown = config.writeDiagnosticId;
  if (write !== undefined && typeof write !== 'boolean') throw new BrokerTraceConfigError('writeDiagnosticId', 'must be a boolean');
  return {
    writeDiagnosticId: write ?? DEFAULT_WRITE_DIAGNOSTIC_ID,
    producerHook: optionalFunction(config.producerHook, 'producerHook'),
    sendHook: optionalFunction(config.sendHook, 'sendHook'),
    consumerHook: optionalFunction(config.consumerHook, 'consumerHook'),
    receiveHook: optionalFunction(config.receiveHook, 'receiveHook'),
    settleHook: optionalFunction(config.settleHook, 'settleHook'),
  };
}
