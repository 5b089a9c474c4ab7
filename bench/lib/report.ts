// The benchmark's outputs: the printed table, and latest.json in the shape of issue 6 plus the machine.
import { readFileSync } from 'node:fs';
import { arch, cpus, release, totalmem, type as osType } from 'node:os';
import { join } from 'node:path';
import { checkTargets, TARGET_RATIO_VS_PEER, TARGET_UNSAMPLED_SHARE, type CaseFigures, type TargetCheck } from './stats.js';
import type { BrokerName, PathName, RunSize } from './types.js';

/** The machine, as results must say where they were measured. */
export function describeMachine(): Record<string, string | number> {
  const cpu = cpus();
  return {
    os: `${osType()} ${release()} ${arch()}`,
    cpu_model: cpu[0]?.model.trim() ?? 'unknown',
    cpu_count: cpu.length,
    memory_gb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
}

/** Versions of the clients and instrumentations measured (read from bench/node_modules). */
export function describeVersions(names: readonly string[]): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const name of names) {
    try {
      const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
      versions[name] = pkg.version;
    } catch {
      versions[name] = 'unknown';
    }
  }
  return versions;
}

const round = (value: number, digits: number): number => (Number.isFinite(value) ? Number(value.toFixed(digits)) : value);

export interface ReportInput {
  cases: CaseFigures[];
  /** The npm name of each broker's peer instrumentation (the `variant` field of its cases in the JSON). */
  peers: Record<BrokerName, string>;
  rounds: number;
  sizes: Record<PathName, RunSize>;
  versions: Record<string, string>;
  brokers: Record<string, string>;
  smoke: boolean;
  /** Whether the measured processes loaded @brokertrace/* from the sources (`--sources`) or the built dist. */
  sources: boolean;
}

export function resultsJson(input: ReportInput): object {
  const cpu = cpus();
  const variantName = (c: CaseFigures): string => (c.variant === 'peer' ? input.peers[c.broker] : c.variant);
  return {
    node: process.version,
    cpus: `${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown'}`,
    date: new Date().toISOString(),
    machine: describeMachine(),
    versions: input.versions,
    brokers: input.brokers,
    method: {
      rounds: input.rounds,
      smoke: input.smoke,
      measured_process: input.sources
        ? 'bench scripts through tsx, @brokertrace/* from packages/*/src'
        : 'bench scripts compiled to JavaScript on plain Node, @brokertrace/* from packages/*/dist (CommonJS)',
      sdk: 'TracerProvider + BatchSpanProcessor (queue 2^20) + exporter that drops spans; AlwaysOnSampler (sampled) or AlwaysOffSampler; W3C trace-context + baggage; AsyncLocalStorage context; no meter provider',
      messages: input.sizes,
      figures: 'medians over rounds; cpu = process.cpuUsage() user+system of the client process over the measured messages',
      overhead: 'median over rounds of (variant cpu_us_per_msg - baseline cpu_us_per_msg of the same round and sampling)',
    },
    cases: input.cases.map((c) => ({
      broker: c.broker,
      path: c.path,
      sampled: c.sampled,
      variant: variantName(c),
      cpu_us_per_msg: round(c.cpuUsPerMsg, 2),
      msgs_per_s: Math.round(c.msgsPerS),
      peak_heap_mb: round(c.peakHeapMb, 1),
    })),
    overhead: input.cases
      .filter((c) => c.variant !== 'baseline')
      .map((c) => ({ broker: c.broker, path: c.path, sampled: c.sampled, variant: variantName(c), cpu_us_per_msg: round(c.overheadUsPerMsg, 2), spans_per_msg: round(c.spansPerMsg, 2) })),
    targets: checkTargets(input.cases).map((t) => ({
      broker: t.broker,
      path: t.path,
      sampled_overhead_vs_peer: t.sampledRatioVsPeer === undefined ? null : round(t.sampledRatioVsPeer, 2),
      sampled_met: t.sampledMet ?? null,
      unsampled_overhead_share_of_baseline: t.unsampledShareOfBaseline === undefined ? null : round(t.unsampledShareOfBaseline, 3),
      unsampled_met: t.unsampledMet ?? null,
    })),
  };
}

