// Kafka: a user's brokers, the apache/kafka image, or Apache Kafka 3.9 in KRaft mode (one node that is
// both broker and controller) from Maven Central jars, resolved once by ./kafka/pom.xml and cached.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { BrokerDriver } from './driver';
import { freePort, freePorts, run, which } from './process';
import type { KafkaSettings } from './state';

const KAFKA_IMAGE = 'apache/kafka:3.9.2';
const POM = join(__dirname, 'kafka', 'pom.xml');

/** ~/.cache/brokertrace, or BROKERTRACE_CACHE_DIR / XDG_CACHE_HOME when set. */
export function cacheRoot(): string {
  if (process.env.BROKERTRACE_CACHE_DIR) return process.env.BROKERTRACE_CACHE_DIR;
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'brokertrace');
}

function requireJava(): string {
  const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : which('java');
  if (!java || !existsSync(java)) {
    throw new Error('kafka: no Java runtime: install Java 17+ (Debian: apt-get install openjdk-17-jre-headless)');
  }
  return java;
}

/**
 * The directory of Kafka's jars, resolved by Maven into the cache the first time (keyed by the pom's
 * hash, so a version bump resolves again). Concurrent runs each resolve into their own temp dir and
 * the first rename wins.
 */
async function kafkaJars(): Promise<string> {
  const pom = readFileSync(POM);
  const key = createHash('sha256').update(pom).digest('hex').slice(0, 12);
  const libs = join(cacheRoot(), `kafka-${key}`, 'libs');
  if (existsSync(join(libs, '.complete'))) return libs;

  const mvn = which('mvn');
  if (!mvn) {
    throw new Error(
      'kafka: Maven is needed once to download the Kafka jars: install it (Debian: apt-get install maven)',
    );
  }
  const work = join(cacheRoot(), `kafka-${key}.tmp-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, 'pom.xml'), pom); // run Maven outside the repository: it writes nothing here
  const result = await run(
    mvn,
    ['-B', '-q', `-Dmaven.repo.local=${join(cacheRoot(), 'm2')}`, 'dependency:copy-dependencies', `-DoutputDirectory=${join(work, 'libs')}`],
    { cwd: work, timeoutMs: 15 * 60_000 },
  );
  if (result.code !== 0) {
    rmSync(work, { recursive: true, force: true });
    throw new Error(`kafka: Maven could not resolve ${POM}:\n${result.stdout}${result.stderr}`);
  }
  writeFileSync(join(work, 'libs', '.complete'), new Date().toISOString());
  mkdirSync(join(libs, '..'), { recursive: true });
  try {
    renameSync(join(work, 'libs'), libs);
  } catch (error) {
    if (!existsSync(join(libs, '.complete'))) throw error; // another run got there first otherwise
  }
  rmSync(work, { recursive: true, force: true });
  return libs;
}

/** Broker settings that keep a one-node cluster quick on 2 cores and let transactions work. */
function serverProperties(dir: string, port: number, controllerPort: number): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${join(dir, 'data')}`,
    'num.partitions=1',
    'auto.create.topics.enable=true',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=1',
    'group.initial.rebalance.delay.ms=0',
    // lets fault tests use short consumer session timeouts
    'group.min.session.timeout.ms=1000',
    'num.network.threads=2',
    'num.io.threads=2',
    '',
  ].join('\n');
}

// log4j writes to stdout, which the harness appends to the server's log file (one file to read).
const LOG4J_PROPERTIES = [
  'log4j.rootLogger=INFO, stdout',
  'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
  'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
  'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
  'log4j.logger.kafka.request.logger=WARN',
  'log4j.logger.state.change.logger=WARN',
  '',
].join('\n');

const JVM_OPTIONS = ['-Xms256m', '-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true'];

function client(settings: KafkaSettings, retries: number): Kafka {
  return new Kafka({
    clientId: 'brokertrace-harness',
    brokers: settings.brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    retry: { retries },
  });
}

