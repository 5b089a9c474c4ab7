// Issue 18: every @azure/service-bus version the package declares is tested on the harness's Service Bus. Each
// version runs in a Node process of its own (fixtures/client-run.ts), loaded through require so that
// ServiceBusInstrumentation patches it as it would an app's, then through the explicit wrappers (traceSender,
// traceServiceBusClient): a single send, an array and a createMessageBatch batch, received with subscribe().
import { SpanKind } from '@opentelemetry/api';
import { TESTED_SERVICEBUS_VERSIONS } from '@brokertrace/service-bus';
import { runClient, spanIdOf } from './helpers.js';
import type { ClientRun, SpanRecord } from './helpers.js';

const QUEUE = 'sb-versions-1';

/** The structure every round must have, whatever the version. */
function expectTrace(run: ClientRun, mode: string): void {
  const named = (name: string): SpanRecord[] => run.spans.filter((s) => s.name === name);
  const [checkout] = run.spans.filter((s) => s.name === `checkout ${mode}`);
  expect(checkout).toBeDefined();
  const inTrace = (s: SpanRecord): boolean => s.traceId === checkout!.traceId;
  // Producer: the single send is PRODUCER under checkout; the array and the batch give a create span per message
  // under checkout and a CLIENT send linked to them.
  const sends = run.spans.filter((s) => s.name === `send ${QUEUE}` && inTrace(s));
  expect(sends.map((s) => s.kind).sort()).toEqual([SpanKind.CLIENT, SpanKind.CLIENT, SpanKind.PRODUCER]);
  for (const s of sends) expect(s.parentSpanId).toBe(checkout!.spanId);
  const creates = run.spans.filter((s) => s.name === `create ${QUEUE}` && inTrace(s));
  expect(creates).toHaveLength(4);
  for (const c of creates) expect(c.parentSpanId).toBe(checkout!.spanId);
  const linked = sends.filter((s) => s.kind === SpanKind.CLIENT).flatMap((s) => s.links);
  expect(linked.sort()).toEqual(creates.map((c) => c.spanId).sort());
  const producers = new Map([...creates, ...sends.filter((s) => s.kind === SpanKind.PRODUCER)].map((s) => [s.spanId, s]));
  // Consumer: what arrived carries the context of its own producer span; the process span is its child, in the
  // producer's trace; subscribe()'s automatic complete is a settle span under the process span.
  const received = run.received.filter((r) => r.round === mode);
  expect(received.map((r) => r.messageId).sort()).toEqual([1, 2, 3, 4, 5].map((n) => `${mode}-${n}`));
  const carried = received.map((r) => spanIdOf(r.properties.traceparent)!);
  expect(new Set(carried).size).toBe(5);
  for (const { messageId, properties } of received) {
    const producer = producers.get(spanIdOf(properties.traceparent)!);
    expect(producer).toBeDefined();
    expect(properties['Diagnostic-Id']).toBe(properties.traceparent);
    const [process] = named(`process ${QUEUE}`).filter((s) => s.attributes['messaging.message.id'] === messageId);
    expect(process!.kind).toBe(SpanKind.CONSUMER);
    expect(process!.parentSpanId).toBe(producer!.spanId);
    expect(process!.traceId).toBe(checkout!.traceId);
    expect(process!.attributes['messaging.servicebus.message.delivery_count']).toBe(1);
    const completes = named(`complete ${QUEUE}`).filter((s) => s.attributes['messaging.message.id'] === messageId);
    expect(completes.map((c) => c.parentSpanId)).toEqual([process!.spanId]);
  }
}

// The pnpm aliases of packages/service-bus/package.json: the range's oldest, 7.8's newest, 7.9.0 and the newest.
// Before 7.9.2 (@azure/core-amqp 3.x) the client has no UseDevelopmentEmulator and always speaks TLS: those reach
// the emulator through a TLS front (helpers.ts tlsFront), bytes passed through unchanged.
const VERSIONS = [
  ['service-bus-7.8.0', '7.8.0', true],
  ['service-bus-7.8', '7.8.1', true],
  ['service-bus-7.9.0', '7.9.0', true],
  ['@azure/service-bus', '7.9.5', false],
] as const;

it('tests the ends of the declared range', () => {
  expect(TESTED_SERVICEBUS_VERSIONS).toBe('>=7.8.0 <7.10.0');
});

it.each(VERSIONS)('%s (%s, TLS front: %s): send, array, batch and subscribe() traced by the instrumentation and by the wrappers', async (alias, version, tls) => {
  const run = await runClient(alias, QUEUE, {}, { tls });
  expect(run.version).toBe(version);
  // A tested version: no warning at all.
  expect(run.warnings).toEqual([]);
  expect(run.open).toBe(0);
  expectTrace(run, 'auto');
  expectTrace(run, 'explicit');
}, 120_000);

it('an untested version (service-bus-untested, 7.10.0-beta.2): named once through diag.warn, and still traced', async () => {
  const run = await runClient('service-bus-untested', QUEUE);
  expect(run.version).toBe('7.10.0-beta.2');
  expect(run.warnings).toEqual([
    '@brokertrace/service-bus @azure/service-bus 7.10.0-beta.2 is outside the tested range >=7.8.0 <7.10.0; tracing it as far as it looks as expected',
  ]);
  expect(run.open).toBe(0);
  expectTrace(run, 'auto');
  expectTrace(run, 'explicit');
}, 120_000);
