// Issue 18: every @google-cloud/pubsub version the package declares is tested on the emulator: 5.x's oldest and
// newest, 6.x's oldest and the newest that installs. Each version runs in a Node process of its own
// (fixtures/version-client.ts), loaded through require so that PubSubInstrumentation patches it as it would an
// app's, then through tracePubSub: two messages published in one batch RPC, received by a listener, acked.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { SpanKind } from '@opentelemetry/api';
import { TESTED_PUBSUB_VERSIONS } from '@brokertrace/pubsub';
import { pubsub, uniqueName } from '../harness/index.js';

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

async function runVersion(alias: string, topic: string): Promise<Result> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '', PUBSUB: alias, EMULATOR: JSON.stringify(await pubsub()), TOPIC: topic },
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
  // Publish: a PRODUCER create span per message under the caller's span, its id on it; the batch RPC's CLIENT
  // send span links to both.
  const creates = named(`create ${topic}`);
  expect(creates).toHaveLength(2);
  const createIds = creates.map((c) => c.spanId);
  for (const create of creates) {
    expect(create.kind).toBe(SpanKind.PRODUCER);
    expect(create.parentSpanId).toBe(checkout!.spanId);
    expect(typeof create.attributes['messaging.message.id']).toBe('string');
  }
  const sends = named(`send ${topic}`);
  expect(sends.length).toBeGreaterThanOrEqual(1);
  for (const send of sends) expect(send.kind).toBe(SpanKind.CLIENT);
  expect(sends.flatMap((s) => s.links).sort()).toEqual([...createIds].sort());
  // Subscribe: a CONSUMER process span per message, child of its create and linked to it, one trace; ack under it.
  const processes = named(`subscribe ${topic}-sub`);
  expect(processes).toHaveLength(2);
  expect(processes.map((p) => p.parentSpanId).sort()).toEqual([...createIds].sort());
  for (const p of processes) {
    expect(p.kind).toBe(SpanKind.CONSUMER);
    expect(p.links[0]).toBe(p.parentSpanId);
    expect(p.traceId).toBe(checkout!.traceId);
  }
  const acks = named(`ack ${topic}-sub`);
  expect(acks.map((a) => a.parentSpanId).sort()).toEqual(processes.map((p) => p.spanId).sort());
}

// The pnpm aliases of packages/pubsub/package.json.
const VERSIONS = [
  ['pubsub-5.0', '5.0.0'],
  ['pubsub-5.3', '5.3.1'],
  ['pubsub-6.0', '6.0.0'],
  ['@google-cloud/pubsub', '6.3.0'],
] as const;

it('tests the ends of the declared range', () => {
  expect(TESTED_PUBSUB_VERSIONS).toBe(`>=${VERSIONS[0][1]} <=${VERSIONS[3][1]}`);
});

it.each(VERSIONS)('%s (%s): publish, subscribe, ack traced by the instrumentation and by tracePubSub', async (alias, version) => {
  const topic = uniqueName(`v${version.replace(/\./g, '')}`);
  const result = await runVersion(alias, topic);
  expect(result.version).toBe(version);
  // A tested version: no warning at all.
  expect(result.warnings).toEqual([]);
  expect(result.open).toBe(0);
  expectTrace(result.spans, `${topic}-auto`, 'auto');
  expectTrace(result.spans, `${topic}-explicit`, 'explicit');
});
