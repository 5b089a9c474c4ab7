// Micro-benchmark of @brokertrace/core's per-message hot path, in nanoseconds per call: inject within a
// budget, extract, decide child-or-link; with the bare OpenTelemetry propagator calls as the reference.
// Operations are interleaved within each round (A B C ... A B C ...); the figure is the median over rounds.
// run.ts runs it (compiled, on plain Node, loading the built @brokertrace/core). On its own, against the
// sources: `scripts/pnpm exec tsx bench/micro.ts`.
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT_CONTEXT, TraceFlags, defaultTextMapGetter, propagation, trace, type Context, type SpanContext } from '@opentelemetry/api';
import { CompositePropagator, TraceState, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { BROKER_LIMITS, decideRelationship, extractContext, injectContext, type MessageFacts, type RelationshipPolicy } from '@brokertrace/core';
import { describeMachine } from './lib/report.js';
import { median } from './lib/stats.js';

interface Op {
  name: string;
  /** One call; returns a number so the work cannot be optimised away. */
  call: (i: number) => number;
}

propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));

// A producer context as it typically is: a sampled span, a vendor tracestate and two baggage members.
const spanContext: SpanContext = {
  traceId: '5b8efff798038103d269b633813fc60c',
  spanId: 'eee19b7ec3c1b174',
  traceFlags: TraceFlags.SAMPLED,
  traceState: new TraceState('vendor1=opaqueValue1,vendor2=opaqueValue2'),
};
const producerContext: Context = propagation.setBaggage(
  trace.setSpanContext(ROOT_CONTEXT, spanContext),
  propagation.createBaggage({ 'tenant.id': { value: 'acme' }, 'request.id': { value: '7f3c2a9e' } }),
);

// What the message already holds: a few application headers (Kafka), or 8 of SQS's 10 attributes.
const kafkaHeaders = { 'content-type': 'application/json', 'x-app': 'billing', 'x-version': '3' };
const sqsAttributes = Object.fromEntries(
  Array.from({ length: 8 }, (_, i) => [`attr${i}`, { DataType: 'String', StringValue: `value-${i}` }]),
);

// What a consumer receives: Kafka headers are Buffers; the reference reads plain strings.
const traceparent = `00-${spanContext.traceId}-${spanContext.spanId}-01`;
const received = { traceparent: Buffer.from(traceparent), tracestate: Buffer.from('vendor1=opaqueValue1'), 'x-app': Buffer.from('billing') };
const receivedStrings = { traceparent, tracestate: 'vendor1=opaqueValue1', 'x-app': 'billing' };

// Fresh message ids: more than the duplicate window holds (10000), so every decision is a first sighting.
const ids = Array.from({ length: 20_000 }, (_, i) => `orders/0/${i}`);
const policy: RelationshipPolicy = {};
const now = Date.now();

const OPS: Op[] = [
  { name: 'propagation.inject (reference)', call: () => { const c: Record<string, string> = {}; propagation.inject(producerContext, c); return Object.keys(c).length; } },
  { name: 'injectContext, Kafka, room to spare', call: () => Object.keys(injectContext(producerContext, kafkaHeaders, BROKER_LIMITS.kafka).fields).length },
  { name: 'injectContext, SQS, 8 of 10 used', call: () => injectContext(producerContext, sqsAttributes, BROKER_LIMITS.aws_sqs).dropped.length },
  { name: 'propagation.extract (reference)', call: () => (trace.getSpanContext(propagation.extract(ROOT_CONTEXT, receivedStrings, defaultTextMapGetter)) ? 1 : 0) },
  { name: 'extractContext, Buffer headers', call: () => (trace.getSpanContext(extractContext(received, undefined, ROOT_CONTEXT)) ? 1 : 0) },
  {
    name: 'decideRelationship, fresh message',
    call: (i) => {
      const facts: MessageFacts = { destination: 'orders', messageId: ids[i % ids.length], enqueuedAtMs: now - 5, deliveryCount: 1 };
      return decideRelationship(facts, spanContext, policy, now).relationship === 'child' ? 1 : 0;
    },
  },
];

function time(op: Op, iterations: number, offset: number): { ns: number; sink: number } {
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink += op.call(offset + i);
  return { ns: Number(process.hrtime.bigint() - start) / iterations, sink };
}

function main(): void {
  const { values } = parseArgs({ options: { smoke: { type: 'boolean', default: false }, out: { type: 'string' }, rounds: { type: 'string' } } });
  const rounds = Number(values.rounds ?? (values.smoke ? 1 : 7));
  const iterations = values.smoke ? 2_000 : 100_000;
  const perOp = new Map<string, number[]>(OPS.map((op) => [op.name, []]));
  let sink = 0;
  for (const op of OPS) sink += time(op, iterations, 0).sink; // warm-up round: JIT, caches; not counted
  for (let round = 0; round < rounds; round++) {
    for (const op of OPS) {
      const { ns, sink: s } = time(op, iterations, (round + 1) * iterations);
      sink += s;
      perOp.get(op.name)?.push(ns);
    }
  }
  const results = OPS.map((op) => ({ op: op.name, ns_per_call: Math.round(median(perOp.get(op.name) ?? [])), rounds, iterations }));
  const width = Math.max(...OPS.map((op) => op.name.length));
  process.stdout.write(`${'operation'.padEnd(width)}  ns/call (median of ${rounds} round(s) x ${iterations})\n`);
  for (const r of results) process.stdout.write(`${r.op.padEnd(width)}  ${String(r.ns_per_call).padStart(7)}\n`);
  process.stdout.write(`(@brokertrace/core from ${require.resolve('@brokertrace/core')}; checksum ${sink})\n`);
  if (values.out) {
    mkdirSync(values.out, { recursive: true });
    const json = { node: process.version, date: new Date().toISOString(), machine: describeMachine(), results };
    writeFileSync(join(values.out, 'micro.json'), `${JSON.stringify(json, null, 2)}\n`);
  }
  process.send?.({ ok: true }, () => process.disconnect());
}

main();
