// The command line of run.ts.
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { BROKER_NAMES, PATHS, type BrokerName, type PathName, type RunSize } from './types.js';

export const USAGE = `usage: tsx bench/run.ts [options]   (from the repository root, after \`scripts/pnpm build\`)
  --broker NAME     only this broker (repeatable or comma-separated): ${BROKER_NAMES.join(', ')}
  --path NAME       only this path (repeatable or comma-separated): ${PATHS.join(', ')}
  --rounds N        rounds of interleaved variants (default 7; at least 5 for published figures)
  --smoke           a few messages, 1 round: checks that the benchmark still runs end to end (figures mean nothing)
  --cpu-prof        write a V8 CPU profile of the measured window of every run into <out>/profiles
                    (summarise with bench/profile.ts; the figures of such a run are not for publishing)
  --no-micro        skip the micro-benchmark of core's hot path
  --sources         load @brokertrace/* from packages/*/src instead of the built dist (for working on them;
                    published figures use the build)
  --merge           keep the results of the brokers not measured now in <out> (latest.json, runs.json, the chart):
                    the brokers measured replace theirs (whole brokers: not with --path, --smoke or --sources)
  --render          measure nothing: draw <out>/overhead.svg again from <out>/runs.json (default out: bench/results)
  --out DIR         where results go (default bench/results for a full run, bench/results/partial when
                    --broker/--path select part of it (unless --merge) or with --sources, a temporary directory for
                    --smoke)`;

/** Rounds of a full run: the issue asks for at least 5; 7 keeps a full run near 11 minutes on 2 cores. */
export const DEFAULT_ROUNDS = 7;

/**
 * Messages per run, by path: sized so that the whole benchmark takes about 10-15 minutes on 2 cores. Consumers
 * warm up past 10,000 messages, the default size of the bounded memories a consumer instrumentation may keep
 * (brokertrace's duplicate window and delivery counts): measured, they are full, as in a long-running consumer.
 */
export const FULL_SIZES: Record<PathName, RunSize> = {
  'produce-1': { warmup: 300, measured: 2500 },
  'produce-10': { warmup: 500, measured: 5000 },
  'produce-100': { warmup: 1000, measured: 10000 },
  consume: { warmup: 11000, measured: 6000 },
  'consume-batch': { warmup: 11000, measured: 6000 },
};

export const SMOKE_SIZES: Record<PathName, RunSize> = {
  'produce-1': { warmup: 5, measured: 20 },
  'produce-10': { warmup: 20, measured: 80 },
  'produce-100': { warmup: 100, measured: 200 },
  consume: { warmup: 20, measured: 80 },
  'consume-batch': { warmup: 300, measured: 900 },
};

export interface Options {
  brokers: BrokerName[];
  paths: PathName[];
  rounds: number;
  smoke: boolean;
  cpuProf: boolean;
  micro: boolean;
  /** Children load @brokertrace/* from the sources (tsconfig paths) rather than the built packages. */
  sources: boolean;
  out: string;
  /** A smoke run's results are removed at the end unless `--out` names where to keep them. */
  keepSmoke: boolean;
  /** Results of a full run (every broker, every path) replace latest.json; a partial run's go elsewhere. */
  full: boolean;
  /** Keep the results in `out` of the brokers not measured now (`--merge`). */
  merge: boolean;
  /** Only draw the chart again from the runs kept in `out` (`--render`). */
  render: boolean;
  sizes: Record<PathName, RunSize>;
}

function list<T extends string>(values: string[] | undefined, allowed: readonly T[], option: string): T[] {
  if (!values || values.length === 0) return [...allowed];
  const names = values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  for (const name of names) {
    if (!(allowed as readonly string[]).includes(name)) throw new Error(`${option}: unknown "${name}" (one of ${allowed.join(', ')})`);
  }
  return allowed.filter((a) => names.includes(a));
}

export function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv.filter((a) => a !== '--'), // `pnpm bench -- --broker kafka` passes the `--` on
    options: {
      broker: { type: 'string', multiple: true },
      path: { type: 'string', multiple: true },
      rounds: { type: 'string' },
      smoke: { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false },
      'no-micro': { type: 'boolean', default: false },
      merge: { type: 'boolean', default: false },
      render: { type: 'boolean', default: false },
      sources: { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const brokers = list(values.broker, BROKER_NAMES, '--broker');
  const paths = list(values.path, PATHS, '--path');
  const rounds = values.rounds === undefined ? (values.smoke ? 1 : DEFAULT_ROUNDS) : Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds: a whole number >= 1, got "${values.rounds}"`);
  if (values.merge && (values.smoke || values.sources || values.path !== undefined)) {
    throw new Error('--merge: replaces whole brokers with published figures, so not with --path, --smoke or --sources');
  }
  if (values.render && (values.smoke || values.merge || values.broker !== undefined || values.path !== undefined)) {
    throw new Error('--render: draws the chart of every run kept in --out, so not with --smoke, --merge, --broker or --path');
  }
  const full = !values.smoke && !values.sources && values.broker === undefined && values.path === undefined;
  const out =
    values.out ??
    (values.smoke
      ? join(tmpdir(), `brokertrace-bench-smoke-${process.pid}`)
      : join(__dirname, '..', 'results', ...(full || values.merge ? [] : ['partial'])));
  return {
    brokers,
    paths,
    rounds,
    smoke: values.smoke,
    cpuProf: values['cpu-prof'],
    micro: !values['no-micro'],
    sources: values.sources,
    out,
    keepSmoke: values.out !== undefined,
    full,
    merge: values.merge,
    render: values.render,
    sizes: values.smoke ? SMOKE_SIZES : FULL_SIZES,
  };
}
