// The producer loop of the benchmark: a warm-up that overlaps its sends (so that code is optimised where one send
// waits milliseconds for the broker), then a measured window of one send at a time, every message sent once.
import { Meter, measureProducer, WARMUP_IN_FLIGHT } from '../bench/lib/meter';

/** A send that takes a macrotask, recording which indices went out and how many calls overlapped. */
function recorder() {
  const sent: number[] = [];
  let inFlight = 0;
  const peaks = { warmup: 0, measured: 0 };
  let phase: 'warmup' | 'measured' = 'warmup';
  const send = async (first: number, count: number): Promise<void> => {
    inFlight++;
    peaks[phase] = Math.max(peaks[phase], inFlight);
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = first; i < first + count; i++) sent.push(i);
    inFlight--;
  };
  return { sent, peaks, send, measuring: () => (phase = 'measured') };
}

/** A meter that only remembers where its window opened and closed. */
function windowMeter(onStart: () => void): { meter: Meter; window: number[] } {
  const window: number[] = [];
  const meter = {
    start(handled: number) {
      window.push(handled);
      onStart();
    },
    stop(handled: number) {
      window.push(handled);
      return Promise.resolve();
    },
  } as unknown as Meter;
  return { meter, window };
}

describe('measureProducer', () => {
  it.each([1, 10, 100])('warms up with overlapping sends, measures one send at a time, sends each message once (batches of %i)', async (batchSize) => {
    const r = recorder();
    const { meter, window } = windowMeter(r.measuring);
    const size = { warmup: 1000, measured: 250 };
    await measureProducer(size, meter, batchSize, r.send);

    expect([...r.sent].sort((a, b) => a - b)).toEqual(Array.from({ length: 1250 }, (_, i) => i));
    expect(window).toEqual([1000, 1250]);
    expect(r.peaks.warmup).toBe(Math.min(WARMUP_IN_FLIGHT, Math.ceil(size.warmup / batchSize)));
    expect(r.peaks.measured).toBe(1);
  });

  it('opens the window exactly at the warm-up size when batches do not divide it', async () => {
    const r = recorder();
    const { meter, window } = windowMeter(r.measuring);
    await measureProducer({ warmup: 35, measured: 20 }, meter, 10, r.send);
    expect(window).toEqual([35, 55]);
    expect(r.sent).toHaveLength(55);
  });
});
