// A scratch project outside the workspace whose node_modules holds the built packages as a user would
// install them (symlinks to packages/*, resolved by Node to their real paths), for tests that run real
// Node processes against dist/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const root = join(__dirname, '..');

export interface Manifest {
  name: string;
  private?: boolean;
  exports: Record<string, { import: { types: string; default: string }; require: { types: string; default: string } }>;
}

/** The packages a user can install (not private), with their directories and manifests. */
export const published = readdirSync(join(root, 'packages'))
  .map((dir) => ({
    dir: join(root, 'packages', dir),
    manifest: JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) as Manifest,
  }))
  .filter(({ manifest }) => !manifest.private);

export interface ScratchProject {
  readonly dir: string;
  /** Links `name` into node_modules, pointing at `target` (a directory). */
  link(name: string, target: string): void;
  /** Writes `files` (path relative to the project -> content). */
  write(files: Record<string, string>): void;
  /** Runs Node in the project (with `env` added to this process's environment) and returns its trimmed stdout. */
  node(args: string[], env?: Record<string, string>): string;
  remove(): void;
}

export function scratchProject(prefix: string): ScratchProject {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    link(name, target) {
      mkdirSync(dirname(join(dir, 'node_modules', name)), { recursive: true });
      symlinkSync(realpathSync(target), join(dir, 'node_modules', name), 'dir');
    },
    write(files) {
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), content);
      }
    },
    node(args, env) {
      try {
        return execFileSync(process.execPath, args, { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env } }).trim();
      } catch (err) {
        // execFileSync's message leaves out what the process printed; that is what says why.
        const { stdout, stderr } = err as { stdout?: string; stderr?: string };
        throw new Error(`node ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`, { cause: err });
      }
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
