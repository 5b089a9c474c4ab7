// `pnpm bench`: what tracing costs per message, brokertrace side by side with no instrumentation and with the
// peer a user would pick today, against real brokers started by the integration harness.
// See bench/README.md for what is measured and how to read it.
import { fork } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { workloadOf } from './lib/brokers.js';
import { BUILD_DIR, compileChildScripts } from './lib/compile.js';
import { cleanUpBrokers, startBroker } from '../integration/harness/standalone.js';
import { parseOptions, USAGE, type Options } from './lib/options.js';
import { describeVersions, resultsJson, resultsTable, type ReportInput } from './lib/report.js';
import { summarize } from './lib/stats.js';
import { overheadChart } from './lib/svg.js';
import type { BrokerName, BrokerSettings, ChildTask, Measurement, RunRecord, VariantKind } from './lib/types.js';
import type { BrokerAdmin } from './lib/workload.js';

/** Interleaved within each round: A B C (sampled), then A B C again (not sampled). */
const VARIANTS: readonly VariantKind[] = ['baseline', 'brokertrace', 'peer'];
const CHILD_TIMEOUT_MS = 180_000;
const say = (line: string): void => void process.stdout.write(`${line}\n`);

// kafkajs 2.2.4 arms timers with a negative delay on Node >= 24, which Node clamps to 1 ms and warns about on
// every run: harmless, and noise in the output. Children are started with the flag; this process filters.
const QUIET_WARNINGS = ['--disable-warning=TimeoutNegativeWarning'];
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name !== 'TimeoutNegativeWarning') process.stderr.write(`${warning.name}: ${warning.message}\n`);
});

type ChildReply = { ok: true; measurement: Measurement } | { ok: false; error: string };

/**
 * Runs one script of bench/ (`lib/child`, `micro`) in a process of its own; resolves with what it sends back
 * over IPC. By default the compiled script on plain Node (as an application runs, loading the built packages);
 * with `--sources`, the TypeScript through tsx (loading packages/<name>/src through the root tsconfig paths).
 */
function runChild<T>(script: string, args: string[], options: Options): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = options.sources
      ? fork(join(__dirname, `${script}.ts`), args, { execArgv: [...process.execArgv, ...QUIET_WARNINGS], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      : fork(join(BUILD_DIR, `${script}.js`), args, { execArgv: QUIET_WARNINGS, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let reply: T | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    child.on('message', (message) => (reply = message as T));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (reply !== undefined) resolve(reply);
      else reject(new Error(`${script} exited (${signal ?? `code ${code}`}) without a result${signal === 'SIGKILL' ? ` within ${CHILD_TIMEOUT_MS / 1000}s` : ''}`));
    });
  });
}

/** A run must show that its variant really did (or did not) trace; figures of a mute instrumentation would lie. */
function checkSpans(task: ChildTask, m: Measurement): void {
  const traced = task.variant !== 'baseline' && task.sampled;
  if (traced && m.spansExported === 0) throw new Error(`${task.broker} ${task.path} ${task.variant}: no span exported, the variant did not trace`);
  if (!traced && m.spansExported > 0) throw new Error(`${task.broker} ${task.path} ${task.variant}: ${m.spansExported} spans exported while nothing should be recorded`);
}

/**
 * One measured run on a destination of its own, prepared before and deleted after. A failed run is retried once
 * on a fresh destination (a broker hiccup should not cost a whole benchmark); a second failure is a real one.
 */
async function measure(base: Omit<ChildTask, 'destination'>, admin: BrokerAdmin, round: number, options: Options): Promise<Measurement> {
  const { broker, path, variant, sampled, size } = base;
  for (let attempt = 1; ; attempt++) {
    const destination = `bench-${path}-r${round}-${sampled ? 'on' : 'off'}-${variant}-${Date.now().toString(36)}`;
    await admin.prepare(path, destination, size.warmup + size.measured);
    const task: ChildTask = { ...base, destination };
    if (options.cpuProf) {
      task.profileFile = join(options.out, 'profiles', `${broker}-${path}-${variant}-${sampled ? 'sampled' : 'unsampled'}-r${round}.cpuprofile`);
    }
    const reply = await runChild<ChildReply>('lib/child', [JSON.stringify(task)], options).catch(
      (error: unknown): ChildReply => ({ ok: false, error: error instanceof Error ? error.message : String(error) }),
    );
    await admin.remove(destination);
    if (reply.ok) {
      checkSpans(task, reply.measurement);
      return reply.measurement;
    }
    if (attempt >= 2) throw new Error(`${broker} ${path} ${variant} failed twice:\n${reply.error}`);
    say(`  run failed, retrying once: ${reply.error.split('\n')[0]}`);
  }
}

