// Summarises V8 CPU profiles written by `run.ts --cpu-prof`: where the samples' self time went, by package and
// by function, so that a cost can be named precisely (which function of which package).
// Usage: scripts/pnpm exec tsx bench/profile.ts [--top N] [--match TEXT] [--under NAME,...] FILE_OR_DIR...
// `--under` also prints the time spent inside each named function (its own code and all it calls, counted once
// per sample however deep the recursion): a wrapper's whole cost, e.g. `--under tracedHandler,tracedSettle`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The package a script URL belongs to: our packages by folder, others by their node_modules path. */
export function packageOf(url: string): string {
  if (url === '') return '(native/V8)';
  if (url.startsWith('node:')) return 'node';
  const ours = /\/packages\/([^/]+)\/(?:dist|src)\//.exec(url);
  if (ours) return `@brokertrace/${ours[1]}`;
  const modules = url.split('/node_modules/');
  if (modules.length > 1) {
    const rest = (modules.at(-1) ?? '').split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  if (url.includes('/bench/')) return 'bench (workload)';
  return url;
}

function files(paths: string[]): string[] {
  return paths.flatMap((p) =>
    statSync(p).isDirectory()
      ? readdirSync(p).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(p, f))
      : [p],
  );
}

/** Self time in µs per profile node, from the sample deltas. */
function selfTimes(profile: CpuProfile): Map<number, number> {
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  return self;
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' }, match: { type: 'string' }, under: { type: 'string' } },
  });
  const top = Number(values.top);
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const underNames = (values.under ?? '').split(',').filter((n) => n !== '');
  const under = new Map<string, number>(underNames.map((n) => [n, 0]));
  let total = 0;
  const selected = files(positionals).filter((f) => values.match === undefined || f.includes(values.match));
  if (selected.length === 0) throw new Error('no .cpuprofile file given (or none matched --match)');
  for (const file of selected) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    const parents = new Map<number, number>();
    for (const n of profile.nodes) for (const child of n.children ?? []) parents.set(child, n.id);
    for (const [id, micros] of selfTimes(profile)) {
      const frame = nodes.get(id)?.callFrame;
      // Idle time is not CPU, and the inspector's own frames are the profiler stopping: neither is the workload's.
      if (!frame || frame.functionName === '(idle)' || frame.url === 'node:inspector') continue;
      const pkg = packageOf(frame.url);
      const where = frame.url ? `${frame.url.replace(/^file:\/\//, '').replace(/.*\/(packages|node_modules)\//, '$1/')}:${frame.lineNumber + 1}` : '';
      const fn = `${frame.functionName || '(anonymous)'}  [${pkg}] ${where}`;
      byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + micros);
      byFunction.set(fn, (byFunction.get(fn) ?? 0) + micros);
      total += micros;
      // Inclusive: the sample counts once for every package on its stack (what runs under a package's calls).
      const onStack = new Set<string>();
      for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
        const url = nodes.get(at)?.callFrame.url;
        if (url) onStack.add(packageOf(url));
      }
      for (const pkg of onStack) inclusive.set(pkg, (inclusive.get(pkg) ?? 0) + micros);
      if (under.size > 0) {
        const named = new Set<string>();
        for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
          const name = nodes.get(at)?.callFrame.functionName;
          if (name !== undefined && under.has(name)) named.add(name);
        }
        for (const name of named) under.set(name, under.get(name)! + micros);
      }
    }
  }
  const share = (micros: number): string => `${((micros / total) * 100).toFixed(1).padStart(5)}%`;
  const sorted = (m: Map<string, number>): [string, number][] => [...m].sort((a, b) => b[1] - a[1]);
  process.stdout.write(`${selected.length} profile(s), ${(total / 1000).toFixed(0)} ms of CPU samples (idle left out)\n\nself time by package\n`);
  for (const [pkg, micros] of sorted(byPackage).slice(0, top)) process.stdout.write(`${share(micros)}  ${pkg}\n`);
  process.stdout.write('\ntime with the package on the stack (its own code and what it calls)\n');
  for (const [pkg, micros] of sorted(inclusive).slice(0, top)) process.stdout.write(`${share(micros)}  ${pkg}\n`);
  if (under.size > 0) {
    process.stdout.write('\ntime inside these functions (their own code and what they call)\n');
    for (const [name, micros] of under) process.stdout.write(`${share(micros)}  ${name}\n`);
  }
  process.stdout.write('\nself time by function\n');
  for (const [fn, micros] of sorted(byFunction).slice(0, top)) process.stdout.write(`${share(micros)}  ${fn}\n`);
}

main();
