// The two halves of a Pub/Sub publish, which happen at different times: a span per message when the caller
// publishes (open until the message's id comes back), and a send span per batch RPC, later, from the client's
// batching timer, linking to the messages' contexts. Also what only Pub/Sub forbids in the attributes we write.
import { GOOGCLIENT_TRACEPARENT, GOOGCLIENT_TRACESTATE, extractSpanContext } from '@brokertrace/core';
import type { InjectResult } from '@brokertrace/core';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Attributes, Context, Link, Span, SpanContext } from '@opentelemetry/api';
import { isAcceptedKey } from './attributes.js';
import type { PubSubTracing } from './tracing.js';

/** Most attributes a message may carry (the service rejects the whole batch otherwise). */
const MAX_ATTRIBUTES = 100;

/** The span that carries one message's context, and what to add to the message's attributes. */
export interface MessageSpan {
  /** `create {topic}` (or `send {topic}` with `createSpans: false`); undefined when the message kept its own context. */
  span: Span | undefined;
  /** The context the message carries when it leaves: our span's, or the one it already had. */
  creation: SpanContext | undefined;
  /** Entries to set on a copy of the message's attributes (keys it has are replaced). */
  fields: Record<string, string>;
}

/**
 * A context written by Google's client libraries (`googclient_traceparent`), which core's keep rule does not
 * look for (it checks the propagator's own keys): kept like one, with or without a propagator registered.
 */
function googclientContext(existing: Readonly<Record<string, string>> | undefined): SpanContext | undefined {
  if (existing === undefined || !Object.hasOwn(existing, GOOGCLIENT_TRACEPARENT)) return undefined;
  return extractSpanContext(existing);
}

/**
 * Starts the span of one message being published, in the caller's context: a `create` span (kept open; end it
 * with `telemetry.end` when the id comes back), or with `createSpans: false` a `send` span. A message that
 * already carries a valid context keeps it (`existingContext: 'keep'`, the default): no span, nothing added.
 */
export function startMessageSpan(
  tracing: PubSubTracing,
  topic: string,
  existing: Readonly<Record<string, string>> | undefined,
  attributes: Attributes,
  metricAttributes: Attributes,
): MessageSpan {
  const telemetry = tracing.telemetry;
  if (telemetry.keepsExistingContext) {
    const kept = googclientContext(existing);
    if (kept !== undefined) return { span: undefined, creation: kept, fields: {} };
  }
  let span: Span;
  let injection: InjectResult | undefined;
  let creation: SpanContext | undefined;
  if (telemetry.createSpans) {
    const created = telemetry.startCreate({ destination: topic, metricAttributes, message: { existing, attributes } });
    if (created.kept !== undefined) return { span: undefined, creation: created.kept, fields: {} };
    span = created.span;
    injection = created.injection;
  } else {
    // A message that keeps its own context gets a CLIENT send span linked to it, and nothing added.
    const sent = telemetry.startSend({ destination: topic, attributes, metricAttributes, messages: [{ existing }] });
    span = sent.span;
    injection = sent.injections[0];
    if (injection === undefined && existing !== undefined && telemetry.keepsExistingContext) creation = extractSpanContext(existing);
  }
  const fields = fitPubSubRules(tracing, span, existing, injection);
  const own = span.spanContext();
  return { span, creation: creation ?? (trace.isSpanContextValid(own) ? own : undefined), fields };
}

/**
 * Pub/Sub's own rules on top of core's budget: no key the service rejects (`goog*` other than the accepted
 * `googclient_` keys: one would fail every message batched with it), the optional `googclient_traceparent` /
 * `googclient_tracestate` copies when there is room, and a stale `googclient_traceparent` the message carries
 * replaced by ours (one context per message). What is left out goes through core's `recordDropped` (span
 * attribute, counter, once-per-topic warning), as core's own drops do.
 */
function fitPubSubRules(
  tracing: PubSubTracing,
  span: Span,
  existing: Readonly<Record<string, string>> | undefined,
  injection: InjectResult | undefined,
): Record<string, string> {
  const fields: Record<string, string> = injection ? { ...injection.fields } : {};
  const dropped: string[] = [];
  for (const key of Object.keys(fields)) {
    if (!isAcceptedKey(key)) {
      delete fields[key];
      dropped.push(key);
    }
  }
  const traceparent = fields.traceparent;
  const hasOldGoog = existing !== undefined && Object.hasOwn(existing, GOOGCLIENT_TRACEPARENT);
  if (traceparent !== undefined && (tracing.options.writeGoogclientTraceparent || hasOldGoog)) {
    let entries = existing === undefined ? 0 : Object.keys(existing).length;
    for (const key in fields) if (existing === undefined || !Object.hasOwn(existing, key)) entries++;
    const extras: Array<[string, string | undefined]> = [
      [GOOGCLIENT_TRACEPARENT, traceparent],
      [GOOGCLIENT_TRACESTATE, tracing.options.writeGoogclientTraceparent ? fields.tracestate : undefined],
    ];
    for (const [key, value] of extras) {
      if (value === undefined) continue;
      const replaces = existing !== undefined && Object.hasOwn(existing, key);
      if (replaces || entries < MAX_ATTRIBUTES) {
        fields[key] = value;
        if (!replaces) entries++;
      } else {
        dropped.push(key);
      }
    }
  }
  if (dropped.length > 0) tracing.telemetry.recordDropped(span, dropped);
  return fields;
}

/**
 * Starts the CLIENT `send {topic}` span of one batch publish RPC, from a root (the batching timer runs in the
 * context of whoever published first), linking to each message's context (known by identity, so with or
 * without a propagator); `messaging.batch.message_count` is the batch's size, counted in sent messages at end.
 * End it with `tracing.telemetry.end`.
 */
export function startRpcSpan(
  tracing: PubSubTracing,
  topic: string,
  creations: ReadonlyArray<SpanContext | undefined>,
  attributes: Attributes | undefined,
  metricAttributes: Attributes,
): { span: Span; context: Context } {
  const links: Link[] = [];
  for (let i = 0; i < creations.length; i++) {
    const sc = creations[i];
    if (sc !== undefined) links.push({ context: sc });
  }
  const { span, context } = tracing.telemetry.startSend({
    destination: topic,
    batch: true,
    messageCount: creations.length,
    links,
    attributes,
    metricAttributes,
    parent: ROOT_CONTEXT,
  });
  return { span, context };
}
