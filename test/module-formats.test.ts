// Every published package must load from both module systems through its `exports` map, with type
// declarations where the map says. Runs against the built dist/ (the test command builds first).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

interface Manifest {
  name: string;
  private?: boolean;
  exports: Record<string, { import: { types: string; default: string }; require: { types: string; default: string } }>;
}

const root = join(__dirname, '..');
const published = readdirSync(join(root, 'packages'))
  .map((dir) => ({ dir: join(root, 'packages', dir), manifest: JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) as Manifest }))
  .filter(({ manifest }) => !manifest.private);

// A scratch project whose node_modules holds the packages as a user would install them.
let project: string;
beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'brokertrace-formats-'));
  const link = (name: string, target: string) => {
    mkdirSync(dirname(join(project, 'node_modules', name)), { recursive: true });
    symlinkSync(target, join(project, 'node_modules', name), 'dir');
  };
  for (const { dir, manifest } of published) link(manifest.name, dir);
  link('@opentelemetry/api', realpathSync(join(root, 'node_modules', '@opentelemetry', 'api')));
});
afterAll(() => rmSync(project, { recursive: true, force: true }));

const node = (args: string[]) => execFileSync(process.execPath, args, { cwd: project, encoding: 'utf8' }).trim();

test.each(published.map((p) => [p.manifest.name, p] as const))('%s loads with require and import', (name, { dir, manifest }) => {
  const main = manifest.exports['.'];
  expect(main).toBeDefined();
  for (const file of [main!.import.types, main!.import.default, main!.require.types, main!.require.default]) {
    expect(existsSync(join(dir, file))).toBe(true);
  }
  const cjs = node(['-e', `console.log(Object.keys(require(${JSON.stringify(name)})).sort().join(','))`]);
  const esm = node(['--input-type=module', '-e', `const m = await import(${JSON.stringify(name)}); console.log(Object.keys(m).filter((k) => k !== 'default').sort().join(','))`]);
  expect(cjs.length).toBeGreaterThan(0);
  expect(esm).toBe(cjs);
});
