// `pnpm bench`: what tracing costs per message, brokertrace side by side with no instrumentation and with the
// peer a user would pick today, against real brokers started by the integration harness.
// See bench/README.md for what is measured and how to read it.
import { fork } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { workloadOf } from './lib/brokers.js';
import { checkMetrics, checkSpans } from './lib/checks.js';
import { BUILD_DIR, compileChildScripts, removeChildScripts } from './lib/compile.js';
import { cleanUpBrokers, startBroker, type RunningBroker } from '../integration/harness/standalone.js';
import { parseOptions, USAGE, type Options } from './lib/options.js';
import { describeVersions, readingTable, resultsJson, resultsTable, type ReportInput } from './lib/report.js';
import { currentCommit, mergeStored, readStored, type BrokerMeasured, type Stored } from './lib/results.js';
import { summarize } from './lib/stats.js';
import { overheadChart } from './lib/svg.js';
import { BROKER_NAMES, withMetrics, type BrokerName, type BrokerSettings, type ChildTask, type Measurement, type PathName, type RunRecord, type RunSize, type VariantKind } from './lib/types.js';
import type { BrokerAdmin, Workload } from './lib/workload.js';

/**
 * The variants of one round, in order: sampled, then not sampled, each interleaved the same way. The metrics
 * variants run sampled only (what metrics add shows there; not sampled would double their time for the same
 * figure), `peer+metrics` only where the peer records metrics.
 */
function variantsOf(workload: Workload, path: PathName, sampled: boolean): VariantKind[] {
  const peer = workload.peerMissing?.[path] === undefined;
  const tracing: VariantKind[] = ['baseline', 'floor', 'brokertrace', ...(peer ? (['peer'] as const) : [])];
  if (!sampled) return tracing;
  return [...tracing, 'brokertrace+metrics', ...(peer && workload.peerRecordsMetrics ? (['peer+metrics'] as const) : [])];
}
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

/**
 * One measured run on a destination of its own, prepared before and deleted after. A failed run is retried twice
 * on a fresh destination (a broker hiccup should not cost a whole benchmark); a third failure is a real one.
 */
async function measure(base: Omit<ChildTask, 'destination'>, admin: BrokerAdmin, workload: Workload, round: number, options: Options): Promise<Measurement> {
  const { broker, path, variant, sampled, size } = base;
  for (let attempt = 1; ; attempt++) {
    // Kafka topic names allow [a-zA-Z0-9._-] only.
    const destination = `bench-${path}-r${round}-${sampled ? 'on' : 'off'}-${variant.replace(/[^a-zA-Z0-9._-]/g, '-')}-${Date.now().toString(36)}`;
    const task: ChildTask = { ...base, destination };
    if (options.cpuProf) {
      task.profileFile = join(options.out, 'profiles', `${broker}-${path}-${variant}-${sampled ? 'sampled' : 'unsampled'}-r${round}.cpuprofile`);
    }
    // Preparing is retried with the run: on a loaded machine the broker may be slow to elect a new topic's leader.
    const reply = await admin
      .prepare(path, destination, size.warmup + size.measured)
      .then(() => runChild<ChildReply>('lib/child', [JSON.stringify(task)], options))
      .catch((error: unknown): ChildReply => ({ ok: false, error: error instanceof Error ? error.message : String(error) }));
    // After a failure the destination may not exist; that is not a second failure.
    await admin.remove(destination).catch((error: unknown) => {
      if (reply.ok) throw error;
    });
    if (reply.ok) {
      checkSpans(workload, task, reply.measurement);
      checkMetrics(task, reply.measurement, workload.peer);
      return reply.measurement;
    }
    if (attempt >= 3) throw new Error(`${broker} ${path} ${variant} failed three times:\n${reply.error}`);
    say(`  run failed, retrying (${attempt} of 2): ${reply.error.split('\n')[0]}`);
  }
}

/** Messages per run of one path of one broker: the smoke sizes, or the full ones unless its workload has smaller. */
const sizeOf = (workload: Workload, path: PathName, options: Options): RunSize => (options.smoke ? undefined : workload.fullSizes?.[path]) ?? options.sizes[path];

type Server = Exclude<BrokerName, 'confluent'>;
/**
 * The servers started, each with the number of clients still to run on it: clients of one server (kafka,
 * confluent) share it (the harness runs one of a kind per run), and it stops after the last of them.
 */
const servers = new Map<Server, { running?: Promise<RunningBroker<Server>>; users: number }>();

/** Counts, before any starts, how many of `brokers` will run on each server. */
async function planServers(brokers: readonly BrokerName[], options: Options): Promise<void> {
  for (const broker of brokers) {
    const workload = await workloadOf(broker);
    if (!workload.paths.some((p) => options.paths.includes(p))) continue;
    const server = workload.server ?? (broker as Server);
    const entry = servers.get(server);
    if (entry) entry.users++;
    else servers.set(server, { users: 1 });
  }
}

