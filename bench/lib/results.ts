// What a run keeps, per broker: its runs (runs.json) and when and how they were measured (latest.json's
// `measured`). `--merge` replaces the brokers a run measured in the results directory and keeps the others', so
// that one chart and one table cover every broker while each broker is re-measured on its own.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PathName, RunRecord, RunSize } from './types.js';

/** How one broker's runs were measured. */
export interface BrokerMeasured {
  /** When its run finished (ISO 8601). */
  date: string;
  rounds: number;
  /** Messages per run, by path. */
  messages: Partial<Record<PathName, RunSize>>;
  /** Where the broker came from (the harness's source: native, docker, env). */
  source: string;
  /** The repository's commit the packages were built from (`+dirty` with uncommitted changes), when known. */
  commit: string;
}

export interface Stored {
  runs: RunRecord[];
  measured: Record<string, BrokerMeasured>;
}

interface LatestJson {
  date?: string;
  method?: { rounds?: number; messages?: Partial<Record<PathName, RunSize>> };
  brokers?: Record<string, string>;
  measured?: Record<string, BrokerMeasured>;
}

/**
 * The results kept in `dir` (empty when there are none). A latest.json written before `measured` existed
 * described one run of all its brokers: each gets that run's date, rounds and sizes.
 */
export function readStored(dir: string): Stored {
  const runsFile = join(dir, 'runs.json');
  const latestFile = join(dir, 'latest.json');
  if (!existsSync(runsFile) || !existsSync(latestFile)) return { runs: [], measured: {} };
  const runs = JSON.parse(readFileSync(runsFile, 'utf8')) as RunRecord[];
  const latest = JSON.parse(readFileSync(latestFile, 'utf8')) as LatestJson;
  const measured: Record<string, BrokerMeasured> = { ...latest.measured };
  for (const broker of new Set(runs.map((r) => r.broker))) {
    const own = runs.filter((r) => r.broker === broker);
    const paths = new Set(own.map((r) => r.path));
    measured[broker] ??= {
      date: latest.date ?? 'unknown',
      rounds: latest.method?.rounds ?? new Set(own.map((r) => r.round)).size,
      messages: Object.fromEntries(Object.entries(latest.method?.messages ?? {}).filter(([path]) => paths.has(path as PathName))),
      source: latest.brokers?.[broker] ?? 'unknown',
      commit: 'unknown',
    };
  }
  return { runs, measured };
}

/** `previous` with the brokers `fresh` measured replaced by `fresh`'s runs. */
export function mergeStored(previous: Stored, fresh: Stored): Stored {
  const replaced = new Set(Object.keys(fresh.measured));
  const kept = Object.fromEntries(Object.entries(previous.measured).filter(([broker]) => !replaced.has(broker)));
  return {
    runs: [...previous.runs.filter((r) => !replaced.has(r.broker)), ...fresh.runs],
    measured: { ...kept, ...fresh.measured },
  };
}

/** The commit HEAD is at, `+dirty` when packages/ has uncommitted changes (what the build measured). */
export function currentCommit(): string {
  try {
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: join(__dirname, '..', '..'), encoding: 'utf8' }).trim();
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--', 'packages') === '' ? '' : '+dirty'}`;
  } catch {
    return 'unknown';
  }
}
