// The one OpenTelemetry SDK setup every variant runs under, so that the only difference between variants is
// the instrumentation itself: a global tracer provider with an always-on (or always-off) sampler, a batch span
// processor, and an exporter that counts spans and drops them.
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, ExportResultCode, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  TracerProvider,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';

/** Drops every span; counts them so a run can prove that its variant really traced. */
export class CountingDropExporter implements SpanExporter {
  spans = 0;

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.spans += spans.length;
    resultCallback({ code: ExportResultCode.SUCCESS });
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export interface BenchSdk {
  provider: TracerProvider;
  exporter: CountingDropExporter;
}

/** Registers the global context manager, W3C propagators and tracer provider. Call once, before any instrumentation. */
export function setupSdk(sampled: boolean): BenchSdk {
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
  return { provider, exporter };
}
