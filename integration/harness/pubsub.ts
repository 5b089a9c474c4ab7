// Pub/Sub: a user's emulator, the google-cloud-cli emulators image, or Google's emulator from the
// gcloud SDK (Debian package google-cloud-cli-pubsub-emulator), run through its own start script.
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import type { BrokerDriver } from './driver';
import { freePort, which } from './process';

const EMULATOR_IMAGE = 'gcr.io/google.com/cloudsdktool/google-cloud-cli:emulators';
const SCRIPT = join('platform', 'pubsub-emulator', 'bin', 'cloud-pubsub-emulator');
const DEFAULT_PROJECT = 'brokertrace-test';

/** The emulator's start script: next to the gcloud on PATH, or in the Debian package's place. */
function emulatorScript(): string | undefined {
  const roots = [process.env.CLOUDSDK_ROOT_DIR, '/usr/lib/google-cloud-sdk'];
  const gcloud = which('gcloud');
  if (gcloud) roots.unshift(dirname(dirname(realpathSync(gcloud))));
  return roots.map((root) => root && join(root, SCRIPT)).find((path) => path !== undefined && existsSync(path));
}

export const pubsubDriver: BrokerDriver<'pubsub'> = {
  name: 'pubsub',
  envHelp: 'BROKERTRACE_PUBSUB_EMULATOR_HOST=host:port (and BROKERTRACE_PUBSUB_PROJECT)',
  readyTimeoutMs: 60_000,
  stopGraceMs: 5_000,

  fromEnv(env) {
    const host = env.BROKERTRACE_PUBSUB_EMULATOR_HOST?.trim();
    if (!host) return undefined;
    if (!/^[^:/\s]+:\d+$/.test(host)) throw new Error(`BROKERTRACE_PUBSUB_EMULATOR_HOST must be host:port, got "${host}"`);
    return { apiEndpoint: host, projectId: env.BROKERTRACE_PUBSUB_PROJECT ?? DEFAULT_PROJECT };
  },

  async check(settings) {
    // google-auth-library would otherwise probe for a GCE metadata server and warn when none answers
    process.env.METADATA_SERVER_DETECTION ??= 'none';
    const client = new PubSub({ ...settings, emulatorMode: true });
    try {
      await client.getTopics({ autoPaginate: false, gaxOpts: { timeout: 5000 } });
    } finally {
      await client.close();
    }
  },

  async startDocker() {
    const { GenericContainer, Wait } = await import('testcontainers');
    const container = await new GenericContainer(EMULATOR_IMAGE)
      .withCommand(['gcloud', 'beta', 'emulators', 'pubsub', 'start', '--host-port=0.0.0.0:8085'])
      .withExposedPorts(8085)
      .withWaitStrategy(Wait.forLogMessage(/Server started/))
      .start();
    return {
      settings: { apiEndpoint: `${container.getHost()}:${container.getMappedPort(8085)}`, projectId: DEFAULT_PROJECT },
      stop: async () => void (await container.stop()),
    };
  },

  async planNative(dir) {
    const script = emulatorScript();
    if (!script) {
      throw new Error(
        'pubsub: the Pub/Sub emulator is not installed: install google-cloud-cli-pubsub-emulator (apt) or run ' +
          '`gcloud components install pubsub-emulator`',
      );
    }
    if (!which('java') && !process.env.JAVA_HOME) {
      throw new Error('pubsub: the emulator needs a Java runtime: install Java 17+ (Debian: apt-get install openjdk-17-jre-headless)');
    }
    const port = await freePort();
    return {
      settings: { apiEndpoint: `127.0.0.1:${port}`, projectId: DEFAULT_PROJECT },
      server: {
        dir,
        ports: { grpc: port },
        processes: [
          {
            name: 'pubsub-emulator',
            command: script,
            args: [`--host=127.0.0.1`, `--port=${port}`],
            // the start script passes these to the JVM; 256 MiB of heap was not enough for the 100,000-message
            // soak (its publishes timed out partway, after 10 minutes), 1 GiB is (the heap grows only as needed)
            env: { CLOUD_PUBSUB_EMULATOR_OPTS: '-Xmx1g -XX:+UseSerialGC -XX:TieredStopAtLevel=1' },
            cwd: dir,
            logFile: join(dir, 'server.log'),
            pidFile: join(dir, 'pubsub.pgid'),
          },
        ],
      },
    };
  },
};
