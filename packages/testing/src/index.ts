// A tiny in-memory OpenTelemetry setup for brokertrace's tests: spans, open spans and metrics, reset per test.
import { SamplingDecision, context, metrics, propagation, trace } from '@opentelemetry/api';
import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { AggregationTemporality, DataPointType, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import type { Histogram } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { ReadableSpan, Sampler, SpanProcessor } from '@opentelemetry/sdk-trace';

/** One metric data point, merged over every collection since the last reset. */
export type TestMetricPoint =
  | { kind: 'sum'; attributes: Attributes; value: number }
  | {
      kind: 'histogram';
      attributes: Attributes;
      count: number;
      sum: number;
      min: number | undefined;
      max: number | undefined;
      boundaries: number[];
      bucketCounts: number[];
    }
  | { kind: 'gauge'; attributes: Attributes; value: number };

export interface TestTelemetry {
  /** A tracer of the registered provider. */
  readonly tracer: Tracer;
  /** The registered tracer provider. */
  readonly provider: TracerProvider;
  /** The registered meter provider. */
  readonly meterProvider: MeterProvider;
  readonly exporter: InMemorySpanExporter;
  /** Finished spans since the last reset, in the order they ended. */
  spans(): ReadableSpan[];
  /** Spans started since the last reset and not ended yet. */
  openSpans(): ReadableSpan[];
  /** Finished spans with this name. */
  spansNamed(name: string): ReadableSpan[];
  /** Collects metrics and returns every data point recorded since the last reset, by metric name. */
  metrics(): Promise<Record<string, TestMetricPoint[]>>;
  /** Forgets spans (finished and open) and metrics. Return it from `beforeEach`: `beforeEach(() => t.reset())`. */
  reset(): Promise<void>;
  /** Runs `fn` inside a new active span (handy as an "ambient" span). */
  withSpan<T>(name: string, fn: (span: Span) => T, parent?: Context): T;
}

class OpenSpanTracker implements SpanProcessor {
  readonly open = new Set<ReadableSpan>();
  onStart(span: Span): void {
    this.open.add(span as unknown as ReadableSpan);
  }
  onEnd(span: ReadableSpan): void {
    this.open.delete(span);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

class TestMetricReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.DELTA });
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

function attributesKey(attributes: Attributes): string {
  return JSON.stringify(Object.keys(attributes).sort().map((k) => [k, attributes[k]]));
}

class Telemetry implements TestTelemetry {
  readonly exporter = new InMemorySpanExporter();
  readonly provider: TracerProvider;
  readonly meterProvider: MeterProvider;
  readonly tracer: Tracer;
  private readonly tracker = new OpenSpanTracker();
  private readonly reader = new TestMetricReader();
  private points = new Map<string, Map<string, TestMetricPoint>>();
  private pending: Promise<void> = Promise.resolve();

  constructor(sampler: Sampler | undefined) {
    this.provider = new TracerProvider({
      sampler,
      // Above the SDK's default of 128 links, so tests can check a batch span's link to every message.
      spanLimits: { linkCountLimit: 10_000 },
      spanProcessors: [new SimpleSpanProcessor({ exporter: this.exporter }), this.tracker],
    });
    this.meterProvider = new MeterProvider({ readers: [this.reader] });
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(
      new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
    );
    trace.setGlobalTracerProvider(this.provider);
    metrics.setGlobalMeterProvider(this.meterProvider);
    this.tracer = this.provider.getTracer('brokertrace-test');
  }

  spans(): ReadableSpan[] {
    return this.exporter.getFinishedSpans();
  }

  openSpans(): ReadableSpan[] {
    return [...this.tracker.open];
  }

  spansNamed(name: string): ReadableSpan[] {
    return this.spans().filter((s) => s.name === name);
  }

  reset(): Promise<void> {
    this.exporter.reset();
    this.tracker.open.clear();
    this.points = new Map();
    // Delta temporality: collecting now discards whatever was recorded before the reset.
    this.pending = this.reader.collect().then(
      () => undefined,
      () => undefined,
    );
    return this.pending;
  }

  async metrics(): Promise<Record<string, TestMetricPoint[]>> {
    await this.pending;
    const { resourceMetrics } = await this.reader.collect();
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) {
        let byAttributes = this.points.get(metric.descriptor.name);
        if (byAttributes === undefined) this.points.set(metric.descriptor.name, (byAttributes = new Map<string, TestMetricPoint>()));
        for (const dp of metric.dataPoints) {
          const key = attributesKey(dp.attributes);
          const previous = byAttributes.get(key);
          if (metric.dataPointType === DataPointType.HISTOGRAM) {
            const h = dp.value as Histogram;
            if (previous?.kind === 'histogram') {
              previous.count += h.count;
              previous.sum += h.sum ?? 0;
              previous.min = Math.min(previous.min ?? Infinity, h.min ?? Infinity);
              previous.max = Math.max(previous.max ?? -Infinity, h.max ?? -Infinity);
              h.buckets.counts.forEach((c, i) => (previous.bucketCounts[i] = (previous.bucketCounts[i] ?? 0) + c));
            } else {
              byAttributes.set(key, {
                kind: 'histogram',
                attributes: dp.attributes,
                count: h.count,
                sum: h.sum ?? 0,
                min: h.min,
                max: h.max,
                boundaries: [...h.buckets.boundaries],
                bucketCounts: [...h.buckets.counts],
              });
            }
          } else if (metric.dataPointType === DataPointType.SUM) {
            const value = dp.value as number;
            if (previous?.kind === 'sum') previous.value += value;
            else byAttributes.set(key, { kind: 'sum', attributes: dp.attributes, value });
          } else if (metric.dataPointType === DataPointType.GAUGE) {
            byAttributes.set(key, { kind: 'gauge', attributes: dp.attributes, value: dp.value as number });
          }
        }
      }
    }
    const out: Record<string, TestMetricPoint[]> = {};
    for (const [name, byAttributes] of this.points) out[name] = [...byAttributes.values()];
    return out;
  }

  withSpan<T>(name: string, fn: (span: Span) => T, parent?: Context): T {
    return this.tracer.startActiveSpan(name, {}, parent ?? context.active(), (span) => {
      try {
        return fn(span);
      } finally {
        span.end();
      }
    });
  }
}

