// The harness's API for integration tests: connection settings of the brokers this run started
// (see integration/README.md), unique names, and a few levers for fault tests.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNative, stopNative, type NativePlan } from './driver';
import { DRIVERS } from './lifecycle';
import { killServersNow, run, sleep } from './process';
import { readState, type BrokerEntry, type BrokerName, type NativeServer, type SettingsOf } from './state';

export type { KafkaSettings, PubsubSettings, RabbitmqSettings, ServicebusSettings, SqsSettings } from './state';

function entryOf<B extends BrokerName>(name: B): BrokerEntry<B> {
  const state = readState();
  const entry = state.brokers[name];
  if (entry) return entry;
  if (state.skipped.includes(name)) {
    throw new Error(`${name} was left out of this run on request (BROKERTRACE_SKIP_BROKERS=${state.skipped.join(',')})`);
  }
  const folders = (JSON.parse(readFileSync(join(__dirname, 'test-folders.json'), 'utf8')) as Record<string, string[]>)[name];
  throw new Error(
    `${name} was not started for this run: the harness starts a broker only for test files whose path matches ` +
      `${JSON.stringify(folders)} (integration/harness/test-folders.json); move the test there or add its path`,
  );
}

/** Kafka bootstrap brokers, e.g. `{ brokers: ['127.0.0.1:39092'] }`. Topics are auto-created; transactions work. */
export function kafka(): Promise<{ brokers: string[] }> {
  return Promise.resolve(entryOf('kafka').settings);
}

/** An AMQP URL such as `amqp://guest:guest@127.0.0.1:port`. */
export function rabbitmq(): Promise<{ url: string }> {
  return Promise.resolve(entryOf('rabbitmq').settings);
}

/** An SQS endpoint with region and (fake, unless the user's) credentials, ready for `new SQSClient(...)`. */
export function sqs(): Promise<{
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}> {
  return Promise.resolve(entryOf('sqs').settings);
}

/** The Pub/Sub emulator's `host:port` and a project id, ready for `new PubSub(...)`. */
export function pubsub(): Promise<{ apiEndpoint: string; projectId: string }> {
  return Promise.resolve(entryOf('pubsub').settings);
}

/**
 * A Service Bus connection string (`new ServiceBusClient(connectionString)`). Entities are not created
 * per test: use the queues and topics of integration/servicebus-emulator/config.json, one per test.
 */
export function servicebus(): Promise<{ connectionString: string }> {
  return Promise.resolve(entryOf('servicebus').settings);
}

let counter = 0;

/**
 * A name no other test (of this run or an earlier one) uses, valid as a Kafka topic, RabbitMQ queue,
 * SQS queue (<= 80 chars of [A-Za-z0-9_-]) and Pub/Sub topic (starts with a letter).
 */
export function uniqueName(prefix: string): string {
  const clean = prefix.replace(/[^A-Za-z0-9_-]/g, '-').replace(/^[^A-Za-z]+/, '') || 't';
  counter += 1;
  const suffix = `${process.env.JEST_WORKER_ID ?? '0'}-${counter}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  return `${clean.slice(0, 79 - suffix.length)}-${suffix}`;
}

function nativeOf<B extends BrokerName>(name: B): { entry: BrokerEntry<B>; server: NativeServer } {
  const entry = entryOf(name);
  if (!entry.native) {
    throw new Error(`${name} runs from ${entry.source === 'env' ? 'a user endpoint' : 'Docker'}: fault tests need the harness's native server`);
  }
  return { entry, server: entry.native };
}

/**
 * Stops the run's shared native broker (gracefully, then SIGKILL). Its port and data stay reserved for
 * `startBroker`. Every test file of that broker sees the outage: a fault test that can use a broker of its own
 * should (`privateBroker`); Kafka's restart test uses this one.
 */
export async function stopBroker<B extends BrokerName>(name: B): Promise<void> {
  const { server } = nativeOf(name);
  await stopNative(DRIVERS[name], server);
}

/** Starts a native broker stopped by `stopBroker`, on the same port and data dir; resolves when it answers. */
export async function startBroker<B extends BrokerName>(name: B): Promise<void> {
  const { entry, server } = nativeOf(name);
  await startNative(DRIVERS[name], { server, settings: entry.settings });
}

/** Stop, then `downMs` of downtime, then start: every restart, shared broker or private. */
async function cycle(stop: () => Promise<void>, start: () => Promise<void>, downMs: number | undefined): Promise<void> {
  await stop();
  if (downMs) await sleep(downMs);
  await start();
}

