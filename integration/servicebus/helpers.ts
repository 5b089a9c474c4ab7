// Shared pieces of the service-bus integration tests: a client on the harness's Service Bus, draining a queue
// before a test, receiving with a deadline (never sleeping), and running fixtures/client-run.ts in a process of its own.
import { ServiceBusClient } from '@azure/service-bus';
import type { ServiceBusClientOptions, ServiceBusReceivedMessage, ServiceBusReceiver } from '@azure/service-bus';
import type { SpanKind } from '@opentelemetry/api';
import { servicebus } from '../harness/index.js';
export { Countdown } from '../harness/countdown.js';

export async function connect(options?: ServiceBusClientOptions): Promise<ServiceBusClient> {
  return new ServiceBusClient((await servicebus()).connectionString, options);
}

/** Removes whatever an earlier run left in `queue` (the emulator keeps messages in memory for the whole run). */
export async function drain(client: ServiceBusClient, queue: string, subscription?: string): Promise<void> {
  const receiver = subscription === undefined
    ? client.createReceiver(queue, { receiveMode: 'receiveAndDelete' })
    : client.createReceiver(queue, subscription, { receiveMode: 'receiveAndDelete' });
  while ((await receiver.receiveMessages(100, { maxWaitTimeInMs: 200 })).length > 0);
  await receiver.close();
}

/** Receives until `count` messages arrived or `timeoutMs` passed; returns what arrived (not settled). */
export async function receive(receiver: ServiceBusReceiver, count: number, timeoutMs = 10_000): Promise<ServiceBusReceivedMessage[]> {
  const out: ServiceBusReceivedMessage[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < count && Date.now() < deadline) {
    const wait = Math.max(1, Math.min(2000, deadline - Date.now()));
    out.push(...(await receiver.receiveMessages(count - out.length, { maxWaitTimeInMs: wait })));
  }
  return out;
}

export function spanIdOf(traceparent: unknown): string | undefined {
  return typeof traceparent === 'string' ? traceparent.split('-')[2] : undefined;
}

export function traceIdOf(traceparent: unknown): string | undefined {
  return typeof traceparent === 'string' ? traceparent.split('-')[1] : undefined;
}

/** A span as fixtures/client-run.ts prints it. */
export interface SpanRecord {
  name: string;
  kind: SpanKind;
  scope: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  links: string[];
  attributes: Record<string, unknown>;
}
export interface ClientRun {
  version: string;
  warnings: string[];
  received: Array<{ round: string; messageId: string; properties: Record<string, unknown> }>;
  open: number;
  spans: SpanRecord[];
}

/**
 * A TLS front for the emulator (which speaks plain AMQP only), for clients older than 7.9.2: their
 * @azure/core-amqp 3.x has no `UseDevelopmentEmulator` and always connects with TLS. A certificate for 127.0.0.1
 * made with openssl, trusted by the child through NODE_EXTRA_CA_CERTS; every byte is passed through unchanged.
 */
export async function tlsFront(target: string): Promise<{ port: number; caFile: string; close: () => Promise<void> }> {
  const { execFileSync } = await import('node:child_process');
  const { mkdtempSync, readFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const net = await import('node:net');
  const tls = await import('node:tls');
  const dir = mkdtempSync(join(tmpdir(), 'sb-tls-'));
  const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const [host, port] = target.split(':');
  const sockets = new Set<import('node:net').Socket>();
  const server = tls.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (front) => {
    const back = net.connect(Number(port), host);
    for (const s of [front, back]) {
      sockets.add(s);
      s.on('error', () => (front.destroy(), back.destroy()));
      s.on('close', () => sockets.delete(s));
    }
    front.pipe(back).pipe(front);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = (): Promise<void> => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { port: (server.address() as import('node:net').AddressInfo).port, caFile: cert, close };
}

/**
 * Runs fixtures/client-run.ts in a Node process of its own for one @azure/service-bus alias of packages/service-bus;
 * `tls: true` reaches the emulator through {@link tlsFront} (clients without UseDevelopmentEmulator).
 */
export async function runClient(alias: string, queue: string, env: Record<string, string> = {}, options: { tls?: boolean } = {}): Promise<ClientRun> {
  const { spawn } = await import('node:child_process');
  const { join } = await import('node:path');
  let { connectionString } = await servicebus();
  const extra: Record<string, string> = {};
  let front: Awaited<ReturnType<typeof tlsFront>> | undefined;
  if (options.tls) {
    const target = /Endpoint=sb:\/\/([^;/]+)/.exec(connectionString)![1]!;
    front = await tlsFront(target);
    connectionString = connectionString.replace(/Endpoint=sb:\/\/[^;]+/, 'Endpoint=sb://127.0.0.1/').replace(/UseDevelopmentEmulator=true;?/, '');
    Object.assign(extra, { CUSTOM_ENDPOINT: `sb://127.0.0.1:${front.port}`, NODE_EXTRA_CA_CERTS: front.caFile });
  }
  try {
    return await spawnClient(alias, queue, { ...env, ...extra, CONNECTION_STRING: connectionString }, spawn, join);
  } finally {
    await front?.close();
  }
}

async function spawnClient(
  alias: string,
  queue: string,
  env: Record<string, string>,
  spawn: typeof import('node:child_process').spawn,
  join: typeof import('node:path').join,
): Promise<ClientRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures', 'client-run.ts')], {
    cwd: join(__dirname, '..', '..'),
    env: { ...process.env, NODE_OPTIONS: '', ...env, SERVICEBUS: alias, QUEUE: queue },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exitCode = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (exitCode !== 0 || line === undefined) throw new Error(`${alias}: exit ${exitCode}\n${stdout}\n${stderr}`);
  return JSON.parse(line.slice('RESULT '.length)) as ClientRun;
}
