// From runs to figures: medians per case, and overhead as the median of per-round differences against the
// baseline run of the same round (so slow drift of the machine or the broker cancels out).
import type { BrokerName, PathName, RunRecord, VariantKind } from './types.js';

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export const cpuPerMessage = (r: RunRecord): number => r.cpuMicros / r.messages;
const msgsPerSecond = (r: RunRecord): number => (r.messages * 1000) / r.wallMs;
const heapMb = (r: RunRecord): number => r.peakHeapBytes / (1024 * 1024);
const spansPerMessage = (r: RunRecord): number => r.spansExported / r.totalMessages;
export const allocatedPerMessage = (r: RunRecord): number => r.allocatedBytes / r.messages;

/** The medians of one (broker, path, sampled, variant) over its rounds. */
export interface CaseFigures {
  broker: BrokerName;
  path: PathName;
  sampled: boolean;
  variant: VariantKind;
  rounds: number;
  cpuUsPerMsg: number;
  msgsPerS: number;
  peakHeapMb: number;
  spansPerMsg: number;
  /** Median over rounds of (this variant's CPU/msg - the same round's baseline CPU/msg); 0 for the baseline. */
  overheadUsPerMsg: number;
  /** That difference in each round, by round number (what the targets' per-round agreement is read from). */
  overheadByRound: Record<number, number>;
  /** Bytes allocated on the JS heap per measured message. */
  allocBytesPerMsg: number;
  /** Median over rounds of (this variant's allocated bytes/msg - the same round's baseline's); 0 for the baseline. */
  heapOverheadBytesPerMsg: number;
}

const caseKey = (r: Pick<RunRecord, 'broker' | 'path' | 'sampled' | 'variant'>): string =>
  `${r.broker}|${r.path}|${r.sampled}|${r.variant}`;