export const kafkaDriver: BrokerDriver<'kafka'> = {
  name: 'kafka',
  envHelp: 'BROKERTRACE_KAFKA_BROKERS=host:port[,host:port]',
  readyTimeoutMs: 120_000,
  stopGraceMs: 20_000,

  fromEnv(env) {
    const value = env.BROKERTRACE_KAFKA_BROKERS?.trim();
    if (!value) return undefined;
    const brokers = value.split(',').map((b) => b.trim()).filter(Boolean);
    if (brokers.some((b) => !/^[^:\s]+:\d+$/.test(b))) {
      throw new Error(`BROKERTRACE_KAFKA_BROKERS must be host:port[,host:port], got "${value}"`);
    }
    return { brokers };
  },

  // Metadata answers, then the transaction and group coordinators are warmed up, so that the first
  // test does not wait while the broker creates __transaction_state and __consumer_offsets.
  async check(settings) {
    const admin = client(settings, 0).admin();
    await admin.connect();
    try {
      await admin.describeCluster();
    } finally {
      await admin.disconnect();
    }
    const kafka = client(settings, 8);
    const producer = kafka.producer({ transactionalId: 'brokertrace-harness-warmup', idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const transaction = await producer.transaction();
      await transaction.abort();
    } finally {
      await producer.disconnect();
    }
    const groups = kafka.admin();
    await groups.connect();
    try {
      await groups.describeGroups(['brokertrace-harness-warmup']);
    } finally {
      await groups.disconnect();
    }
  },

  async startDocker() {
    const { GenericContainer, Wait } = await import('testcontainers');
    // Clients must reach the broker at the address it advertises, so the host port is fixed
    // (picked free) and the broker listens on that same port inside the container.
    const port = await freePort();
    const container = await new GenericContainer(KAFKA_IMAGE)
      .withExposedPorts({ container: port, host: port })
      .withEnvironment({
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
        KAFKA_LISTENERS: `PLAINTEXT://:${port},CONTROLLER://:9093`,
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${port}`,
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
        KAFKA_NUM_PARTITIONS: '1',
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'true',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      })
      .withWaitStrategy(Wait.forListeningPorts())
      .start();
    return { settings: { brokers: [`127.0.0.1:${port}`] }, stop: async () => void (await container.stop()) };
  },

  async planNative(dir) {
    const java = requireJava();
    const libs = await kafkaJars();
    const [port, controllerPort] = (await freePorts(2)) as [number, number];
    mkdirSync(join(dir, 'data'), { recursive: true });
    writeFileSync(join(dir, 'server.properties'), serverProperties(dir, port, controllerPort));
    writeFileSync(join(dir, 'log4j.properties'), LOG4J_PROPERTIES);
    const classpath = ['-cp', join(libs, '*'), `-Dlog4j.configuration=file:${join(dir, 'log4j.properties')}`];

    // A cluster id is 16 random bytes in URL-safe base64, which is what `kafka-storage random-uuid` prints.
    const clusterId = randomBytes(16).toString('base64url');
    const format = await run(
      java,
      ['-Xmx256m', ...classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', join(dir, 'server.properties')],
      { cwd: dir, timeoutMs: 60_000 },
    );
    if (format.code !== 0) throw new Error(`kafka: formatting the storage failed:\n${format.stdout}${format.stderr}`);

    return {
      settings: { brokers: [`127.0.0.1:${port}`] },
      server: {
        dir,
        ports: { broker: port, controller: controllerPort },
        processes: [
          {
            name: 'kafka',
            command: java,
            args: [...JVM_OPTIONS, ...classpath, 'kafka.Kafka', join(dir, 'server.properties')],
            env: {},
            cwd: dir,
            logFile: join(dir, 'server.log'),
            pidFile: join(dir, 'kafka.pgid'),
          },
        ],
      },
    };
  },
};
