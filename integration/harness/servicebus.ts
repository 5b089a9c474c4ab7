// Service Bus: a user's namespace (connection string), the official emulator through testcontainers
// (with its SQL Server companion; untested here: no Docker on these machines), or our AMQP 1.0 emulator
// (integration/servicebus-emulator, on rhea) as a child process on a free loopback port. All three read
// the entities of integration/servicebus-emulator/config.json (the official emulator's Config.json format).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ServiceBusClient } from '@azure/service-bus';
import type { BrokerDriver } from './driver';
import { freePorts } from './process';

export const SERVICEBUS_CONFIG = join(__dirname, '..', 'servicebus-emulator', 'config.json');
const EMULATOR_MAIN = join(__dirname, '..', 'servicebus-emulator', 'src', 'main.ts');
const EMULATOR_IMAGE = 'mcr.microsoft.com/azure-messaging/servicebus-emulator:latest';
const SQL_IMAGE = 'mcr.microsoft.com/mssql/server:2022-latest';
// the fixed key pair of the official emulator, which ours accepts too
const KEY_NAME = 'RootManageSharedAccessKey';
const KEY = 'SAS_KEY_VALUE';
/** A queue of config.json that the readiness check peeks (peek has no side effect). */
const CHECK_QUEUE = 'smoke';

export function emulatorConnectionString(host: string, port: number): string {
  return `Endpoint=sb://${host}:${port};SharedAccessKeyName=${KEY_NAME};SharedAccessKey=${KEY};UseDevelopmentEmulator=true;`;
}

/** A connection string with its secret masked, for messages. */
export function maskConnectionString(connectionString: string): string {
  return connectionString.replace(/(SharedAccess(?:Key|Signature)=)[^;]*/gi, '$1***');
}

export const servicebusDriver: BrokerDriver<'servicebus'> = {
  name: 'servicebus',
  envHelp: 'BROKERTRACE_SERVICEBUS_CONNECTION_STRING=Endpoint=sb://...;SharedAccessKeyName=...;SharedAccessKey=... (with the entities of integration/servicebus-emulator/config.json)',
  readyTimeoutMs: 30_000,
  stopGraceMs: 3_000,

  fromEnv(env) {
    const connectionString = env.BROKERTRACE_SERVICEBUS_CONNECTION_STRING?.trim();
    if (!connectionString) return undefined;
    if (!/(^|;)\s*Endpoint=sb:\/\//i.test(connectionString)) {
      throw new Error(`BROKERTRACE_SERVICEBUS_CONNECTION_STRING must hold Endpoint=sb://..., got "${maskConnectionString(connectionString)}"`);
    }
    return { connectionString };
  },

  async check(settings) {
    const client = new ServiceBusClient(settings.connectionString, { retryOptions: { maxRetries: 0, timeoutInMs: 5000 } });
    try {
      const receiver = client.createReceiver(CHECK_QUEUE);
      await receiver.peekMessages(1);
    } finally {
      await client.close();
    }
  },

  async startDocker() {
    // Untested here (these machines have no Docker engine). The official emulator keeps its state in SQL
    // Server (Azure SQL Edge on arm64) and reads the entities from /ServiceBus_Emulator/ConfigFiles/Config.json.
    const { GenericContainer, Network, Wait } = await import('testcontainers');
    const network = await new Network().start();
    const password = `Bt-${Math.random().toString(36).slice(2)}-9aA`;
    const sql = await new GenericContainer(SQL_IMAGE)
      .withNetwork(network)
      .withNetworkAliases('sqledge')
      .withEnvironment({ ACCEPT_EULA: 'Y', MSSQL_SA_PASSWORD: password })
      .withWaitStrategy(Wait.forLogMessage(/SQL Server is now ready for client connections/))
      .start();
    try {
      const emulator = await new GenericContainer(EMULATOR_IMAGE)
        .withNetwork(network)
        .withEnvironment({ SQL_SERVER: 'sqledge', MSSQL_SA_PASSWORD: password, ACCEPT_EULA: 'Y', SQL_WAIT_INTERVAL: '0' })
        .withCopyFilesToContainer([{ source: SERVICEBUS_CONFIG, target: '/ServiceBus_Emulator/ConfigFiles/Config.json' }])
        .withExposedPorts(5672)
        .withWaitStrategy(Wait.forLogMessage(/Emulator Service is Successfully Up/))
        .withStartupTimeout(180_000)
        .start();
      return {
        settings: { connectionString: emulatorConnectionString(emulator.getHost(), emulator.getMappedPort(5672)) },
        stop: async () => {
          await emulator.stop();
          await sql.stop();
          await network.stop();
        },
      };
    } catch (error) {
      await sql.stop().catch(() => undefined);
      await network.stop().catch(() => undefined);
      throw error;
    }
  },

  async planNative(dir) {
    const [port, control] = (await freePorts(2)) as [number, number];
    // the emulator is TypeScript: run it through tsx's loader, with the Node that runs the harness
    const tsx = pathToFileURL(require.resolve('tsx')).href;
    return {
      settings: { connectionString: emulatorConnectionString('127.0.0.1', port) },
      server: {
        dir,
        // control: the emulator's fault levers (integration/servicebus-emulator/src/control.ts)
        ports: { amqp: port, control },
        processes: [
          {
            name: 'servicebus-emulator',
            command: process.execPath,
            args: ['--import', tsx, EMULATOR_MAIN, '--config', SERVICEBUS_CONFIG, '--host', '127.0.0.1', '--port', String(port), '--control-port', String(control)],
            env: {},
            cwd: dir,
            logFile: join(dir, 'server.log'),
            pidFile: join(dir, 'servicebus.pgid'),
            readyPort: port,
          },
        ],
      },
    };
  },
};
