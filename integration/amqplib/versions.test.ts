// Issue 18: every amqplib version the package declares is tested on the real RabbitMQ, across the internal changes
// at 1.0 and 2.0 (where contrib's instrumentation went silent). Each version runs in a Node process of its own
// (fixtures/version-client.ts), loaded through require so that AmqplibInstrumentation patches it as it would an
// app's (promise and callback APIs), then through traceConnection: send, consume + ack, get + ack.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { SpanKind } from '@opentelemetry/api';
import { TESTED_AMQPLIB_VERSIONS } from '@brokertrace/amqplib';
import { rabbitmq, uniqueName } from '../harness/index';

interface SpanRecord {
  name: string;
  kind: SpanKind;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  links: string[];
  attributes: Record<string, unknown>;
}
interface Result {
  version: string;
  warnings: string[];
  open: number;
  spans: SpanRecord[];
}

const ROOT = join(__dirname, '..', '..');
const FIXTURE = join(__dirname, 'fixtures', 'version-client.ts');

async function runVersion(alias: string, queue: string): Promise<Result> {
  const { url } = await rabbitmq();
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '', AMQPLIB: alias, AMQP_URL: url, QUEUE: queue },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exitCode = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (exitCode !== 0 || line === undefined) throw new Error(`${alias}: exit ${exitCode}\n${stdout}\n${stderr}`);
  return JSON.parse(line.slice('RESULT '.length)) as Result;
}

/** The structure every round must have, whatever the version and API. */
function expectTrace(spans: SpanRecord[], queue: string, mode: string): void {
  const one = (name: string): SpanRecord => {
    const found = spans.filter((s) => s.name === name);
    expect([name, found.length]).toEqual([name, 1]);
    return found[0]!;
  };
  const checkout = one(`checkout ${mode}`);
  const sendConsumed = one(`send ${queue}-consume`);
  const sendGot = one(`send ${queue}-get`);
  for (const send of [sendConsumed, sendGot]) {
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(send.parentSpanId).toBe(checkout.spanId);
  }
  // consume: the process span is a child of the send span and linked to it, one trace; the ack under it.
  const processSpan = one(`process ${queue}-consume`);
  expect(processSpan.kind).toBe(SpanKind.CONSUMER);
  expect(processSpan.parentSpanId).toBe(sendConsumed.spanId);
  expect(processSpan.links[0]).toBe(sendConsumed.spanId);
  expect(processSpan.traceId).toBe(checkout.traceId);
  const ackConsumed = one(`ack ${queue}-consume`);
  expect(ackConsumed.parentSpanId).toBe(processSpan.spanId);
  // get: a receive span linked to the message's send span.
  const receive = one(`receive ${queue}-get`);
  expect(receive.kind).toBe(SpanKind.CLIENT);
  expect(receive.links).toEqual([sendGot.spanId]);
  one(`ack ${queue}-get`);
}

// The pnpm aliases of packages/amqplib/package.json: both ends of 0.10, both sides of the 1.0 and 2.0 changes.
const VERSIONS = [
  ['amqplib-0.10.0', '0.10.0'],
  ['amqplib-0.10', '0.10.9'],
  ['amqplib-1.0', '1.0.0'],
  ['amqplib-1', '1.2.0'],
  ['amqplib-2.0', '2.0.0'],
  ['amqplib', '2.3.1'],
] as const;
const MODES = ['auto', 'callback', 'explicit'];

it('tests the ends of the declared range', () => {
  expect(TESTED_AMQPLIB_VERSIONS).toBe('>=0.10.0 <3');
});

it.each(VERSIONS)('%s (%s): send, consume, get traced by the instrumentation (promise and callback APIs) and by traceConnection', async (alias, version) => {
  const queue = uniqueName(`v${version.replace(/\./g, '')}`);
  const result = await runVersion(alias, queue);
  expect(result.version).toBe(version);
  // A tested version: no warning at all.
  expect(result.warnings).toEqual([]);
  expect(result.open).toBe(0);
  for (const mode of MODES) expectTrace(result.spans, `${queue}-${mode}`, mode);
});

it('an untested version (amqplib-untested, 0.9.1): named once through diag.warn, and still traced', async () => {
  const queue = uniqueName('v091');
  const result = await runVersion('amqplib-untested', queue);
  expect(result.version).toBe('0.9.1');
  expect(result.warnings).toEqual([
    '@brokertrace/amqplib amqplib 0.9.1 is outside the tested range >=0.10.0 <3; tracing it as far as it looks as expected',
  ]);
  expect(result.open).toBe(0);
  for (const mode of MODES) expectTrace(result.spans, `${queue}-${mode}`, mode);
});
