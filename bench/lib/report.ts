// The benchmark's outputs: the printed table, and latest.json (issue 6's shape, issue 12's targets, the machine).
import { readFileSync } from 'node:fs';
import { arch, cpus, release, totalmem, type as osType } from 'node:os';
import { join } from 'node:path';
import { checkTargets, findCase, metricsCosts, TARGET_VS_FLOOR, type CaseFigures, type RoundAgreement, type TargetCheck } from './stats.js';
import type { BrokerMeasured } from './results.js';
import type { BrokerName, PathName, RunSize, VariantKind } from './types.js';

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
  /** Paths a broker's peer cannot run, with the reason (they have no peer variants). */
  peerMissing: Partial<Record<BrokerName, Partial<Record<PathName, string>>>>;
  /** This run's rounds and default sizes (each broker's own are in `measured`). */
  rounds: number;
  sizes: Record<PathName, RunSize>;
  /** When and how each broker in `cases` was measured (with `--merge`, some in an earlier run). */
  measured: Record<string, BrokerMeasured>;
  /** The brokers whose figures were kept from an earlier run (`--merge`), not measured by this one. */
  kept: readonly string[];
  versions: Record<string, string>;
  brokers: Record<string, string>;
  smoke: boolean;
  /** Whether the measured processes loaded @brokertrace/* from the sources (`--sources`) or the built dist. */
  sources: boolean;
}

/** A variant as latest.json names it: the peer by its npm name. */
function variantName(input: ReportInput, broker: BrokerName, variant: VariantKind): string {
  if (variant === 'peer') return input.peers[broker];
  if (variant === 'peer+metrics') return `${input.peers[broker]}+metrics`;
  return variant;
}

const orNull = (value: number | undefined, digits: number): number | null => (value === undefined ? null : round(value, digits));

export function resultsJson(input: ReportInput): object {
  const cpu = cpus();
  const name = (c: CaseFigures): string => variantName(input, c.broker, c.variant);
  return {
    node: process.version,
    cpus: `${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown'}`,
    date: new Date().toISOString(),
    machine: describeMachine(),
    versions: input.versions,
    brokers: input.brokers,
    measured: input.measured,
    peer_missing: input.peerMissing,
    method: {
      rounds: input.rounds,
      smoke: input.smoke,
      measured_process: input.sources
        ? 'bench scripts through tsx, @brokertrace/* from packages/*/src'
        : 'bench scripts compiled to JavaScript on plain Node, @brokertrace/* from packages/*/dist (CommonJS)',
      sdk: 'TracerProvider + BatchSpanProcessor (queue 2^20) + exporter that drops spans; AlwaysOnSampler (sampled) or AlwaysOffSampler; W3C trace-context + baggage; AsyncLocalStorage context; no meter provider except for the +metrics variants (sdk-metrics MeterProvider, a reader collecting at the end; sampled only)',
      floor: 'bench/lib/floor.ts on @opentelemetry/api alone: produce, a PRODUCER span per message with the four required attributes, context injected into a copy of the headers, ended when the send resolves; consume, context extracted from the headers, a CONSUMER span under it, the handler run in its context, ended when it settles',
      messages: input.sizes,
      figures: 'medians over rounds; cpu = process.cpuUsage() user+system of the client process over the measured messages; alloc = bytes allocated on the JS heap per measured message (V8 GC statistics)',
      overhead: 'median over rounds of (variant figure - baseline figure of the same round and sampling)',
    },
    cases: input.cases.map((c) => ({
      broker: c.broker,
      path: c.path,
      sampled: c.sampled,
      variant: name(c),
      cpu_us_per_msg: round(c.cpuUsPerMsg, 2),
      msgs_per_s: Math.round(c.msgsPerS),
      peak_heap_mb: round(c.peakHeapMb, 1),
      alloc_bytes_per_msg: Math.round(c.allocBytesPerMsg),
    })),
    overhead: input.cases
      .filter((c) => c.variant !== 'baseline')
      .map((c) => ({
        broker: c.broker,
        path: c.path,
        sampled: c.sampled,
        variant: name(c),
        cpu_us_per_msg: round(c.overheadUsPerMsg, 2),
        heap_bytes_per_msg: Math.round(c.heapOverheadBytesPerMsg),
        spans_per_msg: round(c.spansPerMsg, 2),
      })),
    targets: {
      rule: `brokertrace, every path, sampled and not: CPU overhead <= ${TARGET_VS_FLOOR}x the floor's and <= the peer's; heap allocated per message (over the baseline) <= the peer's. Never asserted.`,
      rows: checkTargets(input.cases).map((t) => {
        const overheadOf = (variant: VariantKind): number | null => orNull(findCase(input.cases, t.broker, t.path, t.sampled, variant)?.overheadUsPerMsg, 2);
        return {
          broker: t.broker,
          path: t.path,
          sampled: t.sampled,
          overhead_us_per_msg: { brokertrace: overheadOf('brokertrace'), floor: overheadOf('floor'), peer: overheadOf('peer') },
          vs_floor: orNull(t.vsFloor, 2),
          floor_met: t.floorMet ?? null,
          floor_met_rounds: t.floorRounds ?? null,
          vs_peer: orNull(t.vsPeer, 2),
          peer_met: t.peerMet ?? null,
          peer_met_rounds: t.peerRounds ?? null,
          heap_vs_peer: orNull(t.heapVsPeer, 2),
          heap_met: t.heapMet ?? null,
        };
      }),
    },
    metrics_cost: metricsCosts(input.cases).map((m) => ({
      broker: m.broker,
      path: m.path,
      variant: variantName(input, m.broker, m.instrumentation),
      cpu_us_per_msg: round(m.cpuUsPerMsg, 2),
      heap_bytes_per_msg: Math.round(m.heapBytesPerMsg),
    })),
  };
}

