// Issue 18: every kafkajs version the package declares is tested on the real Kafka. Each version runs in a Node
// process of its own (fixtures/version-client.ts), loaded through require so that KafkaJsInstrumentation patches it
// as it would an app's, then through the explicit wrappers: produce, eachMessage, eachBatch + traceBatchMessage.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { SpanKind } from '@opentelemetry/api';
import { TESTED_KAFKAJS_VERSIONS } from '@brokertrace/kafkajs';
import { kafka, uniqueName } from '../harness/index.js';

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
  headers: string[][];
  open: number;
  spans: SpanRecord[];
}

const ROOT = join(__dirname, '..', '..');
const FIXTURE = join(__dirname, 'fixtures', 'version-client.ts');
const GROUP = 'messaging.consumer.group.name';

async function runVersion(alias: string, topic: string): Promise<Result> {
  const { brokers } = await kafka();
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '', KAFKAJS: alias, BROKERS: brokers.join(','), TOPIC: topic },
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
function expectTrace(spans: SpanRecord[], topic: string, mode: string): void {
  const named = (name: string): SpanRecord[] => spans.filter((s) => s.name === name);
  const [checkout] = named(`checkout ${mode}`);
  expect(checkout).toBeDefined();
  // Producer: a create span per message under the caller's span; the send span links to both.
  const creates = named(`create ${topic}`);
  expect(creates).toHaveLength(2);
  const createIds = creates.map((c) => c.spanId);
  for (const create of creates) expect(create.parentSpanId).toBe(checkout!.spanId);
  const [send] = named(`send ${topic}`);
  expect(send!.parentSpanId).toBe(checkout!.spanId);
  expect([...send!.links].sort()).toEqual([...createIds].sort());
  const processes = named(`process ${topic}`);
  // eachMessage: one process span per message, child of its create span and linked to it; all one trace.
  const each = processes.filter((s) => s.attributes[GROUP] === `${topic}-each`);
  expect(each).toHaveLength(2);
  for (const span of each) {
    expect(span.kind).toBe(SpanKind.CONSUMER);
    expect(createIds).toContain(span.parentSpanId);
    expect(span.links[0]).toBe(span.parentSpanId);
    expect(span.traceId).toBe(checkout!.traceId);
  }
  // eachBatch: CONSUMER batch spans (roots) linking to every create; traceBatchMessage spans under them.
  const inGroup = processes.filter((s) => s.attributes[GROUP] === `${topic}-batch`);
  const batches = inGroup.filter((s) => s.parentSpanId === undefined);
  const perMessage = inGroup.filter((s) => s.parentSpanId !== undefined);
  expect(batches.length).toBeGreaterThanOrEqual(1);
  for (const b of batches) {
    expect(b.kind).toBe(SpanKind.CONSUMER);
    expect(b.attributes['messaging.batch.message_count']).toBe(b.links.length);
  }
  expect(batches.flatMap((b) => b.links).sort()).toEqual([...createIds].sort());
  expect(perMessage).toHaveLength(2);
  for (const span of perMessage) {
    expect(batches.map((b) => b.spanId)).toContain(span.parentSpanId);
    expect(createIds).toContain(span.links[0]);
  }
}

// The pnpm aliases of packages/kafkajs/package.json: the range's oldest, 1.x's newest, 2.0 and 2.2's newest.
const VERSIONS = [
  ['kafkajs-1.4', '1.4.0'],
  ['kafkajs-1.16', '1.16.0'],
  ['kafkajs-2.0', '2.0.2'],
  ['kafkajs', '2.2.4'],
] as const;

it('tests the ends of the declared range', () => {
  expect(TESTED_KAFKAJS_VERSIONS).toBe('>=1.4.0 <3');
});

it('an untested version (kafkajs-untested, 2.3.0-beta.3): named once through diag.warn, and still traced', async () => {
  const topic = uniqueName('vbeta');
  const result = await runVersion('kafkajs-untested', topic);
  expect(result.version).toBe('2.3.0-beta.3');
  expect(result.warnings).toEqual([
    '@brokertrace/kafkajs kafkajs 2.3.0-beta.3 is outside the tested range >=1.4.0 <3; tracing it as far as it looks as expected',
  ]);
  expect(result.open).toBe(0);
  expectTrace(result.spans, `${topic}-auto`, 'auto');
  expectTrace(result.spans, `${topic}-explicit`, 'explicit');
});

it.each(VERSIONS)('%s (%s): produce, eachMessage, eachBatch traced by the instrumentation and by the wrappers', async (alias, version) => {
  const topic = uniqueName(`v${version.replace(/\./g, '')}`);
  const result = await runVersion(alias, topic);
  expect(result.version).toBe(version);
  // A tested version: no warning at all.
  expect(result.warnings).toEqual([]);
  expect(result.open).toBe(0);
  expect(result.headers).toEqual([['traceparent'], ['traceparent'], ['traceparent'], ['traceparent']]);
  expectTrace(result.spans, `${topic}-auto`, 'auto');
  expectTrace(result.spans, `${topic}-explicit`, 'explicit');
});
