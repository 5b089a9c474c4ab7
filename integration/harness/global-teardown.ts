// Jest global teardown of the `integration` project: stops every broker the setup started (jest runs
// it whether tests passed or failed), then the reaper, and removes the run dir.
import { rmSync } from 'node:fs';
import { pgidFilesIn, release, stopReaper } from './lifecycle';
import { killServersNow } from './process';
import { readState, STATE_ENV, type BrokerEntry, type BrokerName } from './state';

export default async function globalTeardown(): Promise<void> {
  if (!process.env[STATE_ENV]) return; // the setup failed before it made a run dir
  const state = readState(); // read again: a test may have restarted a server under a new pid
  const handles = globalThis.__brokertraceHarness?.acquired ?? {};
  const started = Date.now();
  await Promise.all(
    Object.entries(state.brokers).map(([name, entry]) =>
      release(name as BrokerName, entry as BrokerEntry<BrokerName>, handles[name as BrokerName]?.stopDocker),
    ),
  );
  // servers a test file started for itself (privateBroker) and could not stop, e.g. from a crashed worker
  killServersNow(pgidFilesIn(state.runDir));
  stopReaper(state.reaperPid);
  if (Object.keys(state.brokers).length > 0) {
    process.stdout.write(`brokertrace harness: brokers stopped in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
  }
  if (process.env.BROKERTRACE_KEEP_RUN_DIR) {
    process.stdout.write(`brokertrace harness: run dir kept (BROKERTRACE_KEEP_RUN_DIR): ${state.runDir}\n`);
  } else {
    rmSync(state.runDir, { recursive: true, force: true });
  }
}
