// The benchmark's arithmetic, from runs to verdicts: overhead as the median of per-round differences against the
// same round's baseline, and each CPU target judged again round by round (a verdict the rounds disagree on is
// noise). The figures a reader quotes come from here, so they are checked like code.
import { checkTargets, summarize } from '../bench/lib/stats';
import { readingTable } from '../bench/lib/report';
import type { RunRecord, VariantKind } from '../bench/lib/types';

/** One run of `variant` in `round` costing `usPerMsg` µs of CPU per message. */
function run(variant: VariantKind, round: number, usPerMsg: number): RunRecord {
  return {
    broker: 'kafka',
    path: 'consume',
    sampled: false,
    variant,
    round,
    messages: 1000,
    cpuMicros: usPerMsg * 1000,
    wallMs: 100,
    peakHeapBytes: 1 << 20,
    allocatedBytes: 1000 * (variant === 'baseline' ? 100 : 200),
    spansExported: 0,
    totalMessages: 1000,
    metricPoints: {},
  };
}

// Overheads over each round's baseline: floor 10, 10, 10; brokertrace 20, 12, 11; peer 15, 15, 15.
const runs: RunRecord[] = [
  ...[100, 200, 300].flatMap((base, i) => [
    run('baseline', i + 1, base),
    run('floor', i + 1, base + 10),
    run('brokertrace', i + 1, base + [20, 12, 11][i]!),
    run('peer', i + 1, base + 15),
  ]),
];

describe('bench figures', () => {
  it('takes the overhead as the median of per-round differences, whatever the baselines do', () => {
    const ours = summarize(runs).find((c) => c.variant === 'brokertrace')!;
    expect(ours.overheadUsPerMsg).toBeCloseTo(12);
    expect(ours.overheadByRound).toEqual({ 1: 20, 2: 12, 3: 11 });
  });

  it('says in how many rounds each CPU target held, judged on each round alone', () => {
    const [target] = checkTargets(summarize(runs));
    // Medians: 12 <= 1.25 x 10 and 12 <= 15, both met; round 1 (20 against 12.5 and 15) met neither.
    expect(target).toMatchObject({ floorMet: true, peerMet: true, floorRounds: { met: 2, of: 3 }, peerRounds: { met: 2, of: 3 } });
    expect(target!.vsFloor).toBeCloseTo(1.2);
  });

  it('prints the reading table from the same figures, rounds in brackets', () => {
    const table = readingTable(summarize(runs));
    expect(table.split('\n')[2]).toBe('| kafka consume | - / - / - | n/a (-), n/a (-) | 12.0 / 15.0 / 10.0 | 1.20x (2/3), 0.80x (2/3) |');
  });
});
