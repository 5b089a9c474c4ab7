// SQS: a user's endpoint, the moto image, or moto_server (Python's moto) on a free loopback port.
// moto does not enforce every SQS limit: integration/README.md lists the ones our tests must count.
import { join } from 'node:path';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { BrokerDriver } from './driver';
import { freePort, which } from './process';
import type { SqsSettings } from './state';

const MOTO_IMAGE = 'motoserver/moto:5.2.1';
const FAKE_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

function settingsFor(endpoint: string, env: NodeJS.ProcessEnv = {}): SqsSettings {
  return {
    endpoint,
    region: env.BROKERTRACE_SQS_REGION ?? 'us-east-1',
    credentials:
      env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
        ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY }
        : FAKE_CREDENTIALS,
  };
}

export const sqsDriver: BrokerDriver<'sqs'> = {
  name: 'sqs',
  envHelp: 'BROKERTRACE_SQS_ENDPOINT=http://host:port (and BROKERTRACE_SQS_REGION, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)',
  readyTimeoutMs: 60_000,
  stopGraceMs: 5_000,

  fromEnv(env) {
    const endpoint = env.BROKERTRACE_SQS_ENDPOINT?.trim();
    if (!endpoint) return undefined;
    if (!/^https?:\/\//.test(endpoint)) throw new Error(`BROKERTRACE_SQS_ENDPOINT must be an http(s):// URL, got "${endpoint}"`);
    return settingsFor(endpoint, env);
  },

  async check(settings) {
    const client = new SQSClient({ ...settings, maxAttempts: 1 });
    try {
      await client.send(new ListQueuesCommand({}));
    } finally {
      client.destroy();
    }
  },

  async startDocker() {
    const { GenericContainer, Wait } = await import('testcontainers');
    const container = await new GenericContainer(MOTO_IMAGE)
      .withExposedPorts(5000)
      .withWaitStrategy(Wait.forListeningPorts())
      .start();
    return {
      settings: settingsFor(`http://${container.getHost()}:${container.getMappedPort(5000)}`),
      stop: async () => void (await container.stop()),
    };
  },

  async planNative(dir) {
    const moto = which('moto_server');
    if (!moto) {
      throw new Error(
        'sqs: moto_server is not on PATH: install it (pip install "moto[server]")',
      );
    }
    const port = await freePort();
    return {
      settings: settingsFor(`http://127.0.0.1:${port}`),
      server: {
        dir,
        ports: { http: port },
        processes: [
          {
            name: 'moto_server',
            command: moto,
            args: ['-H', '127.0.0.1', '-p', String(port)],
            env: { PYTHONUNBUFFERED: '1' },
            cwd: dir,
            logFile: join(dir, 'server.log'),
            pidFile: join(dir, 'moto.pgid'),
          },
        ],
      },
    };
  },
};
