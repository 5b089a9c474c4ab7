// What every reliability test shares, whatever the broker: tracer providers with a span ledger (open spans
// counted at the end), the faults injected into the tracing, heap measurement after forced GC, and test
// messages with a comparison that names the first difference.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { diag, propagation } from '@opentelemetry/api';
import type { Context, Sampler, Span, TextMapPropagator, TracerProvider } from '@opentelemetry/api';
import { setupTestTelemetry } from '@brokertrace/testing';
import type { ReadableSpan, SdkSampler, TestTelemetry } from '@brokertrace/testing';

// ---------------------------------------------------------------------------------------------------------
// Tracer providers with a ledger

export interface ProcessorLike {
  onStart(span: Span, parentContext: Context): void;
  onEnd(span: ReadableSpan): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

export type SdkProvider = TracerProvider & { shutdown(): Promise<void> };

/** The test telemetry (global propagator, context manager, an in-memory provider) of this test file. */
export function telemetry(): TestTelemetry {
  return setupTestTelemetry();
}

/**
 * Counts spans started and ended without keeping them (a soak must not measure its own exporter): the open
 * ones are what was never ended. `byName` counts ended spans per name.
 */
export class SpanLedger implements ProcessorLike {
  readonly open = new Set<Span>();
  readonly byName = new Map<string, number>();
  started = 0;
  ended = 0;
  onStart(span: Span): void {
    this.started++;
    this.open.add(span);
  }
  onEnd(span: ReadableSpan): void {
    this.ended++;
    this.open.delete(span as unknown as Span);
    this.byName.set(span.name, (this.byName.get(span.name) ?? 0) + 1);
  }
  /** Ended spans whose name starts with `prefix` (e.g. `process `). */
  endedNamed(prefix: string): number {
    let n = 0;
    for (const [name, count] of this.byName) if (name.startsWith(prefix)) n += count;
    return n;
  }
  openNames(): string[] {
    return [...this.open].map((s) => (s as unknown as ReadableSpan).name);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * A tracer provider of the SDK class the test telemetry uses, with a {@link SpanLedger} placed where an
 * exporter's processor would be: after `before` (a processor failing in onStart stops the SDK there), before
 * `after` (a processor failing in onEnd).
 */
export function ledgerProvider(options: { sampler?: Sampler; before?: ProcessorLike[]; after?: ProcessorLike[] } = {}): { provider: SdkProvider; ledger: SpanLedger } {
  const Provider = telemetry().provider.constructor as new (config: { sampler?: SdkSampler | Sampler; spanProcessors?: ProcessorLike[] }) => SdkProvider;
  const ledger = new SpanLedger();
  const provider = new Provider({ sampler: options.sampler, spanProcessors: [...(options.before ?? []), ledger, ...(options.after ?? [])] });
  return { provider, ledger };
}

// ---------------------------------------------------------------------------------------------------------
// Faults inside the tracing

export class FaultError extends Error {
  constructor(where: string) {
    super(`injected fault: ${where}`);
    this.name = 'FaultError';
  }
}

/** A processor that throws from onStart on every other span, or from onEnd on every span. */
function throwingProcessor(where: 'onStart' | 'onEnd', counter: FaultCounter): ProcessorLike {
  let n = 0;
  return {
    onStart: () => {
      if (where === 'onStart' && n++ % 2 === 0) {
        counter.fired++;
        throw new FaultError('span processor onStart');
      }
    },
    onEnd: () => {
      if (where === 'onEnd') {
        counter.fired++;
        throw new FaultError('span processor onEnd');
      }
    },
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
}

/** How often the injected fault fired: a fault test that never reached its fault proves nothing. */
export interface FaultCounter {
  fired: number;
}

export interface Fault {
  readonly name: string;
  /** The tracer provider to trace with (its ledger sees every span the fault lets start). */
  readonly provider: SdkProvider;
  readonly ledger: SpanLedger;
  /** A hook to pass as every hook option of the package (throws when this is the hook fault). */
  readonly hook: (span: Span, info: unknown) => void;
  readonly counter: FaultCounter;
  /** Installs the fault (the propagator swap) and returns the undo. */
  install(): () => void;
}

function registeredPropagator(): TextMapPropagator {
  const registry = (globalThis as Record<symbol, { propagation?: TextMapPropagator } | undefined>)[Symbol.for('opentelemetry.js.api.1')];
  if (registry?.propagation === undefined) throw new Error('no global propagator registered');
  return registry.propagation;
}

/** The four faults of issue 7, each built fresh (counters start at 0). */
export function faults(): Fault[] {
  const noop = (): (() => void) => () => undefined;
  const quietHook = (): void => undefined;
  const make = (name: string, build: (counter: FaultCounter) => Omit<Fault, 'name' | 'counter'>): Fault => {
    const counter: FaultCounter = { fired: 0 };
    return { name, counter, ...build(counter) };
  };
  return [
    make('a propagator that throws', (counter) => {
      const { provider, ledger } = ledgerProvider();
      const throwing: TextMapPropagator = {
        inject: () => {
          counter.fired++;
          throw new FaultError('propagator inject');
        },
        extract: () => {
          counter.fired++;
          throw new FaultError('propagator extract');
        },
        fields: () => ['traceparent'],
      };
      return {
        provider,
        ledger,
        hook: quietHook,
        install: () => {
          const original = registeredPropagator();
          propagation.disable();
          propagation.setGlobalPropagator(throwing);
          return () => {
            propagation.disable();
            propagation.setGlobalPropagator(original);
          };
        },
      };
    }),
    make('a span processor that throws', (counter) => {
      // Half the spans fail at start (the SDK then throws out of startSpan), every span fails at end.
      const { provider, ledger } = ledgerProvider({ before: [throwingProcessor('onStart', counter)], after: [throwingProcessor('onEnd', counter)] });
      return { provider, ledger, hook: quietHook, install: noop };
    }),
    make('a sampler that throws', (counter) => {
      const sampler: Sampler = {
        shouldSample: () => {
          counter.fired++;
          throw new FaultError('sampler');
        },
        toString: () => 'ThrowingSampler',
      };
      const { provider, ledger } = ledgerProvider({ sampler });
      return { provider, ledger, hook: quietHook, install: noop };
    }),
    make('a hook that throws', (counter) => {
      const { provider, ledger } = ledgerProvider();
      return {
        provider,
        ledger,
        hook: () => {
          counter.fired++;
          throw new FaultError('hook');
        },
        install: noop,
      };
    }),
  ];
}

/** Silences diag while faults are logged on purpose (each failure is logged once per call). */
export function quietDiag(): () => void {
  const spies = [jest.spyOn(diag, 'error').mockImplementation(() => undefined), jest.spyOn(diag, 'warn').mockImplementation(() => undefined)];
  return () => spies.forEach((s) => s.mockRestore());
}

// ---------------------------------------------------------------------------------------------------------
// Heap

/** Full garbage collection (jest runs without --expose-gc; V8 lets us turn it on at runtime). */
export function forceGc(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
}

export function heapUsedAfterGc(): number {
  forceGc();
  return process.memoryUsage().heapUsed;
}

export const MiB = 1024 * 1024;

/** A message count from the environment, or `fallback` when it is not set. */
function countFromEnv(name: string, fallback: number, minimum: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < minimum) throw new Error(`${name} must be an integer >= ${minimum}, got ${raw}`);
  return n;
}

/**
 * Messages of a soak: `BROKERTRACE_SOAK_MESSAGES` (the full issue-7 soak is 100000), else `ciDefault` (10,000,
 * less for an emulator too slow to pass that many in CI).
 */
export function soakMessages(ciDefault = 10_000): number {
  return countFromEnv('BROKERTRACE_SOAK_MESSAGES', ciDefault, 1000);
}

/** Messages of a no-harm run: `BROKERTRACE_RELIABILITY_MESSAGES` (issue 19's count is 10,000), else `ciDefault`. */
export function reliabilityMessages(ciDefault: number): number {
  return countFromEnv('BROKERTRACE_RELIABILITY_MESSAGES', ciDefault, 100);
}

/** Heap figures of a soak, printed for the report (jest shows console output of a passing test). */
export interface HeapReport {
  label: string;
  messages: number;
  samplesMiB: number[];
  growthMiB: number;
}

export function formatHeap(r: HeapReport): string {
  return `${r.label}: ${r.messages} messages; heap after GC (MiB) at each interval: ${r.samplesMiB.map((m) => m.toFixed(1)).join(' ')}; growth after warm-up ${r.growthMiB.toFixed(2)} MiB`;
}

/** Heap samples of a soak. */
export const SOAK_SAMPLES = 10;

/**
 * A soak: `step(from, to)` passes messages `from`..`to-1` through the broker (sent and handled), chunk by chunk
 * over 0..n-1; the heap is sampled after a forced GC each time another tenth is done. Prints the figures and
 * the time; the growth is between the second sample (state full, clients warm) and the last.
 */
export async function soak(label: string, n: number, chunk: number, step: (from: number, to: number) => Promise<void>): Promise<HeapReport> {
  const started = Date.now();
  const samples: number[] = [];
  for (let from = 0; from < n; from += chunk) {
    const to = Math.min(n, from + chunk);
    await step(from, to);
    while (samples.length < SOAK_SAMPLES && to >= ((samples.length + 1) * n) / SOAK_SAMPLES) samples.push(heapUsedAfterGc() / MiB);
  }
  const report: HeapReport = { label, messages: n, samplesMiB: samples, growthMiB: samples[samples.length - 1]! - samples[1]! };
  process.stdout.write(`${formatHeap(report)}; ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return report;
}

/**
 * What a soak asserts: ten samples, growth after warm-up below 8 MiB, and below 4 KiB per message passed after
 * the second sample. The second bound is the one a short CI run can fail: a wrapper keeping each message it saw
 * (about 6 KiB a Service Bus message) fails it at 1,000 messages, long before it reaches 8 MiB.
 */
export function expectBoundedHeap(report: HeapReport): void {
  expect(report.samplesMiB).toHaveLength(SOAK_SAMPLES);
  expect(report.growthMiB).toBeLessThan(8);
  const perMessage = (report.growthMiB * MiB) / (report.messages * (1 - 2 / SOAK_SAMPLES));
  expect(perMessage).toBeLessThan(4096);
}

// ---------------------------------------------------------------------------------------------------------
// Test messages

/** Payload bytes of message `i`: sizes from 0 to ~2 KiB, every byte value, invalid UTF-8 included. */
export function payloadOf(i: number): Buffer {
  const size = (i * 37) % 2048;
  const b = Buffer.alloc(size + 8);
  b.writeUInt32BE(i, 0);
  b.writeUInt32BE(size, 4);
  for (let j = 0; j < size; j++) b[8 + j] = (i + j * 31) & 0xff;
  return b;
}

/** Index of a payload written by {@link payloadOf}. */
export function indexOf(payload: Buffer | null | undefined): number {
  if (!payload || payload.length < 8) throw new Error(`not a test payload: ${payload === null ? 'null' : String(payload?.length)} bytes`);
  return payload.readUInt32BE(0);
}

/** Names the first difference between two byte strings, or undefined when equal. */
export function bytesDiff(what: string, expected: Uint8Array | null | undefined, actual: Uint8Array | null | undefined): string | undefined {
  if (expected == null || actual == null) return expected == actual ? undefined : `${what}: expected ${String(expected)}, got ${String(actual)}`;
  if (Buffer.compare(Buffer.from(expected), Buffer.from(actual)) === 0) return undefined;
  return `${what}: ${expected.length} bytes expected, ${actual.length} received (hex ${Buffer.from(actual).subarray(0, 16).toString('hex')}...)`;
}

/**
 * Deliveries out of order within their group (Kafka partition, SQS message group, Pub/Sub ordering key, a
 * whole Service Bus queue): `keyOf` names the group, `index` increases in send order within it.
 */
export function orderViolations<D extends { index: number }>(deliveries: readonly D[], keyOf: (d: D) => string | undefined = () => undefined): string[] {
  const last = new Map<string | undefined, number>();
  const out: string[] = [];
  for (const d of deliveries) {
    const key = keyOf(d);
    const previous = last.get(key);
    if (previous !== undefined && d.index <= previous) out.push(`${key === undefined ? 'order' : `group ${key}`}: #${d.index} after #${previous}`);
    last.set(key, d.index);
  }
  return out;
}

/** The first delivery of each index, in arrival order (at-least-once brokers deliver some twice). */
export function firstDeliveries<D extends { index: number }>(deliveries: readonly D[]): D[] {
  const seen = new Set<number>();
  return deliveries.filter((d) => {
    if (seen.has(d.index)) return false;
    seen.add(d.index);
    return true;
  });
}

/** Resolves once `check()` holds; rejects after `timeoutMs` with `what` and the count so far. */
export async function waitUntil(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * One test per fault of {@link faults}: `scenario` runs real sends and consumes with the fault installed; the
 * fault must have fired, and no span may be left open.
 */
export function describeTracingFaults(title: string, testName: string, scenario: (fault: Fault) => Promise<void>): void {
  describe(title, () => {
    let restoreDiag: () => void;
    beforeEach(() => (restoreDiag = quietDiag()));
    afterEach(() => restoreDiag());

    test.each(faults().map((f) => [f.name]))(`%s: ${testName}`, async (name) => {
      const fault = faults().find((f) => f.name === name)!;
      const uninstall = fault.install();
      try {
        await scenario(fault);
      } finally {
        uninstall();
      }
      expect(fault.counter.fired).toBeGreaterThan(0);
      expect(fault.ledger.openNames()).toEqual([]);
      await fault.provider.shutdown();
    });
  });
}
