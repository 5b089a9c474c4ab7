// One tracing setup (core's telemetry + the Kafka options) shared by every client it wraps: one per
// `traceProducer`/`traceConsumer` call, or one per `KafkaJsInstrumentation`.
import { MessagingTelemetry } from '@brokertrace/core';
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import { KAFKA_OPTIONS, resolveKafkaOptions } from './config.js';
import { kafkaErrorType } from './errors.js';
import type { ResolvedKafkaOptions } from './config.js';
import type { KafkaJsConfig } from './types.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';

export class KafkaTracing {
  readonly telemetry: MessagingTelemetry;
  private current: ResolvedKafkaOptions;
  private tracerProvider: TracerProvider | undefined;
  private meterProvider: MeterProvider | undefined;

  /** @param isActive false makes every wrapped client pass calls straight through (a disabled instrumentation). */
  constructor(
    config: KafkaJsConfig | undefined,
    readonly isActive: () => boolean = () => true,
  ) {
    this.current = resolveKafkaOptions(config);
    this.telemetry = new MessagingTelemetry({
      system: 'kafka',
      instrumentationName: PACKAGE_NAME,
      instrumentationVersion: PACKAGE_VERSION,
      config,
      errorType: kafkaErrorType,
      packageOptions: KAFKA_OPTIONS,
    });
  }

  get options(): ResolvedKafkaOptions {
    return this.current;
  }

  /** Validates everything first, so a bad config leaves the old one in force. */
  setConfig(config: KafkaJsConfig | undefined): void {
    const next = resolveKafkaOptions(config);
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