async function benchBroker(broker: BrokerName, options: Options, runs: RunRecord[]): Promise<{ peer: string; source: string } | undefined> {
  const workload = await workloadOf(broker);
  const paths = workload.paths.filter((p) => options.paths.includes(p));
  if (paths.length === 0) {
    say(`\n${broker}: none of the selected paths exists for this client; left out`);
    return undefined;
  }
  say(`\n${broker}: starting the broker through the integration harness`);
  const running = await startBroker(broker);
  const settings = running.settings as unknown as BrokerSettings; // plain JSON, handed to the child processes
  say(`${broker}: ready (${running.source}) in ${running.startSeconds}s: ${JSON.stringify(settings)}`);
  try {
    const admin = await workload.admin(settings);
    try {
      for (const path of paths) {
        const size = options.sizes[path];
        for (let round = 1; round <= options.rounds; round++) {
          for (const sampled of [true, false]) {
            for (const variant of VARIANTS) {
              const started = Date.now();
              const m = await measure({ broker, path, variant, sampled, settings, size }, admin, round, options);
              runs.push({ ...m, broker, path, variant, sampled, round });
              say(
                `${broker} ${path} round ${round}/${options.rounds} ${sampled ? 'sampled' : 'not sampled'} ${variant}: ` +
                  `${(m.cpuMicros / m.messages).toFixed(1)} µs/msg, ${Math.round((m.messages * 1000) / m.wallMs)} msgs/s, ` +
                  `${(m.spansExported / m.totalMessages).toFixed(2)} spans/msg (${((Date.now() - started) / 1000).toFixed(1)}s)`,
              );
            }
          }
        }
      }
    } finally {
      await admin.close();
    }
  } finally {
    await running.stop();
  }
  return { peer: workload.peer, source: running.source };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const started = Date.now();
  if (!options.sources) compileChildScripts();
  mkdirSync(join(options.out, ...(options.cpuProf ? ['profiles'] : [])), { recursive: true });
  const runs: RunRecord[] = [];
  const peers = {} as Record<BrokerName, string>;
  const sources: Record<string, string> = {};
  try {
    for (const broker of options.brokers) {
      const done = await benchBroker(broker, options, runs);
      if (!done) continue;
      peers[broker] = done.peer;
      sources[broker] = done.source;
    }
  } finally {
    cleanUpBrokers();
  }

  const cases = summarize(runs);
  const input: ReportInput = {
    cases,
    peers,
    rounds: options.rounds,
    sizes: options.sizes,
    versions: describeVersions(['kafkajs', 'amqplib', '@opentelemetry/sdk-trace', ...Object.values(peers)]),
    brokers: sources,
    smoke: options.smoke,
    sources: options.sources,
  };
  say(resultsTable(input));
  writeFileSync(join(options.out, 'latest.json'), `${JSON.stringify(resultsJson(input), null, 2)}\n`);
  writeFileSync(join(options.out, 'runs.json'), `${JSON.stringify(runs, null, 2)}\n`);
  writeFileSync(join(options.out, 'overhead.svg'), overheadChart(cases, `brokertrace vs ${Object.values(peers).join(', ')}`));

  if (options.micro) {
    say('\nmicro-benchmark of @brokertrace/core hot path');
    await runChild<unknown>('micro', ['--out', options.out, ...(options.smoke ? ['--smoke'] : [])], options);
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  if (options.smoke && options.keepSmoke === false) {
    rmSync(options.out, { recursive: true, force: true }); // a smoke run proves the benchmark runs; its figures mean nothing
    say(`\nsmoke run done in ${seconds}s (figures not kept; --out DIR keeps them)`);
    return;
  }
  say(`\nresults in ${options.out} (latest.json, runs.json, overhead.svg${options.micro ? ', micro.json' : ''}); ${seconds}s in all`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  if (error instanceof TypeError && /parseArgs|option/i.test(String(error))) process.stderr.write(`${USAGE}\n`);
  process.exitCode = 1;
});
