// One tracing setup (core's telemetry + the amqplib options) shared by every channel it traces: one per config
// object of the explicit wrappers, or one per AmqplibInstrumentation. setConfig and the provider setters change
// it in place, so the duplicate window and the redelivery memory survive them.
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import { MessagingTelemetry } from '@brokertrace/core';
import { AMQPLIB_OPTIONS, resolveAmqplibOptions, type ResolvedAmqplibOptions } from './config.js';
import { amqpErrorType } from './errors.js';
import type { AmqplibTraceConfig } from './types.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';

export class AmqplibTracing {
  readonly telemetry: MessagingTelemetry;
  private current: ResolvedAmqplibOptions;
  private tracerProvider: TracerProvider | undefined;
  private meterProvider: MeterProvider | undefined;

  /**
   * Throws `BrokerTraceConfigError` naming a bad option.
   * @param isActive false makes every traced channel pass calls straight through (a disabled instrumentation).
   */
  constructor(
    config: AmqplibTraceConfig | undefined,
    readonly isActive: () => boolean = () => true,
  ) {
    this.current = resolveAmqplibOptions(config);
    this.telemetry = new MessagingTelemetry({
      system: 'rabbitmq',
      instrumentationName: PACKAGE_NAME,
      instrumentationVersion: PACKAGE_VERSION,
      config,
      errorType: amqpErrorType,
      packageOptions: AMQPLIB_OPTIONS,
    });
  }

  get options(): ResolvedAmqplibOptions {
    return this.current;
  }

  /** Validates everything first, so a bad config leaves the old one in force. */
  setConfig(config: AmqplibTraceConfig | undefined): void {
    const next = resolveAmqplibOptions(config, this.current);
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

/** What every wrapper asks at call time: the tracing in force, or undefined to pass the call through. */
export type TracingSource = () => AmqplibTracing | undefined;
