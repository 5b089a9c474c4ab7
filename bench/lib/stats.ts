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
    const differences = group.flatMap((run) => {
      const baseline = baselineOf(run);
      return baseline ? [cpuPerMessage(run) - cpuPerMessage(baseline)] : [];
    });
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
      overheadUsPerMsg: median(differences),
    };
  });
}

/** Whether brokertrace meets the target on one path. */
export interface TargetCheck {
  broker: BrokerName;
  path: PathName;
  /** Sampled: brokertrace's overhead / the peer's overhead (target <= 0.5). */
  sampledRatioVsPeer: number | undefined;
  sampledMet: boolean | undefined;
  /** Unsampled: brokertrace's overhead / the baseline's CPU per message (target <= 0.05). */
  unsampledShareOfBaseline: number | undefined;
  unsampledMet: boolean | undefined;
}

export const TARGET_RATIO_VS_PEER = 0.5;
export const TARGET_UNSAMPLED_SHARE = 0.05;

export function checkTargets(cases: readonly CaseFigures[]): TargetCheck[] {
  const find = (broker: BrokerName, path: PathName, sampled: boolean, variant: VariantKind) =>
    cases.find((c) => c.broker === broker && c.path === path && c.sampled === sampled && c.variant === variant);
  const paths = [...new Map(cases.map((c) => [`${c.broker}|${c.path}`, c] as const)).values()];
  return paths.map(({ broker, path }) => {
    const ours = find(broker, path, true, 'brokertrace');
    const peer = find(broker, path, true, 'peer');
    const oursOff = find(broker, path, false, 'brokertrace');
    const baseOff = find(broker, path, false, 'baseline');
    const sampledRatioVsPeer = ours && peer && peer.overheadUsPerMsg > 0 ? ours.overheadUsPerMsg / peer.overheadUsPerMsg : undefined;
    const unsampledShareOfBaseline = oursOff && baseOff ? oursOff.overheadUsPerMsg / baseOff.cpuUsPerMsg : undefined;
    return {
      broker,
      path,
      sampledRatioVsPeer,
      // Compared directly, so a peer overhead lost in the noise (<= 0) can only be met by the same.
      sampledMet: ours && peer ? ours.overheadUsPerMsg <= TARGET_RATIO_VS_PEER * peer.overheadUsPerMsg : undefined,
      unsampledShareOfBaseline,
      unsampledMet: unsampledShareOfBaseline === undefined ? undefined : unsampledShareOfBaseline <= TARGET_UNSAMPLED_SHARE,
    };
  });
}
