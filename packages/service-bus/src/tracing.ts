// One tracing setup (core's telemetry + the Service Bus options + the state every wrapper of it shares) per
// traceSender/traceReceiver/traceServiceBusClient call, or per ServiceBusInstrumentation. All cross-wrapper
// state lives here (WeakMaps keyed by the client's objects), never in module variables.
import { MessagingTelemetry } from '@brokertrace/core';
import type { Context, MeterProvider, SpanContext, TracerProvider } from '@opentelemetry/api';
import { SERVICEBUS_OPTIONS, resolveServiceBusOptions } from './config.js';
import type { ResolvedServiceBusOptions } from './config.js';
import { serviceBusErrorType } from './errors.js';
import type { ServiceBusConfig } from './types.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';

export class ServiceBusTracing {
  readonly telemetry: MessagingTelemetry;
  /** Creation contexts of the messages added to each traced batch, in order (undefined: no context). */
  readonly batches = new WeakMap<object, Array<SpanContext | undefined>>();
  /** The handler context (process span) of each message handed to a subscribe() handler, for its settlement. */
  readonly processed = new WeakMap<object, Context>();
  /** Messages being settled through the receiver's public methods (their span is already there). */
  readonly settlingExplicitly = new WeakSet<object>();
  /** > 0 while a traced sendMessages runs synchronously: the batch it creates for an array is the client's own. */
  sendDepth = 0;
  private current: ResolvedServiceBusOptions;
  private tracerProvider: TracerProvider | undefined;
  private meterProvider: MeterProvider | undefined;

  /** @param isActive false makes every wrapped object pass calls straight through (a disabled instrumentation). */
  constructor(
    config: ServiceBusConfig | undefined,
    readonly isActive: () => boolean = () => true,
  ) {
    this.current = resolveServiceBusOptions(config);
    this.telemetry = new MessagingTelemetry({
      system: 'servicebus',
      instrumentationName: PACKAGE_NAME,
      instrumentationVersion: PACKAGE_VERSION,
      errorType: serviceBusErrorType,
      config,
      packageOptions: SERVICEBUS_OPTIONS,
    });
  }

  get options(): ResolvedServiceBusOptions {
    return this.current;
  }

  /** Validates everything first, so a bad config leaves the old one in force. */
  setConfig(config: ServiceBusConfig | undefined): void {
    const next = resolveServiceBusOptions(config);
    this.telemetry.setConfig(config ?? {});
    this.current = next;
    // Providers handed over by InstrumentationBase stay in force unless the config names its own.
    if (this.tracerProvider && !config?.tracerProvider) this.setTracerProvider(this.tracerProvider);
    if (this.meterProvider && !config?.meterProvider) this.setMeterProvider(this.meterProvider);
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

