// The fixture processes of the packaging tests: a scratch project outside the workspace whose node_modules
// holds the built brokertrace packages (dist/, as a user installs them), the client libraries and the
// OpenTelemetry SDK, with the fixtures copied in; `runFixture` runs one real Node process and parses what it
// printed (`SPANS [...]` from telemetry.cjs at exit, `APP {...}` from the application).
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const root = join(__dirname, '..', '..');

export interface FixtureSpan {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: Record<string, unknown>;
  links: { traceId: string; spanId: string }[];
  scope?: string;
}

export interface FixtureRun<App> {
  spans: FixtureSpan[];
  app: App;
}

export interface FixtureProject {
  run<App>(args: string[], env: Record<string, string>): Promise<FixtureRun<App>>;
  remove(): void;
}

/** Where the workspace has each dependency the fixtures load (resolved to real paths). */
const LINKS: Record<string, string> = {
  '@brokertrace/core': 'packages/core',
  '@brokertrace/kafkajs': 'packages/kafkajs',
  '@brokertrace/amqplib': 'packages/amqplib',
  kafkajs: 'packages/kafkajs/node_modules/kafkajs',
  amqplib: 'packages/amqplib/node_modules/amqplib',
  '@opentelemetry/api': 'node_modules/@opentelemetry/api',
  // The very copy the packages extend, so its ESM hook and their InstrumentationBase share import-in-the-middle.
  '@opentelemetry/instrumentation': 'packages/kafkajs/node_modules/@opentelemetry/instrumentation',
  '@opentelemetry/sdk-trace': 'packages/testing/node_modules/@opentelemetry/sdk-trace',
  '@opentelemetry/core': 'packages/testing/node_modules/@opentelemetry/core',
  '@opentelemetry/context-async-hooks': 'packages/testing/node_modules/@opentelemetry/context-async-hooks',
};

export function fixtureProject(): FixtureProject {
  const dir = mkdtempSync(join(tmpdir(), 'brokertrace-packaging-'));
  for (const [name, target] of Object.entries(LINKS)) {
    mkdirSync(dirname(join(dir, 'node_modules', name)), { recursive: true });
    symlinkSync(realpathSync(join(root, target)), join(dir, 'node_modules', name), 'dir');
  }
  cpSync(join(__dirname, 'fixtures'), dir, { recursive: true });
  return {
    async run<App>(args: string[], env: Record<string, string>): Promise<FixtureRun<App>> {
      let stdout: string;
      try {
        ({ stdout } = await promisify(execFile)(process.execPath, args, {
          cwd: dir,
          env: { ...process.env, ...env },
          encoding: 'utf8',
          timeout: 60_000,
          maxBuffer: 16 * 1024 * 1024,
        }));
      } catch (err) {
        const { stdout: out, stderr } = err as { stdout?: string; stderr?: string };
        throw new Error(`node ${args.join(' ')} failed:\n${out ?? ''}${stderr ?? ''}`, { cause: err });
      }
      const line = (prefix: string): string => {
        const found = stdout.split('\n').find((l) => l.startsWith(prefix));
        if (found === undefined) throw new Error(`node ${args.join(' ')} printed no "${prefix}" line:\n${stdout}`);
        return found.slice(prefix.length);
      };
      return { spans: JSON.parse(line('SPANS ')) as FixtureSpan[], app: JSON.parse(line('APP ')) as App };
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