async function benchBroker(broker: BrokerName, options: Options, runs: RunRecord[]): Promise<BrokerMeasured | undefined> {
  const workload = await workloadOf(broker);
  const commit = currentCommit(); // what `pnpm build` built just before
  const paths = workload.paths.filter((p) => options.paths.includes(p));
  if (paths.length === 0) {
    say(`\n${broker}: none of the selected paths exists for this client; left out`);
    return undefined;
  }
  // The harness names brokers, the benchmark clients: a second client of a broker names its server.
  const server = workload.server ?? (broker as Server);
  const entry = servers.get(server);
  if (!entry) throw new Error(`${broker}: no server planned`);
  if (entry.running === undefined) {
    say(`\n${broker}: starting the broker through the integration harness`);
    entry.running = startBroker(server);
  }
  const running = await entry.running;
  const settings = running.settings as unknown as BrokerSettings; // plain JSON, handed to the child processes
  say(`${broker}: ready (${running.source}) in ${running.startSeconds}s: ${JSON.stringify(settings)}`);
  try {
    const admin = await workload.admin(settings);
    try {
      for (const path of paths) {
        const size = sizeOf(workload, path, options);
        const missing = workload.peerMissing?.[path];
        if (missing) say(`${broker} ${path}: no peer variant (${workload.peer}: ${missing})`);
        for (let round = 1; round <= options.rounds; round++) {
          for (const sampled of [true, false]) {
            for (const variant of variantsOf(workload, path, sampled)) {
              const started = Date.now();
              const m = await measure({ broker, path, variant, sampled, settings, size }, admin, workload, round, options);
              runs.push({ ...m, broker, path, variant, sampled, round });
              say(
                `${broker} ${path} round ${round}/${options.rounds} ${sampled ? 'sampled' : 'not sampled'} ${variant}: ` +
                  `${(m.cpuMicros / m.messages).toFixed(1)} µs/msg, ${Math.round((m.messages * 1000) / m.wallMs)} msgs/s, ` +
                  `${Math.round(m.allocatedBytes / m.messages)} B/msg, ${(m.spansExported / m.totalMessages).toFixed(2)} spans/msg` +
                  `${m.linksExported ? `, ${(m.linksExported / m.totalMessages).toFixed(2)} links/msg` : ''}` +
                  `${withMetrics(variant) ? `, ${Object.values(m.metricPoints).reduce((a, b) => a + b, 0)} metric points` : ''} (${((Date.now() - started) / 1000).toFixed(1)}s)`,
              );
            }
          }
        }
      }
    } finally {
      await admin.close();
    }
  } finally {
    if (--entry.users === 0) await running.stop();
  }
  return {
    date: new Date().toISOString(),
    rounds: options.rounds,
    messages: Object.fromEntries(paths.map((path) => [path, sizeOf(workload, path, options)])),
    source: running.source,
    commit,
  };
}

/**
 * Writes latest.json, runs.json and overhead.svg into `options.out` from the runs measured now and, with
 * `--merge`, the other brokers' results already there; returns the table.
 */
export async function writeResults(options: Options, fresh: Stored): Promise<string> {
  // With --merge, the other brokers' results already in the directory stay; one table and chart cover them all.
  const stored = options.merge ? mergeStored(readStored(options.out), fresh) : fresh;
  const order = (broker: string): number => (BROKER_NAMES as readonly string[]).indexOf(broker);
  const runs = [...stored.runs].sort((a, b) => order(a.broker) - order(b.broker));
  const brokers = (Object.keys(stored.measured) as BrokerName[]).sort((a, b) => order(a) - order(b));
  const peers = {} as Record<BrokerName, string>;
  const peerMissing: Partial<Record<BrokerName, Partial<Record<PathName, string>>>> = {};
  for (const broker of brokers) {
    const workload = await workloadOf(broker);
    peers[broker] = workload.peer;
    if (workload.peerMissing) peerMissing[broker] = workload.peerMissing;
  }
  const cases = summarize(runs);
  const input: ReportInput = {
    cases,
    peers,
    peerMissing,
    rounds: options.rounds,
    sizes: options.sizes,
    measured: Object.fromEntries(brokers.map((b) => [b, stored.measured[b] as BrokerMeasured])),
    kept: brokers.filter((b) => !(b in fresh.measured)),
    versions: describeVersions([
      'kafkajs',
      '@confluentinc/kafka-javascript',
      'amqplib',
      '@aws-sdk/client-sqs',
      '@google-cloud/pubsub',
      '@azure/service-bus',
      '@opentelemetry/sdk-trace',
      '@opentelemetry/sdk-metrics',
      ...Object.values(peers),
    ]),
    brokers: Object.fromEntries(brokers.map((b) => [b, stored.measured[b]?.source ?? 'unknown'])),
    smoke: options.smoke,
    sources: options.sources,
  };
  writeFileSync(join(options.out, 'latest.json'), `${JSON.stringify(resultsJson(input), null, 2)}\n`);
  writeFileSync(join(options.out, 'runs.json'), `${JSON.stringify(runs, null, 2)}\n`);
  writeFileSync(join(options.out, 'overhead.svg'), overheadChart(cases, peers));
  return resultsTable(input);
}

