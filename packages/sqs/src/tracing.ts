// One tracing setup (core's telemetry + the SQS options) shared by every client it traces: one per
// sqsTracing() config object, or one per SqsInstrumentation. setConfig and the provider setters change it in
// place, so the duplicate window survives them.
import { MessagingTelemetry } from '@brokertrace/core';
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import { SQS_OPTIONS, resolveSqsOptions } from './config.js';
import type { ResolvedSqsOptions } from './config.js';
import { Endpoints } from './queue.js';
import { shared } from './shared.js';
import type { SqsConfig } from './types.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';

/** `error.type` from SQS's own error code (`AWS.SimpleQueueService.NonExistentQueue`, `OverLimit`, ...). */
export function sqsErrorType(error: unknown): string | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  try {
    const code = (error as { Code?: unknown }).Code;
    if (typeof code === 'string' && code !== '') return code;
  } catch {
    // A hostile error object: core falls back to the class name.
  }
  return undefined;
}

export class SqsTracing {
  readonly telemetry: MessagingTelemetry;
  readonly endpoints = new Endpoints();
  private current: ResolvedSqsOptions;
  private tracerProvider: TracerProvider | undefined;
  private meterProvider: MeterProvider | undefined;

  /**
   * Throws `BrokerTraceConfigError` naming a bad option.
   * @param isActive false makes every traced client pass calls straight through (a disabled instrumentation).
   */
  constructor(
    config: SqsConfig | undefined,
    readonly isActive: () => boolean = () => true,
  ) {
    this.current = resolveSqsOptions(config);
    this.telemetry = new MessagingTelemetry({
      system: 'aws_sqs',
      instrumentationName: PACKAGE_NAME,
      instrumentationVersion: PACKAGE_VERSION,
      config,
      errorType: sqsErrorType,
      packageOptions: SQS_OPTIONS,
    });
  }

  get options(): ResolvedSqsOptions {
    return this.current;
  }

  /** Validates everything first, so a bad config leaves the old one in force. */
  setConfig(config: SqsConfig | undefined): void {
    const next = resolveSqsOptions(config);
    this.telemetry.setConfig(config ?? {});
    this.current = next;
    // Providers handed over by InstrumentationBase stay in force unless the config names its own.
    if (this.tracerProvider && !config?.tracerProvider) this.telemetry.setTracerProvider(this.tracerProvider);
    if (this.meterProvider && !config?.meterProvider) this.telemetry.setMeterProvider(this.meterProvider);
  }

  setTracerProvider(provider: TracerProvider): void {
    this.tracerProvider = provider;
    this.telemetry.setTracerProvider(provider);
  }

  setMeterProvider(provider: MeterProvider): void {
    this.meterProvider = provider;
    this.telemetry.setMeterProvider(provider);
  }
}

/** The tracing of a config object (created once per object), or the default one for no config. */
export function tracingFor(config: SqsConfig | undefined): SqsTracing {
  const state = shared();
  if (config === undefined) return (state.defaultTracing ??= new SqsTracing(undefined));
  let tracing = state.tracingByConfig.get(config);
  if (tracing === undefined) {
    tracing = new SqsTracing(config);
    state.tracingByConfig.set(config, tracing);
  }
  return tracing;
}
