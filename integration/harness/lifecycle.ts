// Getting one broker for a run (the user's endpoint, else Docker, else native) and giving it back.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startNative, stopNative, type BrokerDriver } from './driver';
import { kafkaDriver } from './kafka';
import { killServersNow, sleep } from './process';
import { pubsubDriver } from './pubsub';
import { rabbitmqDriver } from './rabbitmq';
import { servicebusDriver } from './servicebus';
import { sqsDriver } from './sqs';
import type { BrokerEntry, BrokerName } from './state';

export const DRIVERS: { [B in BrokerName]: BrokerDriver<B> } = {
  kafka: kafkaDriver,
  rabbitmq: rabbitmqDriver,
  sqs: sqsDriver,
  pubsub: pubsubDriver,
  servicebus: servicebusDriver,
};

export interface Acquired<B extends BrokerName> {
  entry: BrokerEntry<B>;
  /** Set for a Docker container, whose handle lives only in this process. */
  stopDocker?: () => Promise<void>;
}

async function checkWithin<B extends BrokerName>(driver: BrokerDriver<B>, settings: BrokerEntry<B>['settings'], ms: number) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await driver.check(settings);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(500);
    }
  }
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One broker for this run, in the harness's order of preference. Errors say what to install or set. */
export async function acquire<B extends BrokerName>(driver: BrokerDriver<B>, runDir: string, useDocker: boolean): Promise<Acquired<B>> {
  const started = Date.now();
  const seconds = (): number => Math.round((Date.now() - started) / 100) / 10;
  const settings = driver.fromEnv(process.env);
  if (settings) {
    try {
      await checkWithin(driver, settings, 15_000);
    } catch (error) {
      throw new Error(`${driver.name}: the endpoint in the environment (${driver.envHelp}) does not answer: ${reason(error)}`, { cause: error });
    }
    return { entry: { source: 'env', settings, startSeconds: seconds() } };
  }
  if (useDocker) {
    try {
      const container = await driver.startDocker();
      return { entry: { source: 'docker', settings: container.settings, startSeconds: seconds() }, stopDocker: container.stop };
    } catch (error) {
      throw new Error(`${driver.name}: could not start its Docker container: ${reason(error)}. Set ${driver.envHelp}, or BROKERTRACE_NO_DOCKER=1 to run it natively`, {
        cause: error,
      });
    }
  }
  const dir = join(runDir, driver.name);
  mkdirSync(dir, { recursive: true });
  try {
    const plan = await driver.planNative(dir);
    await startNative(driver, plan);
    return { entry: { source: 'native', settings: plan.settings, native: plan.server, startSeconds: seconds() } };
  } catch (error) {
    throw new Error(
      `${reason(error)}\n  -> or set ${driver.envHelp} to use a running ${driver.name}, or BROKERTRACE_SKIP_BROKERS=${driver.name} to leave its tests out`,
      { cause: error },
    );
  }
}

/** Stops what `acquire` started (nothing for a user's endpoint). Never throws. */
export async function release<B extends BrokerName>(name: B, entry: BrokerEntry<B>, stopDocker?: () => Promise<void>): Promise<void> {
  if (entry.native) await stopNative(DRIVERS[name], entry.native);
  if (stopDocker) await stopDocker().catch(() => undefined);
}

/** Every process-group file under the run dir, including servers still starting. */
export function pgidFilesIn(runDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(runDir, { recursive: true, encoding: 'utf8' });
  } catch {
    return [];
  }
  return names.filter((name) => name.endsWith('.pgid')).map((name) => join(runDir, name));
}

/**
 * Ctrl-C or a kill of jest must not leave servers behind: on SIGINT/SIGTERM/SIGHUP, and on any exit
 * that skipped the teardown, every server group under the run dir gets SIGKILL.
 */
export function installEmergencyStop(runDir: string): void {
  const killAll = (): void => killServersNow(pgidFilesIn(runDir));
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbrokertrace harness: ${signal}, stopping the brokers\n`);
      killAll();
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
}

/** The detached watchdog for the case where even the exit handler cannot run (SIGKILL). */
export function startReaper(runDir: string): number | undefined {
  const reaper = spawn(process.execPath, [join(__dirname, 'reaper.cjs'), String(process.pid), runDir], {
    detached: true,
    stdio: 'ignore',
  });
  reaper.unref();
  return reaper.pid;
}

export function stopReaper(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
