// The one OpenTelemetry SDK setup every variant runs under, so that the only difference between variants is
// the instrumentation itself: a global tracer provider with an always-on (or always-off) sampler, a batch span
// processor, and an exporter that counts spans and drops them. The metrics variants add a real meter provider
// (sdk-metrics) whose reader collects once, at the end, to count the data points recorded.
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, ExportResultCode, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  TracerProvider,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';

/** Drops every span; counts them, and their links, so a run can prove that its variant really traced. */
export class CountingDropExporter implements SpanExporter {
  spans = 0;
  links = 0;

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.spans += spans.length;
    for (const span of spans) this.links += span.links.length;
    resultCallback({ code: ExportResultCode.SUCCESS });
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Collects on demand only (`collect()`): the instruments record every measurement for real (aggregation in
 * the SDK), while exporting, which happens per interval and not per message, stays out of the benchmark.
 */
class CollectingReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }

  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export interface BenchSdk {
  provider: TracerProvider;
  exporter: CountingDropExporter;
  /** Data points recorded so far, by instrumentation scope; empty without a meter provider. */
  metricPoints(): Promise<Record<string, number>>;
  shutdown(): Promise<void>;
}

/**
 * Registers the global context manager, W3C propagators and tracer provider, and with `withMetrics` a global
 * meter provider. Call once, before any instrumentation is created (instrumentations read the global providers).
 */
export function setupSdk(sampled: boolean, withMetrics = false): BenchSdk {
  const exporter = new CountingDropExporter();
  const provider = new TracerProvider({
    sampler: sampled ? new AlwaysOnSampler() : new AlwaysOffSampler(),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter,
        // A queue large enough that no span is ever dropped for lack of room: dropping would make a variant
        // that creates many spans look cheaper than it is.
        maxQueueSize: 1 << 20,
        maxExportBatchSize: 512,
        scheduledDelayMillis: 1000,
      }),
    ],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  trace.setGlobalTracerProvider(provider);
  const reader = withMetrics ? new CollectingReader() : undefined;
  const meterProvider = reader ? new MeterProvider({ readers: [reader] }) : undefined;
  if (meterProvider) metrics.setGlobalMeterProvider(meterProvider);
  return {
    provider,
    exporter,
    async metricPoints() {
      const points: Record<string, number> = {};
      if (!reader) return points;
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw new Error(`collecting metrics failed: ${errors.map(String).join('; ')}`);
      for (const scope of resourceMetrics.scopeMetrics) {
        const count = scope.metrics.reduce((sum, metric) => sum + metric.dataPoints.length, 0);
        if (count > 0) points[scope.scope.name] = (points[scope.scope.name] ?? 0) + count;
      }
      return points;
    },
    async shutdown() {
      await provider.shutdown();
      await meterProvider?.shutdown();
    },
  };
}