const pad = (text: string, width: number): string => (text.length >= width ? text : text + ' '.repeat(width - text.length));
const padStart = (text: string, width: number): string => (text.length >= width ? text : ' '.repeat(width - text.length) + text);
const fixed = (value: number, digits: number): string => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const signed = (value: number, digits: number): string => (Number.isFinite(value) ? (value >= 0 ? '+' : '') + value.toFixed(digits) : 'n/a');
const times = (value: number | undefined): string => (value === undefined ? 'n/a' : `${fixed(value, 2)}x`);
const metText = (met: boolean | undefined): string => (met === undefined ? 'n/a' : met ? 'met' : 'NOT met');
const inRounds = (rounds: RoundAgreement | undefined): string => (rounds === undefined || rounds.of < 2 ? '' : `, ${rounds.met}/${rounds.of} rounds`);

function targetLine(t: TargetCheck | undefined): string | undefined {
  if (!t) return undefined;
  return (
    `  target, ${t.sampled ? 'sampled' : 'not sampled'}: overhead <= ${TARGET_VS_FLOOR}x floor: ${metText(t.floorMet)} (${times(t.vsFloor)}${inRounds(t.floorRounds)}); ` +
    `<= peer: ${metText(t.peerMet)} (${times(t.vsPeer)}${inRounds(t.peerRounds)}); heap/msg <= peer: ${metText(t.heapMet)} (${times(t.heapVsPeer)})`
  );
}

/** The variant a row's `vs peer` compares with: brokertrace with the peer, each with the same meter provider. */
const peerOf: Partial<Record<VariantKind, VariantKind>> = { brokertrace: 'peer', 'brokertrace+metrics': 'peer+metrics' };

