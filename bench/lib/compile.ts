// The measured processes run compiled JavaScript on plain Node (see bench/tsconfig.json); this builds it.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';

const BENCH_DIR = join(__dirname, '..');
/** Where the compiled child scripts go (ignored by git): one directory per run, so that two runs never share one. */
export const BUILD_DIR = join(BENCH_DIR, '.build', `run-${process.pid}`);

/** Compiles lib/child.ts, micro.ts and their imports into BUILD_DIR; throws with tsc's output on an error. */
export function compileChildScripts(): void {
  rmSync(BUILD_DIR, { recursive: true, force: true });
  const tsc = require.resolve('typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', join(BENCH_DIR, 'tsconfig.json'), '--outDir', BUILD_DIR], { stdio: 'pipe' });
  } catch (error) {
    const out = error as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`bench: compiling the child scripts failed:\n${String(out.stdout ?? '')}${String(out.stderr ?? '')}`, { cause: error });
  }
}

/** Removes this run's compiled scripts. */
export function removeChildScripts(): void {
  rmSync(BUILD_DIR, { recursive: true, force: true });
}
