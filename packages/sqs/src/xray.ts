// The X-Ray form of a span context, for the optional `AWSTraceHeader` system attribute (reading it is core's).
import { TraceFlags, isSpanContextValid } from '@opentelemetry/api';
import type { SpanContext } from '@opentelemetry/api';

/** The system attribute SQS keeps the X-Ray header in (the only one a sender may set). */
export const AWS_TRACE_HEADER = 'AWSTraceHeader';

/**
 * `Root=1-{8 hex}-{24 hex};Parent={16 hex};Sampled={0|1}`: every valid W3C trace id has this form (X-Ray reads
 * the first 8 hex digits as the trace's start time; OpenTelemetry's AWS X-Ray id generator makes them so).
 * Undefined for an invalid context.
 */
export function toXRayHeader(sc: SpanContext | undefined): string | undefined {
  if (sc === undefined || !isSpanContextValid(sc)) return undefined;
  const sampled = (sc.traceFlags & TraceFlags.SAMPLED) !== 0 ? '1' : '0';
  return `Root=1-${sc.traceId.slice(0, 8)}-${sc.traceId.slice(8)};Parent=${sc.spanId};Sampled=${sampled}`;
}
