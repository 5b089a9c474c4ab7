// Renders finished spans as one tree per trace, with what brokertrace decided for each consumer span.
import type { ReadableSpan } from '@opentelemetry/sdk-trace';

const KIND = ['INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];

/** An attribute as text (attribute values are primitives or arrays of them). */
function text(value: unknown): string {
  if (Array.isArray(value)) return value.join(',');
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

function describe(span: ReadableSpan): string {
  const a = span.attributes;
  const parts = [`${span.name} [${KIND[span.kind] ?? span.kind}]`];
  if (a['brokertrace.decision.relationship'] !== undefined) {
    parts.push(`${text(a['brokertrace.decision.relationship'])} (${text(a['brokertrace.decision.reason'])})`);
  }
  if (a['brokertrace.message.queue_time'] !== undefined) parts.push(`age ${Math.round(Number(a['brokertrace.message.queue_time']) * 1000)} ms`);
  if (a['brokertrace.message.delivery_count'] !== undefined) parts.push(`delivery ${text(a['brokertrace.message.delivery_count'])}`);
  if (a['brokertrace.message.settlement'] !== undefined) parts.push(text(a['brokertrace.message.settlement']));
  if (a['error.type'] !== undefined) parts.push(`error ${text(a['error.type'])}`);
  // A child also links to its creation context, in its own trace: only links that leave the trace are worth a mention.
  const traceId = span.spanContext().traceId;
  for (const link of span.links) if (link.context.traceId !== traceId) parts.push(`→ link to trace ${link.context.traceId.slice(0, 8)}`);
  return parts.join('  ·  ');
}

export function printTraces(spans: readonly ReadableSpan[], write: (line: string) => void = console.log): void {
  const byTrace = new Map<string, ReadableSpan[]>();
  for (const span of spans) {
    const id = span.spanContext().traceId;
    byTrace.set(id, [...(byTrace.get(id) ?? []), span]);
  }
  for (const [traceId, members] of byTrace) {
    write(`\ntrace ${traceId.slice(0, 8)}`);
    const ids = new Set(members.map((s) => s.spanContext().spanId));
    const childrenOf = (parent: string | undefined) =>
      members
        .filter((s) => (s.parentSpanContext?.spanId !== undefined && ids.has(s.parentSpanContext.spanId) ? s.parentSpanContext.spanId : undefined) === parent)
        .sort((x, y) => x.startTime[0] - y.startTime[0] || x.startTime[1] - y.startTime[1]);
    const walk = (parent: string | undefined, depth: number) => {
      for (const span of childrenOf(parent)) {
        write(`${'  '.repeat(depth + 1)}${depth ? '└ ' : ''}${describe(span)}`);
        walk(span.spanContext().spanId, depth + 1);
      }
    };
    walk(undefined, 0);
  }
}
