// Builds the package in the current directory to CommonJS (dist/cjs) and ESM (dist/esm), each with its
// type declarations, from one tsconfig.build.json. Sources import siblings as './x.js' so both outputs resolve.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
rmSync('dist', { recursive: true, force: true });
const builds = [
  { dir: 'dist/cjs', type: 'commonjs', args: ['--module', 'commonjs', '--moduleResolution', 'node10'] },
  { dir: 'dist/esm', type: 'module', args: ['--module', 'es2022', '--moduleResolution', 'bundler'] },
];
for (const { dir, type, args } of builds) {
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', dir, ...args], { stdio: 'inherit' });
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/package.json`, JSON.stringify({ type }) + '\n');
}