/** Stops and starts a native broker on the same port and data dir, with `downMs` of downtime between. */
export function restartBroker(name: BrokerName, options: { downMs?: number } = {}): Promise<void> {
  return cycle(() => stopBroker(name), () => startBroker(name), options.downMs);
}

/** `restartBroker('kafka')`: committed messages and offsets survive (same data dir). */
export function restartKafka(options: { downMs?: number } = {}): Promise<void> {
  return restartBroker('kafka', options);
}

/**
 * Runs `rabbitmqctl` against the run's native RabbitMQ node and returns its output, e.g.
 * `rabbitmqctl('list_connections', 'name', 'client_properties')` or
 * `rabbitmqctl('close_all_connections', 'fault test')` to drop every client connection.
 */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { server } = nativeOf('rabbitmq');
  if (!server.cli) throw new Error('rabbitmq: the native server has no CLI recorded');
  const result = await run(server.cli.command, [...server.cli.args, ...args], { env: server.cliEnv, timeoutMs: 60_000 });
  if (result.code !== 0) throw new Error(`rabbitmqctl ${args.join(' ')} failed (${result.code}):\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

async function servicebusLever(path: string): Promise<Record<string, unknown>> {
  const { server } = nativeOf('servicebus');
  const response = await fetch(`http://127.0.0.1:${server.ports.control}${path}`, { method: 'POST' });
  const body = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`servicebus emulator ${path}: ${String(body.error)}`);
  return body;
}

/**
 * Drops, at the socket, the client connections of the harness's Service Bus emulator that have a link to
 * `entity` (a queue, `topic/Subscriptions/name`, a topic), or every connection; resolves with how many.
 */
export async function dropServicebusConnections(entity?: string): Promise<number> {
  const query = entity === undefined ? '' : `?entity=${encodeURIComponent(entity)}`;
  return Number((await servicebusLever(`/connections/drop${query}`)).dropped);
}

/** Ends every lock of one queue or subscription (`topic/Subscriptions/name`) now, as if it had expired. */
export async function expireServicebusLocks(entity: string): Promise<number> {
  return Number((await servicebusLever(`/locks/expire?entity=${encodeURIComponent(entity)}`)).expired);
}

/** A native server of one test file's own, with its levers (see `privateBroker`). */
export interface PrivateBroker<B extends BrokerName> {
  /** Connection settings, as `sqs()` or `pubsub()` give for the shared broker. */
  settings: SettingsOf[B];
  /** Stops the server (gracefully, then SIGKILL); its port stays its own for `start`. */
  stop(): Promise<void>;
  /** Starts it again on the same port; resolves when a real client gets an answer. */
  start(): Promise<void>;
  /** `stop`, `downMs` of downtime, `start`. */
  restart(options?: { downMs?: number }): Promise<void>;
  /** Kills the server for good (call it in `afterAll` or a `finally`); never throws, may be called again. */
  dispose(): Promise<void>;
}

/** The servers of this worker not yet disposed: killed on the worker's exit whatever happens. */
const privateServers = new Set<NativeServer>();
let exitHookInstalled = false;

/**
 * Starts a native server for the calling test file alone, on free loopback ports, so a fault test can stop and
 * start it while other files use the run's shared one. Its process-group files live under the run dir, so the
 * reaper and the global teardown kill it too if the test never gets to `dispose` (a crashed worker).
 */
export async function privateBroker<B extends 'sqs' | 'pubsub'>(name: B): Promise<PrivateBroker<B>> {
  const driver = DRIVERS[name];
  const dir = join(readState().runDir, 'private', uniqueName(name));
  mkdirSync(dir, { recursive: true });
  const plan: NativePlan<B> = await driver.planNative(dir);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => killServersNow([...privateServers].flatMap((server) => server.processes.map((p) => p.pidFile))));
  }
  privateServers.add(plan.server);
  try {
    await startNative(driver, plan);
  } catch (error) {
    privateServers.delete(plan.server);
    throw error;
  }
  let disposed = false;
  const live = (): void => {
    if (disposed) throw new Error(`${name}: this private broker was disposed`);
  };
  const broker: PrivateBroker<B> = {
    settings: plan.settings,
    async stop() {
      live();
      await stopNative(driver, plan.server);
    },
    async start() {
      live();
      await startNative(driver, plan);
    },
    restart(options = {}) {
      return cycle(broker.stop, broker.start, options.downMs);
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await stopNative(driver, plan.server);
      privateServers.delete(plan.server);
    },
  };
  return broker;
}