const GLOBAL_KEY = Symbol.for('brokertrace.testing.telemetry');

/** Options of the FIRST {@link setupTestTelemetry} call in a process (later calls return the same instance). */
export interface TestTelemetryOptions {
  /** Sampler of the test tracer provider. Default: the SDK's default (parent-based, always on). */
  sampler?: Sampler;
}

/**
 * Registers, once per process (per jest test file), a global tracer provider exporting to memory
 * (SimpleSpanProcessor), an AsyncLocalStorage context manager, the W3C trace-context + baggage propagator and
 * a meter provider with an in-memory reader; returns the handle to read them.
 *
 * @example
 * const t = setupTestTelemetry();
 * beforeEach(() => t.reset());
 */
export function setupTestTelemetry(options: TestTelemetryOptions = {}): TestTelemetry {
  const holder = globalThis as { [GLOBAL_KEY]?: TestTelemetry };
  return (holder[GLOBAL_KEY] ??= new Telemetry(options.sampler));
}

/**
 * A tracer provider whose sampler records nothing and remembers the attributes each span offered it at the start,
 * which is all a sampler ever sees: what a test of "samplers see X, only recorded spans get Y" asserts on.
 */
export function startAttributesProvider(): { provider: TracerProvider; seen: Attributes[] } {
  const seen: Attributes[] = [];
  const sampler: Sampler = {
    shouldSample: (_context, _traceId, _name, _kind, attributes) => {
      seen.push({ ...attributes });
      return { decision: SamplingDecision.NOT_RECORD };
    },
    toString: () => 'StartAttributesSampler',
  };
  return { provider: new TracerProvider({ sampler }), seen };
}

// Re-exported so that tests of every package reach these without depending on the SDK packages themselves.
export { suppressTracing } from '@opentelemetry/core';
export { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace';
export type { ReadableSpan, Sampler as SdkSampler } from '@opentelemetry/sdk-trace';
export * from './hostile.js';
