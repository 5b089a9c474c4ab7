// Trace context written by other ecosystems' clients, read when the standard W3C keys are absent.
import { TraceFlags, createTraceState, isValidSpanId, isValidTraceId } from '@opentelemetry/api';
import type { SpanContext } from '@opentelemetry/api';

/** Google client libraries (Pub/Sub) prefix the W3C keys. */
export const GOOGCLIENT_TRACEPARENT = 'googclient_traceparent';
export const GOOGCLIENT_TRACESTATE = 'googclient_tracestate';
/** Azure SDKs (Service Bus, Event Hubs) in every language: a W3C traceparent under this name. */
export const DIAGNOSTIC_ID = 'Diagnostic-Id';
/** AWS X-Ray header as SQS keeps it in the message's system attributes. */
export const AWS_TRACE_HEADER = 'AWSTraceHeader';

const TRACEPARENT_RE = /^\s*([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[^\s]*)?\s*$/;

/** Quick syntactic check used to pick the first valid `traceparent` out of repeated header values. */
export function looksLikeTraceparent(value: string): boolean {
  return parseTraceparent(value) !== undefined;
}

/** Parses a W3C traceparent; undefined when malformed (version ff, all-zero ids, trailing data on version 00). */
export function parseTraceparent(value: string, traceState?: string): SpanContext | undefined {
  if (value.length > 512) return undefined;
  const m = TRACEPARENT_RE.exec(value);
  if (m === null) return undefined;
  const version = m[1]!;
  if (version === 'ff' || (version === '00' && m[5] !== undefined)) return undefined;
  const traceId = m[2]!;
  const spanId = m[3]!;
  if (!isValidTraceId(traceId) || !isValidSpanId(spanId)) return undefined;
  const sc: SpanContext = { traceId, spanId, traceFlags: parseInt(m[4]!, 16) & TraceFlags.SAMPLED, isRemote: true };
  if (traceState !== undefined && traceState !== '') {
    try {
      sc.traceState = createTraceState(traceState);
    } catch {
      // A malformed tracestate is dropped, the parent is kept (W3C).
    }
  }
  return sc;
}

const XRAY_ROOT_RE = /^1-([0-9a-f]{8})-([0-9a-f]{24})$/;
const XRAY_PARENT_RE = /^[0-9a-f]{16}$/;

/** Parses an X-Ray trace header `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`. */
export function parseXRayHeader(value: string): SpanContext | undefined {
  if (value.length > 1024) return undefined;
  let traceId: string | undefined;
  let spanId: string | undefined;
  let sampled = false;
  for (const part of value.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const k = part.slice(0, eq).trim().toLowerCase();
    const v = part.slice(eq + 1).trim().toLowerCase();
    if (k === 'root') {
      const m = XRAY_ROOT_RE.exec(v);
      if (m !== null) traceId = m[1]! + m[2]!;
    } else if (k === 'parent') {
      if (XRAY_PARENT_RE.test(v)) spanId = v;
    } else if (k === 'sampled') {
      sampled = v === '1';
    }
  }
  if (traceId === undefined || spanId === undefined) return undefined;
  if (!isValidTraceId(traceId) || !isValidSpanId(spanId)) return undefined;
  return { traceId, spanId, traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE, isRemote: true };
}
