// The producer side of a publish call (the send/create pattern of the messaging conventions): which message
// keeps the context it already carries, which gets a `create` span, and which context goes into each message.
// Span starting, injection and ending are the telemetry's; this file only decides and orders them.
import { SpanKind, propagation, trace } from '@opentelemetry/api';
import type { Context, DiagLogger, Link, Span, SpanContext } from '@opentelemetry/api';
import { extractSpanContext } from './extract.js';
import type { OutgoingMessage, SendResult, SendStart } from './telemetry-types.js';
import type { CarrierLimits, ExistingEntries, InjectResult } from './types.js';

/** The telemetry's operations this file orders (bound once per telemetry). */
export interface SendMachinery {
  /** The options in effect now (they change with setConfig). */
  options(): { readonly createSpans: boolean; readonly keepExistingContext: boolean };
  readonly log: DiagLogger;
  startCreate(s: SendStart, message: OutgoingMessage, parent: Context): Span;
  startSendSpan(s: SendStart, kind: SpanKind, links: Link[] | undefined, parent: Context, messageCount: number): Span;
  /** `spanContext`: the span's own context (`trace.setSpan(base, span)`), built once by the caller. */
  inject(span: Span, spanContext: Context, existing: ExistingEntries, limits: CarrierLimits | undefined): InjectResult;
  end(span: Span): void;
}

/**
 * The context a message already carries (the caller's custom creation context), or undefined. Reads it only
 * when one of the propagator's own keys is there, exactly spelt: messages without a context cost no extraction.
 */
export function keptContext(message: OutgoingMessage, fields: readonly string[]): SpanContext | undefined {
  const existing = message.existing;
  if (existing === null || existing === undefined || typeof existing !== 'object') return undefined;
  const getter = message.getter;
  let present = false;
  try {
    for (let i = 0; i < fields.length && !present; i++) {
      const key = fields[i]!;
      if (getter !== undefined) present = getter.get(existing, key) !== undefined;
      else if (existing instanceof Map) present = existing.has(key);
      else present = Object.hasOwn(existing, key);
    }
  } catch {
    return undefined;
  }
  return present ? extractSpanContext(existing, getter) : undefined;
}

/** A package's message count as a metric value: a whole number >= 0 (anything else counts 0). */
function countOf(value: number | undefined): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}

export function isEmpty(result: InjectResult): boolean {
  if (result.dropped.length > 0) return false;
  for (const key in result.fields) if (Object.hasOwn(result.fields, key)) return false;
  return true;
}

/**
 * Starts the spans of one publish call and computes each message's context:
 * 1. `existingContext: 'keep'`: a message that carries a valid context keeps it; the send span links to it.
 * 2. `batch` and `createSpans`: every other message gets a PRODUCER `create` span started in the caller's
 *    context, its context injected, ended right after; the send span (CLIENT) links to every create span.
 * 3. otherwise the send span (PRODUCER) is the creation context of every other message.
 * Links are handed to the tracer when the send span starts, so samplers see them.
 */
export function startSendOperation(machinery: SendMachinery, s: SendStart, parent: Context): SendResult {
  const messages = s.messages ?? [];
  const n = messages.length;
  const injections = new Array<InjectResult | undefined>(n);
  const options = machinery.options();
  const fields = options.keepExistingContext && n > 0 ? propagation.fields() : undefined;
  const useCreates = s.batch === true && options.createSpans;
  const endCreates = s.endCreates !== false;
  const creates = endCreates ? undefined : new Array<Span | undefined>(n);
  let links: Link[] | undefined;
  let pending: number[] | undefined;
  for (let i = 0; i < n; i++) {
    const message = messages[i]!;
    const kept = fields !== undefined ? keptContext(message, fields) : undefined;
    if (kept !== undefined) {
      (links ??= []).push({ context: kept });
      continue;
    }
    if (!useCreates) {
      (pending ??= []).push(i);
      continue;
    }
    const create = machinery.startCreate(s, message, parent);
    if (s.onCreate !== undefined) {
      try {
        s.onCreate(create, i);
      } catch (err) {
        machinery.log.error('the onCreate callback threw; ignored', err);
      }
    }
    const result = machinery.inject(create, trace.setSpan(parent, create), message.existing, message.limits);
    if (creates !== undefined) creates[i] = create;
    else machinery.end(create);
    injections[i] = isEmpty(result) ? undefined : result;
    (links ??= []).push({ context: create.spanContext() });
  }
  const extra = s.links;
  if (extra !== undefined) for (let i = 0; i < extra.length; i++) (links ??= []).push(extra[i]!);
  const counted = s.messages === undefined && s.messageCount !== undefined;
  const count = counted ? countOf(s.messageCount) : n;
  // PRODUCER when its own context is some message's creation context, CLIENT otherwise (the conventions' rule).
  // Without messages or a count, the package injects the send span's context itself (`telemetry.inject`).
  const kind = pending !== undefined || (n === 0 && !counted) ? SpanKind.PRODUCER : SpanKind.CLIENT;
  const span = machinery.startSendSpan(s, kind, links, parent, count);
  // One context object for the send span: what its messages carry is also what the package runs the send in.
  const sendContext = trace.setSpan(parent, span);
  if (pending !== undefined) {
    for (let j = 0; j < pending.length; j++) {
      const i = pending[j]!;
      const message = messages[i]!;
      const result = machinery.inject(span, sendContext, message.existing, message.limits);
      injections[i] = isEmpty(result) ? undefined : result;
    }
  }
  const result: SendResult = { span, context: sendContext, injections };
  if (creates !== undefined) result.creates = creates;
  return result;
}
