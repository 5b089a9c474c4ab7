// What the global setup hands to the test workers: one JSON file, named by an environment variable
// that the workers inherit (jest forks them after the global setup ran).
import { readFileSync, writeFileSync } from 'node:fs';
import type { ProcessSpec } from './process';

export const BROKERS = ['kafka', 'rabbitmq', 'sqs', 'pubsub', 'servicebus'] as const;
export type BrokerName = (typeof BROKERS)[number];

export interface KafkaSettings {
  /** host:port of every bootstrap broker, e.g. ['127.0.0.1:39092']. */
  brokers: string[];
}
export interface RabbitmqSettings {
  /** amqp://guest:guest@127.0.0.1:port */
  url: string;
}
export interface SqsSettings {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}
export interface PubsubSettings {
  /** host:port of the emulator (what PUBSUB_EMULATOR_HOST holds). */
  apiEndpoint: string;
  projectId: string;
}
export interface ServicebusSettings {
  /** A connection string for `new ServiceBusClient(...)`; the emulators' use UseDevelopmentEmulator=true. */
  connectionString: string;
}
export interface SettingsOf {
  kafka: KafkaSettings;
  rabbitmq: RabbitmqSettings;
  sqs: SqsSettings;
  pubsub: PubsubSettings;
  servicebus: ServicebusSettings;
}

/** Where a broker came from: a user's endpoint, a testcontainers container, or a server we run. */
export type Source = 'env' | 'docker' | 'native';

/** A native server: its processes (started in this order) and what a restart needs. */
export interface NativeServer {
  dir: string;
  processes: ProcessSpec[];
  /** Ports the server owns, fixed for its whole life so a restart keeps its clients' address. */
  ports: Record<string, number>;
  /** Environment for the broker's own CLI (rabbitmqctl). */
  cliEnv?: Record<string, string>;
  /** The broker's CLI and the arguments that address this server. */
  cli?: { command: string; args: string[] };
}

export interface BrokerEntry<B extends BrokerName> {
  source: Source;
  settings: SettingsOf[B];
  native?: NativeServer;
  /** Seconds the broker took to become ready in this run. */
  startSeconds: number;
}

export interface HarnessState {
  runDir: string;
  /** Brokers left out on purpose (BROKERTRACE_SKIP_BROKERS). */
  skipped: BrokerName[];
  brokers: { [B in BrokerName]?: BrokerEntry<B> };
  reaperPid?: number;
}

export const STATE_ENV = 'BROKERTRACE_HARNESS_STATE';

export function writeState(file: string, state: HarnessState): void {
  writeFileSync(file, JSON.stringify(state, null, 2));
}

export function readState(): HarnessState {
  const file = process.env[STATE_ENV];
  if (!file) {
    throw new Error(
      `${STATE_ENV} is not set: integration tests must run through the integration jest project, whose global ` +
        'setup starts the brokers: scripts/pnpm exec jest --selectProjects integration <path> (see integration/README.md)',
    );
  }
  return JSON.parse(readFileSync(file, 'utf8')) as HarnessState;
}
