// The measurement window of one run: CPU time of the whole client process (`process.cpuUsage`, every thread:
// JS, GC, libuv), wall time, the highest heap sampled while the window is open, and the bytes allocated on
// the heap (V8's GC statistics: what the heap grew by, plus what every collection in the window freed).
import { GCProfiler, getHeapStatistics } from 'node:v8';
import type { RunSize } from './types.js';

// Often enough to see the heap between collections; each sample costs tens of µs of CPU, counted in the window.
const HEAP_SAMPLE_MS = 25;

/** What one window measured. */
export interface WindowFigures {
  messages: number;
  cpuMicros: number;
  wallMs: number;
  peakHeapBytes: number;
  allocatedBytes: number;
}

export class Meter {
  private cpuStart: NodeJS.CpuUsage | undefined;
  private wallStart = 0n;
  private messagesAtStart = 0;
  private peakHeap = 0;
  private heapAtStart = 0;
  private gc: GCProfiler | undefined;
  private sampler: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  private figures: WindowFigures | undefined;

  /**
   * @param settle work that belongs to the measured messages but happens after them (flushing the span
   *   processor); it runs inside the window
   * @param hooks called when the window opens and after it closed (the CPU profiler of `--cpu-prof`)
   */
  constructor(
    private readonly settle: () => Promise<void>,
    private readonly hooks: { opened?: () => void; closed?: () => Promise<void> } = {},
  ) {}

  get started(): boolean {
    return this.cpuStart !== undefined;
  }

  /** Opens the window; `handledSoFar` is how many messages were handled before it. */
  start(handledSoFar: number): void {
    if (this.cpuStart) return;
    this.messagesAtStart = handledSoFar;
    this.hooks.opened?.();
    this.gc = new GCProfiler();
    this.gc.start();
    this.heapAtStart = this.peakHeap = getHeapStatistics().used_heap_size;
    this.sampler = setInterval(() => this.sampleHeap(), HEAP_SAMPLE_MS);
    this.wallStart = process.hrtime.bigint();
    this.cpuStart = process.cpuUsage();
  }

  /** Closes the window once `handledSoFar` messages are handled in all; later calls return the same promise. */
  stop(handledSoFar: number): Promise<void> {
    this.stopping ??= this.close(handledSoFar);
    return this.stopping;
  }

  /** The figures, once the window is closed. */
  get result(): WindowFigures {
    if (!this.figures) throw new Error('the measurement window was never closed');
    return this.figures;
  }

  private async close(handledSoFar: number): Promise<void> {
    const cpuStart = this.cpuStart;
    if (!cpuStart) throw new Error('the measurement window was closed before it was opened');
    await this.settle();
    const cpu = process.cpuUsage(cpuStart);
    const wallNs = process.hrtime.bigint() - this.wallStart;
    const heapAtEnd = getHeapStatistics().used_heap_size;
    const collections = this.gc?.stop()?.statistics ?? [];
    this.sampleHeap();
    clearInterval(this.sampler);
    // used(end) = used(start) + allocated - freed, whatever was collected when.
    const freed = collections.reduce((sum, gc) => sum + gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize, 0);
    this.figures = {
      messages: handledSoFar - this.messagesAtStart,
      cpuMicros: cpu.user + cpu.system,
      wallMs: Number(wallNs) / 1e6,
      peakHeapBytes: this.peakHeap,
      allocatedBytes: heapAtEnd - this.heapAtStart + freed,
    };
    await this.hooks.closed?.();
  }

  private sampleHeap(): void {
    const used = getHeapStatistics().used_heap_size;
    if (used > this.peakHeap) this.peakHeap = used;
  }
}

/**
 * For consumers, whose handler is called by the client: counts handled messages, opens the window when the
 * warm-up messages are handled and closes it when the last one is. `done` settles when the window is closed.
 */
export class ConsumeCountdown {
  private handled = 0;
  private resolveDone!: () => void;
  private rejectDone!: (error: unknown) => void;
  readonly done = new Promise<void>((resolve, reject) => {
    this.resolveDone = resolve;
    this.rejectDone = reject;
  });

  constructor(
    private readonly size: RunSize,
    private readonly meter: Meter,
  ) {}

  /** Call after the handler has dealt with `count` messages. */
  add(count = 1): void {
    this.handled += count;
    if (!this.meter.started && this.handled >= this.size.warmup) this.meter.start(this.handled);
    if (this.handled >= this.size.warmup + this.size.measured) {
      // After the current handler returns, so that the instrumentation's span for it ends inside the window.
      setImmediate(() => void this.meter.stop(this.handled).then(this.resolveDone, this.rejectDone));
    }
  }
}

/**
 * Warm-up sends in flight at once. Where one send waits for the broker or the client (librdkafka's `linger.ms`,
 * Pub/Sub's batching delay, an emulator's round trip), a warm-up of one send at a time affordable there left
 * every variant's code cold (interpreted) for the whole measured window, so the variant with the most code
 * looked the most expensive (measured: Confluent produce-1 after 50 sequential sends, brokertrace 2.3x the floor).
 * Overlapping sends run the same functions as often in a fraction of the time.
 */
export const WARMUP_IN_FLIGHT = 16;

/**
 * For producers, whose loop we own: warm up ({@link WARMUP_IN_FLIGHT} calls of `send` at a time), then measure
 * `measured` messages sent by `send`, one call at a time.
 */
export async function measureProducer(
  size: RunSize,
  meter: Meter,
  batchSize: number,
  send: (firstIndex: number, count: number) => Promise<void>,
): Promise<void> {
  let sent = 0;
  // Each call takes the next indices before it waits, so overlapping calls never send the same message.
  const sendUpTo = async (target: number): Promise<void> => {
    while (sent < target) {
      const first = sent;
      const count = Math.min(batchSize, target - first);
      sent += count;
      await send(first, count);
    }
  };
  await Promise.all(Array.from({ length: WARMUP_IN_FLIGHT }, () => sendUpTo(size.warmup)));
  meter.start(sent);
  await sendUpTo(size.warmup + size.measured);
  await meter.stop(sent);
}