/** The table printed at the end of a run. */
export function resultsTable(input: ReportInput): string {
  const targets = checkTargets(input.cases);
  const costs = metricsCosts(input.cases);
  const lines: string[] = [];
  const header = [pad('', 12), pad('variant', 20), padStart('CPU µs/msg', 11), padStart('overhead', 9), padStart('vs floor', 9), padStart('vs peer', 8), padStart('msgs/s', 8), padStart('heap MB', 8), padStart('B/msg', 7), padStart('+B/msg', 7), padStart('spans/msg', 10)].join(' ');
  const paths = [...new Map(input.cases.map((c) => [`${c.broker}|${c.path}`, c] as const)).values()];
  for (const { broker, path } of paths) {
    const measured = input.measured[broker];
    const size = measured?.messages[path] ?? input.sizes[path];
    const when = measured && input.kept.includes(broker) ? `, kept from the run of ${measured.date.slice(0, 16)}Z` : '';
    lines.push('', `${broker} ${path}  (${size.measured} messages measured after ${size.warmup} warm-up, ${measured?.rounds ?? input.rounds} round(s)${when}; medians)`, header);
    const footer: string[] = [];
    for (const sampled of [true, false]) {
      const rows = input.cases.filter((c) => c.broker === broker && c.path === path && c.sampled === sampled);
      const floor = rows.find((c) => c.variant === 'floor');
      rows.forEach((c, index) => {
        const other = peerOf[c.variant];
        const peer = other && rows.find((r) => r.variant === other);
        const vsFloor = c.variant === 'brokertrace' && floor && floor.overheadUsPerMsg > 0 ? times(c.overheadUsPerMsg / floor.overheadUsPerMsg) : '';
        const vsPeer = peer && peer.overheadUsPerMsg > 0 ? times(c.overheadUsPerMsg / peer.overheadUsPerMsg) : '';
        const base = c.variant === 'baseline';
        lines.push(
          [
            pad(index === 0 ? (sampled ? 'sampled' : 'not sampled') : '', 12),
            pad(c.variant, 20),
            padStart(fixed(c.cpuUsPerMsg, 1), 11),
            padStart(base ? '' : signed(c.overheadUsPerMsg, 1), 9),
            padStart(vsFloor, 9),
            padStart(vsPeer, 8),
            padStart(fixed(c.msgsPerS, 0), 8),
            padStart(fixed(c.peakHeapMb, 1), 8),
            padStart(fixed(c.allocBytesPerMsg, 0), 7),
            padStart(base ? '' : signed(c.heapOverheadBytesPerMsg, 0), 7),
            padStart(fixed(c.spansPerMsg, 2), 10),
          ].join(' '),
        );
      });
      const line = targetLine(targets.find((t) => t.broker === broker && t.path === path && t.sampled === sampled));
      if (line) footer.push(line);
    }
    const missing = input.peerMissing[broker]?.[path];
    if (missing) footer.push(`  no peer variant: ${input.peers[broker]} ${missing}`);
    const cost = costs.filter((m) => m.broker === broker && m.path === path);
    if (cost.length > 0) {
      footer.push(`  metrics cost, sampled: ${cost.map((m) => `${m.instrumentation} ${signed(m.cpuUsPerMsg, 1)} µs, ${signed(m.heapBytesPerMsg, 0)} B per message`).join('; ')}`);
    }
    lines.push(...footer);
  }
  const peerNames = Object.entries(input.peers).map(([broker, name]) => `${broker}: ${name}@${input.versions[name] ?? '?'}`);
  lines.push(
    '',
    `peer = ${peerNames.join(', ')}. Overhead = variant minus baseline of the same round (µs of client CPU per message);`,
    'B/msg = bytes allocated on the heap per message, +B/msg the same over the baseline. Targets are never asserted.',
  );
  return lines.join('\n');
}

/**
 * The reading's table in Markdown, one row per broker and path, straight from the figures (`run.ts --render`
 * prints it): overhead of brokertrace / peer / floor, then brokertrace's ratios and in how many rounds each
 * target held, sampled then not sampled.
 */
export function readingTable(cases: readonly CaseFigures[]): string {
  const targets = checkTargets(cases);
  const us = (c: CaseFigures | undefined): string => (c ? fixed(c.overheadUsPerMsg, 1) : '-');
  const rounds = (r: RoundAgreement | undefined): string => (r ? `${r.met}/${r.of}` : '-');
  const half = (broker: BrokerName, path: PathName, sampled: boolean): string[] => {
    const t = targets.find((x) => x.broker === broker && x.path === path && x.sampled === sampled);
    const of = (variant: VariantKind) => findCase(cases, broker, path, sampled, variant);
    return [
      `${us(of('brokertrace'))} / ${us(of('peer'))} / ${us(of('floor'))}`,
      `${times(t?.vsFloor)} (${rounds(t?.floorRounds)}), ${times(t?.vsPeer)} (${rounds(t?.peerRounds)})`,
    ];
  };
  const lines = [
    '| path | sampled: bt / peer / floor | vs floor, vs peer (rounds met) | not sampled: bt / peer / floor | vs floor, vs peer (rounds met) |',
    '|---|---|---|---|---|',
  ];
  const paths = [...new Map(cases.filter((c) => c.variant === 'brokertrace').map((c) => [`${c.broker}|${c.path}`, c] as const)).values()];
  for (const { broker, path } of paths) lines.push(`| ${broker} ${path} | ${[...half(broker, path, true), ...half(broker, path, false)].join(' | ')} |`);
  return lines.join('\n');
}