const pad = (text: string, width: number): string => (text.length >= width ? text : text + ' '.repeat(width - text.length));
const padStart = (text: string, width: number): string => (text.length >= width ? text : ' '.repeat(width - text.length) + text);
const fixed = (value: number, digits: number): string => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const signed = (value: number, digits: number): string => (Number.isFinite(value) ? (value >= 0 ? '+' : '') + value.toFixed(digits) : 'n/a');
const metText = (met: boolean | undefined): string => (met === undefined ? 'n/a' : met ? 'met' : 'NOT met');

function targetLine(t: TargetCheck | undefined): string {
  if (!t) return '';
  const ratio = t.sampledRatioVsPeer === undefined ? 'peer overhead <= 0' : `${fixed(t.sampledRatioVsPeer, 2)}x the peer's`;
  const share = t.unsampledShareOfBaseline === undefined ? 'n/a' : `${fixed(t.unsampledShareOfBaseline * 100, 1)}% of baseline`;
  return (
    `  target: sampled overhead <= ${TARGET_RATIO_VS_PEER}x peer: ${metText(t.sampledMet)} (${ratio}); ` +
    `not-sampled overhead <= ${TARGET_UNSAMPLED_SHARE * 100}% of baseline: ${metText(t.unsampledMet)} (${share})`
  );
}

/** The table printed at the end of a run. */
export function resultsTable(input: ReportInput): string {
  const targets = checkTargets(input.cases);
  const lines: string[] = [];
  const header = [pad('', 12), pad('variant', 13), padStart('CPU µs/msg', 11), padStart('overhead', 10), padStart('vs peer', 8), padStart('msgs/s', 9), padStart('heap MB', 8), padStart('spans/msg', 10)].join(' ');
  const paths = [...new Map(input.cases.map((c) => [`${c.broker}|${c.path}`, c] as const)).values()];
  for (const { broker, path } of paths) {
    const size = input.sizes[path];
    lines.push('', `${broker} ${path}  (${size.measured} messages measured after ${size.warmup} warm-up, ${input.rounds} round(s); medians)`, header);
    for (const sampled of [true, false]) {
      const rows = input.cases.filter((c) => c.broker === broker && c.path === path && c.sampled === sampled);
      const peer = rows.find((c) => c.variant === 'peer');
      for (const variant of ['baseline', 'brokertrace', 'peer'] as const) {
        const c = rows.find((r) => r.variant === variant);
        if (!c) continue;
        const vsPeer = variant === 'brokertrace' && peer && peer.overheadUsPerMsg > 0 ? `${fixed(c.overheadUsPerMsg / peer.overheadUsPerMsg, 2)}x` : '';
        lines.push(
          [
            pad(variant === 'baseline' ? (sampled ? 'sampled' : 'not sampled') : '', 12),
            pad(variant, 13),
            padStart(fixed(c.cpuUsPerMsg, 1), 11),
            padStart(variant === 'baseline' ? '' : signed(c.overheadUsPerMsg, 1), 10),
            padStart(vsPeer, 8),
            padStart(fixed(c.msgsPerS, 0), 9),
            padStart(fixed(c.peakHeapMb, 1), 8),
            padStart(fixed(c.spansPerMsg, 2), 10),
          ].join(' '),
        );
      }
    }
    lines.push(targetLine(targets.find((t) => t.broker === broker && t.path === path)));
  }
  const peerNames = Object.entries(input.peers).map(([broker, name]) => `${broker}: ${name}@${input.versions[name] ?? '?'}`);
  lines.push('', `peer = ${peerNames.join(', ')}. Overhead = variant minus baseline of the same round (µs of client CPU per message).`);
  return lines.join('\n');
}
