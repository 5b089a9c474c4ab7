// What every wrapper needs at call time. The explicit wrappers hold a fixed one; the instrumentation hands out
// its current one (or none while disabled), so setConfig and disable take effect on already patched code.
import type { MessagingTelemetry } from '@brokertrace/core';
import type { AmqplibTraceConfig } from './types.js';

export interface TracingState {
  readonly telemetry: MessagingTelemetry;
  readonly config: AmqplibTraceConfig;
}

export type StateSource = () => TracingState | undefined;

/** Runs instrumentation-side work that must never break the caller; failures go to `diag`. */
export function safely<T>(work: () => T, onError: (error: unknown) => void): T | undefined {
  try {
    return work();
  } catch (error) {
    onError(error);
    return undefined;
  }
}
