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

/** Runs fixtures/client-run.ts in a Node process of its own for one @azure/service-bus alias of packages/service-bus. */
export async function runClient(alias: string, queue: string, env: Record<string, string> = {}): Promise<ClientRun> {
  const { spawn } = await import('node:child_process');
  const { join } = await import('node:path');
  const { connectionString } = await servicebus();
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures', 'client-run.ts')], {
    cwd: join(__dirname, '..', '..'),
    env: { ...process.env, NODE_OPTIONS: '', ...env, SERVICEBUS: alias, CONNECTION_STRING: connectionString, QUEUE: queue },
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