export function summarize(runs: readonly RunRecord[]): CaseFigures[] {
  const groups = new Map<string, RunRecord[]>();
  for (const run of runs) {
    const key = caseKey(run);
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  const baselineOf = (run: RunRecord): RunRecord | undefined =>
    runs.find((b) => b.variant === 'baseline' && b.broker === run.broker && b.path === run.path && b.sampled === run.sampled && b.round === run.round);
  return [...groups.values()].map((group) => {
    const first = group[0] as RunRecord;
    const byRound = (figure: (r: RunRecord) => number): Record<number, number> => {
      const out: Record<number, number> = {};
      for (const run of group) {
        const baseline = baselineOf(run);
        if (baseline) out[run.round] = figure(run) - figure(baseline);
      }
      return out;
    };
    const cpuByRound = byRound(cpuPerMessage);
    return {
      broker: first.broker,
      path: first.path,
      sampled: first.sampled,
      variant: first.variant,
      rounds: group.length,
      cpuUsPerMsg: median(group.map(cpuPerMessage)),
      msgsPerS: median(group.map(msgsPerSecond)),
      peakHeapMb: median(group.map(heapMb)),
      spansPerMsg: median(group.map(spansPerMessage)),
      overheadUsPerMsg: median(Object.values(cpuByRound)),
      overheadByRound: cpuByRound,
      allocBytesPerMsg: median(group.map(allocatedPerMessage)),
      heapOverheadBytesPerMsg: median(Object.values(byRound(allocatedPerMessage))),
    };
  });
}

/** Issue 12's targets for brokertrace on every path, sampled and not: overhead <= 1.25x the floor's and <= the peer's; heap per message <= the peer's. */
export const TARGET_VS_FLOOR = 1.25;

/** brokertrace against its targets on one path with one sampling. Ratios are undefined when the divisor is <= 0 (lost in the noise). */
export interface TargetCheck {
  broker: BrokerName;
  path: PathName;
  sampled: boolean;
  /** brokertrace's CPU overhead / the floor's (target <= TARGET_VS_FLOOR). */
  vsFloor: number | undefined;
  floorMet: boolean | undefined;
  /** brokertrace's CPU overhead / the peer's (target <= 1). */
  vsPeer: number | undefined;
  peerMet: boolean | undefined;
  /** brokertrace's heap allocated per message over the baseline / the peer's (target <= 1). */
  heapVsPeer: number | undefined;
  heapMet: boolean | undefined;
  /**
   * In how many of the rounds both were measured in the CPU target held, judged on each round's own runs: a
   * verdict every round agrees with is firm, one that flips from round to round is within the machine's noise.
   */
  floorRounds: RoundAgreement | undefined;
  peerRounds: RoundAgreement | undefined;
}

/** Rounds in which a target held, of the rounds compared. */
export interface RoundAgreement {
  met: number;
  of: number;
}

/** Per round: brokertrace's overhead <= `factor` x the other variant's, in the rounds both have. */
function roundAgreement(ours: CaseFigures, other: CaseFigures | undefined, factor: number): RoundAgreement | undefined {
  if (!other) return undefined;
  let met = 0;
  let of = 0;
  for (const [round, value] of Object.entries(ours.overheadByRound)) {
    const theirs = other.overheadByRound[Number(round)];
    if (theirs === undefined) continue;
    of++;
    if (value <= factor * theirs) met++;
  }
  return of === 0 ? undefined : { met, of };
}

const ratio = (ours: number, theirs: number): number | undefined => (theirs > 0 ? ours / theirs : undefined);

export function findCase(cases: readonly CaseFigures[], broker: BrokerName, path: PathName, sampled: boolean, variant: VariantKind): CaseFigures | undefined {
  return cases.find((c) => c.broker === broker && c.path === path && c.sampled === sampled && c.variant === variant);
}

/** The bound brokertrace's CPU overhead must stay under on one row: the lower of 1.25x the floor's and the peer's. */
export function cpuTarget(floor: CaseFigures | undefined, peer: CaseFigures | undefined): number | undefined {
  const bounds = [floor && TARGET_VS_FLOOR * floor.overheadUsPerMsg, peer?.overheadUsPerMsg].filter((b): b is number => b !== undefined);
  return bounds.length === 0 ? undefined : Math.min(...bounds);
}

export function checkTargets(cases: readonly CaseFigures[]): TargetCheck[] {
  const rows = [...new Map(cases.filter((c) => c.variant === 'brokertrace').map((c) => [`${c.broker}|${c.path}|${c.sampled}`, c] as const)).values()];
  return rows.map((ours) => {
    const { broker, path, sampled } = ours;
    const floor = findCase(cases, broker, path, sampled, 'floor');
    const peer = findCase(cases, broker, path, sampled, 'peer');
    // Met or not is decided on the figures themselves, so that a divisor lost in the noise (<= 0) can only be
    // met by the same.
    return {
      broker,
      path,
      sampled,
      vsFloor: floor && ratio(ours.overheadUsPerMsg, floor.overheadUsPerMsg),
      floorMet: floor && ours.overheadUsPerMsg <= TARGET_VS_FLOOR * floor.overheadUsPerMsg,
      vsPeer: peer && ratio(ours.overheadUsPerMsg, peer.overheadUsPerMsg),
      peerMet: peer && ours.overheadUsPerMsg <= peer.overheadUsPerMsg,
      heapVsPeer: peer && ratio(ours.heapOverheadBytesPerMsg, peer.heapOverheadBytesPerMsg),
      heapMet: peer && ours.heapOverheadBytesPerMsg <= peer.heapOverheadBytesPerMsg,
      floorRounds: roundAgreement(ours, floor, TARGET_VS_FLOOR),
      peerRounds: roundAgreement(ours, peer, 1),
    };
  });
}

/** What metrics cost per message: a `+metrics` variant's CPU and heap overhead minus its tracing-only twin's. */
export interface MetricsCost {
  broker: BrokerName;
  path: PathName;
  instrumentation: 'brokertrace' | 'peer';
  cpuUsPerMsg: number;
  heapBytesPerMsg: number;
}

export function metricsCosts(cases: readonly CaseFigures[]): MetricsCost[] {
  return cases.flatMap((withMetrics) => {
    if (withMetrics.variant !== 'brokertrace+metrics' && withMetrics.variant !== 'peer+metrics') return [];
    const instrumentation = withMetrics.variant === 'brokertrace+metrics' ? 'brokertrace' : 'peer';
    const without = findCase(cases, withMetrics.broker, withMetrics.path, withMetrics.sampled, instrumentation);
    if (!without) return [];
    return [
      {
        broker: withMetrics.broker,
        path: withMetrics.path,
        instrumentation,
        cpuUsPerMsg: withMetrics.overheadUsPerMsg - without.overheadUsPerMsg,
        heapBytesPerMsg: withMetrics.heapOverheadBytesPerMsg - without.heapOverheadBytesPerMsg,
      },
    ];
  });
}
