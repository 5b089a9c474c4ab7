// @brokertrace/service-bus next to Azure's own tracing (@azure/opentelemetry-instrumentation-azure-sdk, registered
// for real in a Node process of its own, fixtures/client-run.ts): what the consumer receives carries exactly one
// producer context, ours, under traceparent and Diagnostic-Id; Azure's per-message span is never made; the process
// spans continue our trace from the message, not from Azure's process span around the handler.
import { SpanKind } from '@opentelemetry/api';
import { runClient, spanIdOf, traceIdOf } from './helpers.js';
import type { ClientRun, SpanRecord } from './helpers.js';

const OURS = '@brokertrace/service-bus';
const QUEUE = 'sb-coexist';
let run: ClientRun;
beforeAll(async () => {
  run = await runClient('@azure/service-bus', QUEUE, { AZURE: '1', NODIAG: '1' });
}, 120_000);

const ours = (): SpanRecord[] => run.spans.filter((s) => s.scope === OURS);
const azure = (): SpanRecord[] => run.spans.filter((s) => s.scope !== OURS && !s.name.startsWith('checkout'));

it("Azure's tracing is really active: its send, process and complete spans are there", () => {
  const names = new Set(azure().map((s) => s.name));
  expect([...names]).toEqual(expect.arrayContaining(['ServiceBusSender.send', 'StreamReceiver.process', 'ServicebusReceiver.complete']));
  expect(run.warnings).toEqual([]);
  expect(run.open).toBe(0);
});

it.each(['auto', 'explicit'])('%s: each message carries one producer context, ours, and the process span continues it', (mode) => {
  const messages = run.received.filter((r) => r.round === mode);
  expect(messages).toHaveLength(5);
  const [checkout] = run.spans.filter((s) => s.name === `checkout ${mode}`);
  const producers = new Map(ours().filter((s) => s.kind === SpanKind.PRODUCER).map((s) => [s.spanId, s]));
  // Azure makes its per-message "message" span only for a message it instruments itself: never here.
  expect(run.spans.filter((s) => s.name === 'message' && s.traceId === checkout!.traceId)).toEqual([]);
  for (const { messageId, properties } of messages) {
    // nothing but our two keys, holding the same traceparent
    expect(Object.keys(properties).sort()).toEqual(['Diagnostic-Id', 'traceparent']);
    expect(properties['Diagnostic-Id']).toBe(properties.traceparent);
    const producer = producers.get(spanIdOf(properties.traceparent)!);
    expect(producer).toBeDefined();
    expect(traceIdOf(properties.traceparent)).toBe(checkout!.traceId);
    const [process] = ours().filter((s) => s.name === `process ${QUEUE}` && s.attributes['messaging.message.id'] === messageId);
    expect(process!.kind).toBe(SpanKind.CONSUMER);
    expect(process!.parentSpanId).toBe(producer!.spanId);
    expect(process!.traceId).toBe(checkout!.traceId);
  }
  // Azure's process spans wrap the handler, but ours do not start from them (we start from the message)
  const azureProcess = new Set(azure().filter((s) => s.name === 'StreamReceiver.process').map((s) => s.spanId));
  for (const p of ours().filter((s) => s.name === `process ${QUEUE}`)) expect(azureProcess.has(p.parentSpanId!)).toBe(false);
});

it('writeDiagnosticId: false leaves Diagnostic-Id to Azure: then a message carries two producer contexts', () => {
  const messages = run.received.filter((r) => r.round === 'nodiag');
  expect(messages).toHaveLength(5);
  const ourIds = new Set(ours().map((s) => s.spanId));
  const azureMessageSpans = new Set(azure().filter((s) => s.name === 'message').map((s) => s.spanId));
  for (const { messageId, properties } of messages) {
    expect(ourIds.has(spanIdOf(properties.traceparent)!)).toBe(true);
    expect(azureMessageSpans.has(spanIdOf(properties['Diagnostic-Id'])!)).toBe(true);
    // Azure's context is in the same trace (it starts from the caller's active context), but it is a second one
    const [azureMessage] = azure().filter((s) => s.spanId === spanIdOf(properties['Diagnostic-Id']));
    expect(azureMessage!.traceId).toBe(traceIdOf(properties.traceparent));
    // our consumer still follows traceparent
    const [process] = ours().filter((s) => s.name === `process ${QUEUE}` && s.attributes['messaging.message.id'] === messageId);
    expect(process!.parentSpanId).toBe(spanIdOf(properties.traceparent));
  }
});
