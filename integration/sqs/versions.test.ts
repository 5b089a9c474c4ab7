// Issue 18: every @aws-sdk/client-sqs version the package declares is tested on the SQS server, on both sides of
// the middleware stack's move into @smithy/core (3.1046). Each version runs in a Node process of its own
// (fixtures/version-client.ts), loaded through require so that SqsInstrumentation patches it as it would an
// app's, then through the explicit plugin: SendMessageBatch, ReceiveMessage, processMessage, DeleteMessage.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { SpanKind } from '@opentelemetry/api';
import { TESTED_CLIENT_SQS_VERSIONS } from '@brokertrace/sqs';
import { sqs, uniqueName } from '../harness/index.js';

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
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '', CLIENT: alias, SQS: JSON.stringify(await sqs()), QUEUE: queue },
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

/** The structure every round must have, whatever the version. */
function expectTrace(spans: SpanRecord[], queue: string, mode: string): void {
  const named = (name: string): SpanRecord[] => spans.filter((s) => s.name === name);
  const [checkout] = named(`checkout ${mode}`);
  expect(checkout).toBeDefined();
  // Producer: a create span per entry under the caller's span; the CLIENT send span links to both.
  const creates = named(`create ${queue}`);
  expect(creates).toHaveLength(2);
  const createIds = creates.map((c) => c.spanId);
  for (const create of creates) {
    expect(create.kind).toBe(SpanKind.PRODUCER);
    expect(create.parentSpanId).toBe(checkout!.spanId);
  }
  const [send] = named(`send ${queue}`);
  expect(send!.kind).toBe(SpanKind.CLIENT);
  expect(send!.parentSpanId).toBe(checkout!.spanId);
  expect([...send!.links].sort()).toEqual([...createIds].sort());
  // Receive: CLIENT spans (one per non-empty receive) whose links together name every create.
  const receives = named(`receive ${queue}`);
  expect(receives.length).toBeGreaterThanOrEqual(1);
  for (const r of receives) expect(r.kind).toBe(SpanKind.CLIENT);
  expect(receives.flatMap((r) => r.links).sort()).toEqual([...createIds].sort());
  // processMessage: CONSUMER child of its create, linked to it, one trace; the delete under it.
  const processes = named(`process ${queue}`);
  expect(processes).toHaveLength(2);
  expect(processes.map((p) => p.parentSpanId).sort()).toEqual([...createIds].sort());
  for (const p of processes) {
    expect(p.kind).toBe(SpanKind.CONSUMER);
    expect(p.links[0]).toBe(p.parentSpanId);
    expect(p.traceId).toBe(checkout!.traceId);
  }
  const deletes = named(`delete ${queue}`);
  expect(deletes).toHaveLength(2);
  expect(deletes.map((d) => d.parentSpanId).sort()).toEqual(processes.map((p) => p.spanId).sort());
}

// The versions packages/sqs/package.json installs: the range's oldest (before 3.1046) and its newest.
const VERSIONS = [
  ['client-sqs-3.1040', '3.1040.0'],
  ['@aws-sdk/client-sqs', '3.1175.0'],
] as const;

it('tests the ends of the declared range', () => {
  expect(TESTED_CLIENT_SQS_VERSIONS).toBe(`>=${VERSIONS[0][1]} <=${VERSIONS[1][1]}`);
});

it.each(VERSIONS)('%s (%s): send batch, receive, process, delete traced by the instrumentation and by the plugin', async (alias, version) => {
  const queue = uniqueName(`v${version.replace(/\./g, '')}`);
  const result = await runVersion(alias, queue);
  expect(result.version).toBe(version);
  // A tested version: no warning at all.
  expect(result.warnings).toEqual([]);
  expect(result.open).toBe(0);
  expectTrace(result.spans, `${queue}-auto`, 'auto');
  expectTrace(result.spans, `${queue}-explicit`, 'explicit');
});
