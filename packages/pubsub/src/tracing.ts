// One tracing setup (core's telemetry + the Pub/Sub options + the state every wrapper of it shares) per
// `traceTopic`/`traceSubscription`/`tracePubSub` call, or per `PubSubInstrumentation`.
import { MessagingTelemetry } from '@brokertrace/core';
import type { MeterProvider, Span, SpanContext, TracerProvider } from '@opentelemetry/api';
import { PUBSUB_OPTIONS, resolvePubSubOptions } from './config.js';
import type { ResolvedPubSubOptions } from './config.js';
import { pubsubErrorType } from './errors.js';
import type { PubSubConfig } from './types.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';

/** What we remember about one received message between its hand-over and its settlement. */
export interface ReceivedState {
  /** Process spans still open for it (one per traced listener). */
  open: Span[];
  /** Acked or nacked through our wrappers: later plain settle calls are no-ops in the client, and get no span. */
  settled: boolean;
}

/** A message we passed to the client's batching: the context it carries, and its create span (if we made one). */
export interface PublishedState {
  creation: SpanContext | undefined;
}

export class PubSubTracing {
  readonly telemetry: MessagingTelemetry;
  /** Keyed by the attributes object we gave each message (the client sends exactly that object). */
  readonly published = new WeakMap<object, PublishedState>();
  readonly received = new WeakMap<object, ReceivedState>();
  private current: ResolvedPubSubOptions;
  private tracerProvider: TracerProvider | undefined;
  private meterProvider: MeterProvider | undefined;

  /** @param isActive false makes every wrapped object pass calls straight through (a disabled instrumentation). */
  constructor(
    config: PubSubConfig | undefined,
    readonly isActive: () => boolean = () => true,
  ) {
    this.current = resolvePubSubOptions(config);
    this.telemetry = new MessagingTelemetry({
      system: 'gcp_pubsub',
      instrumentationName: PACKAGE_NAME,
      instrumentationVersion: PACKAGE_VERSION,
      errorType: pubsubErrorType,
      config,
      packageOptions: PUBSUB_OPTIONS,
    });
  }

  get options(): ResolvedPubSubOptions {
    return this.current;
  }

  /** Validates everything first, so a bad config leaves the old one in force. */
  setConfig(config: PubSubConfig | undefined): void {
    const next = resolvePubSubOptions(config);
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