/**
 * `--render`: draws overhead.svg again from the runs kept in `out` (runs.json, with latest.json beside it), without
 * measuring anything or touching the other files (for a change to the chart alone), and prints the reading's
 * Markdown table from the same runs (what bench/README.md and README.md quote).
 */
async function renderChart(out: string): Promise<void> {
  const { runs } = readStored(out);
  if (runs.length === 0) throw new Error(`--render: no runs.json and latest.json in ${out}`);
  const order = (broker: string): number => (BROKER_NAMES as readonly string[]).indexOf(broker);
  const sorted = [...runs].sort((a, b) => order(a.broker) - order(b.broker));
  const peers: Partial<Record<BrokerName, string>> = {};
  for (const broker of new Set(sorted.map((r) => r.broker))) peers[broker] = (await workloadOf(broker)).peer;
  const cases = summarize(sorted);
  writeFileSync(join(out, 'overhead.svg'), overheadChart(cases, peers));
  say(`${join(out, 'overhead.svg')} drawn from ${runs.length} runs; the reading's table (µs of CPU per message over the baseline):`);
  say(readingTable(cases));
}

/**
 * Brokers a smoke run benchmarks at once. Three at a time took 4.7 minutes instead of about 9, but on 2 cores
 * Kafka then fails to create topics ("does not host this topic-partition") more often than a run's retries
 * absorb: one at a time, as a measured run.
 */
const SMOKE_CONCURRENCY = 1;

/**
 * Runs `bench` for each broker, `concurrency` at a time, except that clients of one server (kafka, confluent) go
 * one after the other (the harness runs one server of a kind per run directory). After a failure no further
 * broker starts; the first error is thrown once the running ones are done.
 */
async function eachBroker(brokers: readonly BrokerName[], concurrency: number, bench: (broker: BrokerName) => Promise<void>): Promise<void> {
  const groups = new Map<string, BrokerName[]>();
  for (const broker of brokers) {
    const server = (await workloadOf(broker)).server ?? broker;
    groups.set(server, [...(groups.get(server) ?? []), broker]);
  }
  const queue = [...groups.values()];
  const errors: unknown[] = [];
  const worker = async (): Promise<void> => {
    for (let group = queue.shift(); group !== undefined; group = queue.shift()) {
      for (const broker of group) {
        if (errors.length > 0) return;
        await bench(broker).catch((error: unknown) => void errors.push(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
  if (errors.length > 0) throw errors[0];
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.render) return renderChart(options.out);
  const started = Date.now();
  if (!options.sources) compileChildScripts();
  mkdirSync(join(options.out, ...(options.cpuProf ? ['profiles'] : [])), { recursive: true });
  const fresh: Stored = { runs: [], measured: {} };
  try {
    await planServers(options.brokers, options);
    await eachBroker(options.brokers, options.smoke ? SMOKE_CONCURRENCY : 1, async (broker) => {
      const done = await benchBroker(broker, options, fresh.runs);
      if (done) fresh.measured[broker] = done;
    });
  } finally {
    // After a failure, the servers whose other clients never ran are still up.
    for (const entry of servers.values()) if (entry.users > 0 && entry.running) await (await entry.running.catch(() => undefined))?.stop();
    cleanUpBrokers();
  }
  if (!options.micro) removeChildScripts();

  // Whatever happens while reporting, what was measured is kept.
  mkdirSync(join(options.out, 'partial'), { recursive: true });
  writeFileSync(join(options.out, 'partial', 'last-runs.json'), `${JSON.stringify(fresh, null, 2)}\n`);
  say(await writeResults(options, fresh));

  if (options.micro) {
    say('\nmicro-benchmark of @brokertrace/core hot path');
    await runChild<unknown>('micro', ['--out', options.out, ...(options.smoke ? ['--smoke'] : [])], options);
    removeChildScripts();
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  if (options.smoke && options.keepSmoke === false) {
    rmSync(options.out, { recursive: true, force: true }); // a smoke run proves the benchmark runs; its figures mean nothing
    say(`\nsmoke run done in ${seconds}s (figures not kept; --out DIR keeps them)`);
    return;
  }
  say(`\nresults in ${options.out} (latest.json, runs.json, overhead.svg${options.micro ? ', micro.json' : ''}); ${seconds}s in all`);
}

if (require.main === module) main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  if (error instanceof TypeError && /parseArgs|option/i.test(String(error))) process.stderr.write(`${USAGE}\n`);
  process.exitCode = 1;
});
