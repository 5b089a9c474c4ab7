// Brokers for programs outside jest (the demo, the benchmark): the same order as the tests — the user's
// endpoint named in the environment, else Docker, else the native server the harness runs — with the same
// clean-up guarantees (Ctrl-C and a killed parent stop the servers too).
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerEngineAnswers } from './docker';
import { acquire, DRIVERS, installEmergencyStop, release, startReaper, stopReaper } from './lifecycle';
import type { BrokerName, SettingsOf, Source } from './state';

export interface RunningBroker<B extends BrokerName> {
  settings: SettingsOf[B];
  source: Source;
  startSeconds: number;
  /** Stops what was started (nothing for a user's endpoint). */
  stop(): Promise<void>;
}

let runDir: string | undefined;
let reaperPid: number | undefined;

/** Starts one broker, or finds the user's; the error says what to install or set when it cannot be had. */
export async function startBroker<B extends BrokerName>(broker: B): Promise<RunningBroker<B>> {
  if (runDir === undefined) {
    runDir = realpathSync(mkdtempSync(join(tmpdir(), 'brokertrace-')));
    installEmergencyStop(runDir);
    reaperPid = startReaper(runDir);
  }
  const driver = DRIVERS[broker];
  const useDocker = !driver.fromEnv(process.env) && (await dockerEngineAnswers());
  const { entry, stopDocker } = await acquire(driver, runDir, useDocker);
  return {
    settings: entry.settings,
    source: entry.source,
    startSeconds: entry.startSeconds,
    stop: () => release(broker, entry, stopDocker),
  };
}

/** Once every broker is stopped: the watchdog and the run dir go too. */
export function cleanUpBrokers(): void {
  stopReaper(reaperPid);
  if (runDir !== undefined) rmSync(runDir, { recursive: true, force: true });
  runDir = undefined;
}
