// The two halves of a Pub/Sub publish, which happen at different times: a span per message when the caller
// publishes (open until the message's id comes back), and a send span per batch RPC, later, from the client's
// batching timer, linking to the messages' contexts. Also what only Pub/Sub forbids in the attributes we write.
// Core's startSend does both halves at once, so this file adapts it (see /work/coord/requests.md, pubsub -> core).
import { ATTR_BROKERTRACE_CONTEXT_DROPPED, GOOGCLIENT_TRACEPARENT, GOOGCLIENT_TRACESTATE, extractSpanContext } from '@brokertrace/core';
import type { InjectResult } from '@brokertrace/core';
import { ROOT_CONTEXT, propagation, trace } from '@opentelemetry/api';
import type { Attributes, Context, Span, SpanContext } from '@opentelemetry/api';
import { isAcceptedKey } from './attributes.js';
import { log } from './diag.js';
import type { PubSubTracing } from './tracing.js';

/** Most attributes a message may carry (the service rejects the whole batch otherwise). */
const MAX_ATTRIBUTES = 100;
const MAX_WARNED_TOPICS = 1000;
const warnedTopics = new WeakMap<PubSubTracing, Set<string>>();

/** The span that carries one message's context, and what to add to the message's attributes. */
export interface MessageSpan {
  /** `create {topic}` (or `send {topic}` with `createSpans: false`); undefined when the message kept its own context. */
  span: Span | undefined;
  /** The context the message carries when it leaves: our span's, or the one it already had. */
  creation: SpanContext | undefined;
  /** Entries to set on a copy of the message's attributes (keys it has are replaced). */
  fields: Record<string, string>;
}

function hasCarriedKey(existing: Readonly<Record<string, string>>): boolean {
  if (Object.hasOwn(existing, GOOGCLIENT_TRACEPARENT)) return true;
  const fields = propagation.fields();
  for (let i = 0; i < fields.length; i++) if (Object.hasOwn(existing, fields[i]!)) return true;
  return false;
}

/** The context a message already carries (our propagator's keys or Google's `googclient_traceparent`). */
function carriedContext(existing: Readonly<Record<string, string>> | undefined): SpanContext | undefined {
  if (existing === undefined || !hasCarriedKey(existing)) return undefined;
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
): MessageSpan {
  const telemetry = tracing.telemetry;
  if (telemetry.config.existingContext !== 'replace') {
    const kept = carriedContext(existing);
    if (kept !== undefined) return { span: undefined, creation: kept, fields: {} };
  }
  let span: Span;
  let injection: InjectResult | undefined;
  if (telemetry.createSpans) {
    span = telemetry.startCreate({ destination: topic, attributes });
    injection = telemetry.inject(span, existing);
  } else {
    const sent = telemetry.startSend({ destination: topic, attributes, messages: [{ existing }] });
    span = sent.span;
    injection = sent.injections[0];
  }
  const fields = fitPubSubRules(tracing, topic, span, existing, injection);
  const creation = span.spanContext();
  return { span, creation: trace.isSpanContextValid(creation) ? creation : undefined, fields };
}

/**
 * Pub/Sub's own rules on top of core's budget: no key the service rejects (`goog*` other than the accepted
 * `googclient_` keys: one would fail every message batched with it), the optional `googclient_traceparent` /
 * `googclient_tracestate` copies when there is room, and a stale `googclient_traceparent` the message carries
 * replaced by ours (one context per message). What is left out is recorded on the span and warned about once.
 */
function fitPubSubRules(
  tracing: PubSubTracing,
  topic: string,
  span: Span,
  existing: Readonly<Record<string, string>> | undefined,
  injection: InjectResult | undefined,
): Record<string, string> {
  const fields: Record<string, string> = injection ? { ...injection.fields } : {};
  const dropped = injection ? [...injection.dropped] : [];
  const coreDropped = dropped.length;
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
  if (dropped.length > coreDropped) recordPubSubDrops(tracing, topic, span, dropped, dropped.slice(coreDropped));
  return fields;
}

function recordPubSubDrops(tracing: PubSubTracing, topic: string, span: Span, all: string[], ours: string[]): void {
  try {
    if (span.isRecording()) span.setAttribute(ATTR_BROKERTRACE_CONTEXT_DROPPED, all);
  } catch (err) {
    log.debug('recording dropped context fields failed', err);
  }
  let warned = warnedTopics.get(tracing);
  if (warned === undefined) warnedTopics.set(tracing, (warned = new Set()));
  if (!warned.has(topic) && warned.size < MAX_WARNED_TOPICS) {
    warned.add(topic);
    log.warn(
      `left out of messages to topic "${topic}": ${ours.join(', ')} (Pub/Sub rejects keys starting with "goog", ` +
        `and allows ${MAX_ATTRIBUTES} attributes). The message is sent otherwise unchanged; shown once per topic.`,
    );
  }
}

/** A carrier holding `sc` in the global propagator's own keys: what rpcTelemetry keeps and links to. */
function carrierOf(sc: SpanContext): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpanContext(ROOT_CONTEXT, sc), carrier);
  return carrier;
}

/**
 * Starts the CLIENT `send {topic}` span of one batch publish RPC, from a root (the batching timer runs in the
 * context of whoever published first), linking to each message's context; `messaging.batch.message_count` is
 * the batch's size. End it with `tracing.rpcTelemetry.end`.
 */
export function startRpcSpan(
  tracing: PubSubTracing,
  topic: string,
  creations: ReadonlyArray<SpanContext | undefined>,
  attributes: Attributes | undefined,
): { span: Span; context: Context } {
  const messages = creations.map((sc) => ({ existing: sc === undefined ? undefined : carrierOf(sc) }));
  const { span, context } = tracing.rpcTelemetry.startSend({ destination: topic, batch: true, messages, attributes, parent: ROOT_CONTEXT });
  return { span, context };
}
