// RabbitMQ: a user's URL, the rabbitmq image, or Debian's rabbitmq-server run as a private node:
// its own node name, ports, epmd, Erlang cookie (its own HOME), config and data dirs, all on loopback,
// so it never meets a system node.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'amqplib';
import type { BrokerDriver } from './driver';
import { freePorts, run, which } from './process';
import type { NativeServer } from './state';

const RABBITMQ_IMAGE = 'rabbitmq:3.13-management';
const DEBIAN_BIN = '/usr/lib/rabbitmq/bin';

// The Debian wrappers in /usr/sbin switch to the rabbitmq user when run as root; the scripts in
// /usr/lib/rabbitmq/bin run as whoever calls them, which is what a private node needs.
function findBinary(name: string): string | undefined {
  const debian = join(DEBIAN_BIN, name);
  return existsSync(debian) ? debian : which(name);
}

function isRootOnDebian(): boolean {
  return process.getuid?.() === 0 && existsSync('/etc/debian_version') && which('apt-get') !== undefined;
}

/** rabbitmq-server and rabbitmqctl, installed with apt-get when missing and allowed. */
async function rabbitBinaries(): Promise<{ server: string; ctl: string; epmd: string }> {
  let server = findBinary('rabbitmq-server');
  if (!server && isRootOnDebian()) {
    // RUNLEVEL=1 keeps invoke-rc.d from starting the system service in containers without an init.
    const env = { DEBIAN_FRONTEND: 'noninteractive', RUNLEVEL: '1' };
    const update = await run('apt-get', ['update'], { env, timeoutMs: 10 * 60_000 });
    const install =
      update.code === 0
        ? await run('apt-get', ['install', '-y', '--no-install-recommends', 'rabbitmq-server'], { env, timeoutMs: 10 * 60_000 })
        : update;
    if (install.code !== 0) throw new Error(`rabbitmq: apt-get install rabbitmq-server failed:\n${install.stderr}`);
    server = findBinary('rabbitmq-server');
  }
  const ctl = findBinary('rabbitmqctl');
  const epmd = which('epmd') ?? (existsSync('/usr/bin/epmd') ? '/usr/bin/epmd' : undefined);
  if (!server || !ctl || !epmd) {
    throw new Error(
      'rabbitmq: rabbitmq-server is not installed: install it (Debian/Ubuntu: apt-get install rabbitmq-server; ' +
        'the harness does this itself when run as root on Debian)',
    );
  }
  return { server, ctl, epmd };
}

export const rabbitmqDriver: BrokerDriver<'rabbitmq'> = {
  name: 'rabbitmq',
  envHelp: 'BROKERTRACE_RABBITMQ_URL=amqp://user:pass@host:port',
  readyTimeoutMs: 90_000,
  stopGraceMs: 15_000,

  fromEnv(env) {
    const url = env.BROKERTRACE_RABBITMQ_URL?.trim();
    if (!url) return undefined;
    if (!/^amqps?:\/\//.test(url)) throw new Error(`BROKERTRACE_RABBITMQ_URL must be an amqp:// or amqps:// URL, got "${url}"`);
    return { url };
  },

  async check({ url }) {
    const connection = await connect(url);
    try {
      const channel = await connection.createChannel();
      await channel.close();
    } finally {
      await connection.close();
    }
  },

  async startDocker() {
    const { GenericContainer, Wait } = await import('testcontainers');
    // The official image lets guest log in from anywhere, not only from loopback.
    const container = await new GenericContainer(RABBITMQ_IMAGE)
      .withExposedPorts(5672, 15672)
      .withWaitStrategy(Wait.forLogMessage(/Server startup complete/))
      .start();
    return {
      settings: { url: `amqp://guest:guest@${container.getHost()}:${container.getMappedPort(5672)}` },
      stop: async () => void (await container.stop()),
    };
  },

  async planNative(dir) {
    const bin = await rabbitBinaries();
    const [port, distPort, epmdPort] = (await freePorts(3)) as [number, number, number];
    const home = join(dir, 'home');
    for (const sub of ['home', 'mnesia', 'log']) mkdirSync(join(dir, sub), { recursive: true });
    // Erlang reads the cookie from $HOME; a random one of our own means no other node can talk to ours.
    writeFileSync(join(home, '.erlang.cookie'), randomBytes(20).toString('hex'));
    chmodSync(join(home, '.erlang.cookie'), 0o400);
    writeFileSync(join(dir, 'rabbitmq-env.conf'), '# empty: keeps /etc/rabbitmq/rabbitmq-env.conf out\n');
    writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
    writeFileSync(
      join(dir, 'rabbitmq.conf'),
      [
        `listeners.tcp.1 = 127.0.0.1:${port}`,
        'loopback_users.guest = true', // guest may log in, from loopback only (the default, said out loud)
        'disk_free_limit.absolute = 50MB',
        '',
      ].join('\n'),
    );
    const node = `brokertrace-${process.pid}-${randomBytes(3).toString('hex')}@localhost`;
    const loopbackDist = '-kernel inet_dist_use_interface {127,0,0,1}';
    const erlangEnv = { HOME: home, ERL_EPMD_PORT: String(epmdPort), ERL_EPMD_ADDRESS: '127.0.0.1' };
    const cliEnv = {
      ...erlangEnv,
      RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
      RABBITMQ_CTL_ERL_ARGS: loopbackDist,
    };
    const server: NativeServer = {
      dir,
      ports: { amqp: port, distribution: distPort, epmd: epmdPort },
      cliEnv,
      cli: { command: bin.ctl, args: ['-n', node] },
      processes: [
        {
          // Our own epmd on its own port, in the foreground, so stopping it is stopping a process we own.
          name: 'epmd',
          command: bin.epmd,
          args: ['-port', String(epmdPort), '-address', '127.0.0.1'],
          env: erlangEnv,
          cwd: dir,
          logFile: join(dir, 'epmd.log'),
          pidFile: join(dir, 'epmd.pgid'),
          readyPort: epmdPort,
        },
        {
          name: 'rabbitmq',
          command: bin.server,
          args: [],
          env: {
            ...cliEnv,
            RABBITMQ_NODENAME: node,
            RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
            RABBITMQ_NODE_PORT: String(port),
            RABBITMQ_DIST_PORT: String(distPort),
            RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
            RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
            RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
            RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
            RABBITMQ_LOG_BASE: join(dir, 'log'),
            RABBITMQ_PID_FILE: join(dir, 'rabbitmq-server.pid'),
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: loopbackDist,
          },
          cwd: dir,
          logFile: join(dir, 'server.log'),
          pidFile: join(dir, 'rabbitmq.pgid'),
        },
      ],
    };
    return { server, settings: { url: `amqp://guest:guest@127.0.0.1:${port}` } };
  },

  async beforeStop(server) {
    if (!server.cli) return;
    await run(server.cli.command, [...server.cli.args, 'stop'], { env: server.cliEnv, timeoutMs: 30_000 });
  },
};
