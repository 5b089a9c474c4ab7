// Jest global setup of the `integration` project: starts, in parallel, the brokers that the selected
// test files need, and hands their settings to the test workers through the state file.
// (The harness imports siblings without the `.js` suffix: jest loads global hooks with Node's own
// resolver, which knows nothing of the moduleNameMapper that maps the suffix away in tests.)
import { mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerEngineAnswers } from './docker';
import { acquire, DRIVERS, installEmergencyStop, release, startReaper, stopReaper, type Acquired } from './lifecycle';
import { neededBrokers, skippedBrokers, type SelectionConfig } from './selection';
import { maskConnectionString } from './servicebus';
import { STATE_ENV, writeState, type BrokerName, type HarnessState } from './state';

interface JestGlobalConfig {
  rootDir: string;
  testPathPatterns?: SelectionConfig['testPathPatterns'];
}
interface JestProjectConfig {
  rootDir: string;
  testPathIgnorePatterns: string[];
}

/** Acquired brokers whose handles only this process has (Docker containers); read by the teardown. */
export interface SetupHandles {
  acquired: Partial<Record<BrokerName, Acquired<BrokerName>>>;
}
declare global {
  var __brokertraceHarness: SetupHandles | undefined;
}

function say(line: string): void {
  process.stdout.write(`brokertrace harness: ${line}\n`);
}

export default async function globalSetup(globalConfig: JestGlobalConfig, projectConfig: JestProjectConfig): Promise<void> {
  const skipped = skippedBrokers(process.env);
  const needed = neededBrokers(projectConfig.rootDir, {
    rootDir: globalConfig.rootDir,
    testPathPatterns: globalConfig.testPathPatterns,
    testPathIgnorePatterns: projectConfig.testPathIgnorePatterns,
  }).filter((broker) => !skipped.includes(broker));
  if (skipped.length > 0) say(`left out on request (BROKERTRACE_SKIP_BROKERS): ${skipped.join(', ')} and their tests`);

  const runDir = realpathSync(mkdtempSync(join(tmpdir(), 'brokertrace-')));
  const stateFile = join(runDir, 'state.json');
  const state: HarnessState = { runDir, skipped, brokers: {} };
  process.env[STATE_ENV] = stateFile; // the workers, forked after this, inherit it
  installEmergencyStop(runDir);
  state.reaperPid = startReaper(runDir);
  writeState(stateFile, state);
  if (needed.length === 0) return;

  const needsServer = needed.some((broker) => !DRIVERS[broker].fromEnv(process.env));
  const useDocker = needsServer && (await dockerEngineAnswers());
  say(`starting ${needed.join(', ')} (${useDocker ? 'Docker' : 'native'} unless named in the environment), run dir ${runDir}`);

  const outcomes = await Promise.allSettled(needed.map((broker) => acquire(DRIVERS[broker], runDir, useDocker)));
  const handles: SetupHandles = { acquired: {} };
  globalThis.__brokertraceHarness = handles;
  const failures: string[] = [];
  outcomes.forEach((outcome, i) => {
    const broker = needed[i] as BrokerName;
    if (outcome.status === 'rejected') {
      failures.push(outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason));
      return;
    }
    handles.acquired[broker] = outcome.value;
    (state.brokers as Record<string, unknown>)[broker] = outcome.value.entry;
  });
  writeState(stateFile, state);

  if (failures.length > 0) {
    // jest runs no teardown when the setup throws: give back what did start first.
    await Promise.all(Object.entries(handles.acquired).map(([b, a]) => release(b as BrokerName, a.entry, a.stopDocker)));
    stopReaper(state.reaperPid); // and keep the run dir: the messages point at its logs
    throw new Error(`brokertrace harness: a broker this run needs could not be had (nothing is skipped silently):\n- ${failures.join('\n- ')}`);
  }

  const pubsub = state.brokers.pubsub;
  if (pubsub) {
    // for code that builds `new PubSub()` from the environment, as the client documents
    process.env.PUBSUB_EMULATOR_HOST = pubsub.settings.apiEndpoint;
    process.env.PUBSUB_PROJECT_ID = pubsub.settings.projectId;
    // google-auth-library would otherwise probe for a GCE metadata server and warn when none answers
    process.env.METADATA_SERVER_DETECTION ??= 'none';
  }
  for (const broker of needed) {
    const entry = state.brokers[broker];
    // credentials may be the user's own: never printed
    const where = JSON.stringify(entry?.settings, (key, value: unknown) =>
      key === 'credentials' ? undefined : key === 'connectionString' ? maskConnectionString(String(value)) : value,
    );
    if (entry) say(`${broker} ready (${entry.source}) in ${entry.startSeconds}s: ${where}`);
  }
}
