// What the harness needs to know about one broker, and the native lifecycle every broker shares:
// spawn its processes in order, wait for each port, then for a real client's answer.
import type { ChildProcess } from 'node:child_process';
import { spawnServer, stopServer, tcpProbe, waitUntilReady } from './process';
import type { BrokerName, NativeServer, SettingsOf } from './state';

export interface DockerBroker<B extends BrokerName> {
  settings: SettingsOf[B];
  stop(): Promise<void>;
}

export interface NativePlan<B extends BrokerName> {
  server: NativeServer;
  settings: SettingsOf[B];
}

export interface BrokerDriver<B extends BrokerName> {
  name: B;
  /** The environment variables that name a user's endpoint, for messages. */
  envHelp: string;
  /** The user's endpoint from the environment, or undefined when none is named. Throws when malformed. */
  fromEnv(env: NodeJS.ProcessEnv): SettingsOf[B] | undefined;
  /** One round trip with the broker's real client; throws when the broker does not answer properly. */
  check(settings: SettingsOf[B]): Promise<void>;
  startDocker(): Promise<DockerBroker<B>>;
  /** Finds the binaries (installing or downloading what is missing), writes config, picks ports. */
  planNative(dir: string): Promise<NativePlan<B>>;
  /** A graceful stop before the process groups get SIGTERM (e.g. rabbitmqctl stop). */
  beforeStop?(server: NativeServer): Promise<void>;
  /** How long the server may take to become ready. */
  readyTimeoutMs: number;
  /** How long a SIGTERM may take before SIGKILL. */
  stopGraceMs: number;
}

/** Starts (or restarts) a planned native server; on failure stops whatever part of it started. */
export async function startNative<B extends BrokerName>(
  driver: BrokerDriver<B>,
  plan: NativePlan<B>,
): Promise<void> {
  try {
    let last: ChildProcess | undefined;
    for (const spec of plan.server.processes) {
      last = spawnServer(spec);
      if (spec.readyPort !== undefined) {
        await waitUntilReady(spec, last, driver.readyTimeoutMs, tcpProbe(spec.readyPort));
      }
    }
    const main = plan.server.processes.at(-1);
    if (main) await waitUntilReady(main, last, driver.readyTimeoutMs, () => driver.check(plan.settings));
  } catch (error) {
    await stopNative(driver, plan.server);
    throw error;
  }
}

/** Stops every process of a native server, last started first. Never throws. */
export async function stopNative<B extends BrokerName>(driver: BrokerDriver<B>, server: NativeServer): Promise<void> {
  try {
    await driver.beforeStop?.(server);
  } catch {
    // the process groups get signalled below anyway
  }
  for (const spec of [...server.processes].reverse()) await stopServer(spec, driver.stopGraceMs);
}
