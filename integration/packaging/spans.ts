// Reading the spans a fixture process printed: by messaging operation type and destination, and whether one
// span refers to another (as its parent or through a link), whichever of the two the policy chose.
import type { FixtureSpan } from './project.js';

export function ofOperation(spans: FixtureSpan[], type: string, destination: string): FixtureSpan[] {
  return spans.filter((s) => s.attributes['messaging.operation.type'] === type && s.attributes['messaging.destination.name'] === destination);
}

/** Whether `span` has `spanId` as its parent or links to it. */
export function refersTo(span: FixtureSpan, spanId: string): boolean {
  return span.parentSpanId === spanId || span.links.some((l) => l.spanId === spanId);
}

/** The span id of a W3C traceparent header. */
export function traceparentSpanId(traceparent: string | undefined): string | undefined {
  return traceparent?.split('-')[2];
}

/** How often each value occurs, for "exactly once each" checks with a readable failure. */
export function counts(values: unknown[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[String(v)] = (out[String(v)] ?? 0) + 1;
  return out;
}
