// Where a consumer span starts: ONE function resolving, from the message(s) and the ambient context, the span's
// parent, its links, the child-or-link decision and the handler's baggage. Used by process spans (one message)
// and batch spans (receive / process of many). No span is started and no metric recorded here.
import { ROOT_CONTEXT, TraceFlags, isSpanContextValid, propagation, trace } from '@opentelemetry/api';
import type { Attributes, Context, Link, SpanContext, TextMapGetter } from '@opentelemetry/api';
import { filterBaggage } from './baggage.js';
import { extractContext } from './extract.js';
import { decideWithContext, messageAgeMs, noContextDecision } from './policy.js';
import type { ResolvedPolicy } from './policy.js';
import {
  ATTR_BROKERTRACE_LINK_FOLLOW_SAMPLING,
  ATTR_BROKERTRACE_MESSAGE_QUEUE_TIME,
  ATTR_BROKERTRACE_MESSAGE_DELIVERY_COUNT,
  ATTR_MESSAGING_MESSAGE_ID,
} from './semconv.js';
import type { ConsumedMessage } from './telemetry-types.js';
import type { Decision, MessageFacts } from './types.js';

/** The options of the consumer side that shape the answer (from the resolved config). */
export interface ConsumerTrust {
  readonly policy: ResolvedPolicy;
  /** Clear the sampled flag of incoming contexts. */
  readonly ignoreIncomingSampledFlag: boolean;
  /** `false`: creation links say `brokertrace.link.follow_sampling=false`. */
  readonly followCreationSampling: boolean;
  readonly baggageAllowList: readonly (string | RegExp)[] | undefined;
}

/** What {@link resolveConsumerContext} takes: exactly one of `message` (process span) or `messages` (batch span). */
export interface ConsumerContextInput {
  destination: string;
  /** The ambient context the package knows to be legitimate; ROOT_CONTEXT when it knows none. */
  ambient: Context;
  message?: ConsumedMessage;
  messages?: ReadonlyArray<ConsumedMessage>;
  /** A per-message span inside a batch span (`ambient` is the batch span's context): decided as `batch`. */
  inBatch?: boolean;
  getter?: TextMapGetter<unknown>;
  /** Wall-clock ms (`Date.now()`), against which the broker's enqueue times are compared. */
  now: number;
}

/** Where the consumer span starts. */
export interface ConsumerContext {
  /** Parent context for the span: the creation context (child), else the ambient; baggage already set. */
  parent: Context;
  /** Handed to the tracer at start; the creation context first (see LinkSamplingSampler). */
  links: Link[] | undefined;
  /** A process span's decision; for a batch span `link`/`batch` (the per-message rule). */
  decision: Decision;
  /** How many of the messages carry a valid creation context. */
  withContext: number;
  /** A batch's messages that no receive span counted yet, and how many of those carry a context (for the metrics). */
  uncounted?: { messages: number; withContext: number };
}

/** The only attribute a single message's creation link carries, when `followCreationSampling` is off. */
const NOT_FOLLOWED: Attributes = Object.freeze({ [ATTR_BROKERTRACE_LINK_FOLLOW_SAMPLING]: false });

const BATCH_DECISION: Decision = Object.freeze({ relationship: 'link', reason: 'batch', ageMs: undefined });

/** The creation context a message carries, as we may use it (valid; sampled flag cleared when not trusted). */
export function creationContextOf(carrier: unknown, getter: TextMapGetter<unknown> | undefined, ignoreSampledFlag: boolean): SpanContext | undefined {
  if (carrier === undefined || carrier === null) return undefined;
  return trusted(trace.getSpanContext(extractContext(carrier, getter, ROOT_CONTEXT)), ignoreSampledFlag);
}

function trusted(sc: SpanContext | undefined, ignoreSampledFlag: boolean): SpanContext | undefined {
  if (sc === undefined || !isSpanContextValid(sc)) return undefined;
  if (ignoreSampledFlag && (sc.traceFlags & TraceFlags.SAMPLED) !== 0) return { ...sc, traceFlags: sc.traceFlags & ~TraceFlags.SAMPLED };
  return sc;
}

/**
 * What a span or link records of one message's facts: the package's link attributes, the message id (unless made
 * up), delivery count and age (seconds). A single message's process span sets them only when it records (no
 * sampler needs a per-message count or age: the decision's reason says `stale` or `redelivered`); a batch span
 * puts them on each message's link, because the values vary from message to message.
 */
export function messageFactsAttributes(facts: MessageFacts, ageMs: number | undefined): Attributes {
  const attributes: Attributes = {};
  const own = facts.linkAttributes;
  if (own !== undefined) for (const key in own) if (own[key] !== undefined) attributes[key] = own[key];
  if (facts.messageId !== undefined && facts.syntheticId !== true) attributes[ATTR_MESSAGING_MESSAGE_ID] = facts.messageId;
  if (facts.deliveryCount !== undefined) attributes[ATTR_BROKERTRACE_MESSAGE_DELIVERY_COUNT] = facts.deliveryCount;
  if (ageMs !== undefined) attributes[ATTR_BROKERTRACE_MESSAGE_QUEUE_TIME] = ageMs / 1000;
  return attributes;
}

/** The attributes of a batch span's link to one message's creation context: its facts, and the sampling flag. */
export function creationLinkAttributes(facts: MessageFacts, ageMs: number | undefined, followCreationSampling: boolean): Attributes {
  const attributes = messageFactsAttributes(facts, ageMs);
  if (!followCreationSampling) attributes[ATTR_BROKERTRACE_LINK_FOLLOW_SAMPLING] = false;
  return attributes;
}

/**
 * Resolves a consumer span's parent, links, decision and baggage.
 * - one message, decision `child`: parent = the creation context; links = [creation, ambient span if valid]. A
 *   single message's link carries no facts: they are on the span (see {@link messageFactsAttributes}).
 * - one message, decision `link`: parent = the ambient (or root); links = [creation].
 * - one message without a valid context: parent = the ambient (or root), no link (`no-context`).
 * - `inBatch`: the policy's `batch` rule applies (after `decide` and a forced mode), parent = the batch span.
 * - many messages: parent = the ambient; one link per message with a valid creation context.
 * The handler's baggage is the message's own (filtered by `baggageAllowList`), else the ambient's.
 */
export function resolveConsumerContext(input: ConsumerContextInput, trust: ConsumerTrust): ConsumerContext {
  const { ambient, now } = input;
  const messages = input.messages;
  if (messages !== undefined) {
    let links: Link[] | undefined;
    let withContext = 0;
    const uncounted = { messages: 0, withContext: 0 };
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      const counted = m.countedByReceive === true;
      if (!counted) uncounted.messages++;
      const creation = creationContextOf(m.carrier, input.getter, trust.ignoreIncomingSampledFlag);
      if (creation === undefined) continue;
      withContext++;
      if (!counted) uncounted.withContext++;
      (links ??= []).push({ context: creation, attributes: creationLinkAttributes(m.facts, messageAgeMs(m.facts.enqueuedAtMs, now), trust.followCreationSampling) });
    }
    return { parent: ambient, links, decision: BATCH_DECISION, withContext, uncounted };
  }

  return resolveMessageContext(input.message!, input.destination, ambient, input.inBatch === true, input.getter, now, trust);
}

/** {@link resolveConsumerContext} for one message, without an input object per message (the process span's hot path). */
export function resolveMessageContext(
  message: ConsumedMessage,
  destination: string,
  ambient: Context,
  inBatch: boolean,
  getter: TextMapGetter<unknown> | undefined,
  now: number,
  trust: ConsumerTrust,
): ConsumerContext {
  const facts = message.facts;
  let extracted: Context | undefined;
  let carried: SpanContext | undefined;
  let creation: SpanContext | undefined;
  const carrier = message.carrier;
  if (carrier !== undefined && carrier !== null) {
    extracted = extractContext(carrier, getter, ROOT_CONTEXT);
    carried = trace.getSpanContext(extracted);
    creation = trusted(carried, trust.ignoreIncomingSampledFlag);
  }
  const decision =
    creation === undefined
      ? noContextDecision(facts, now)
      : decideWithContext(facts, creation, trust.policy, now, facts.destination ?? destination, inBatch || facts.batch === true);
  let parent = ambient;
  let links: Link[] | undefined;
  if (creation !== undefined) {
    // One message: its facts (id, delivery count, queue time, the package's link attributes) are the span's own,
    // so the link repeats none of them. The SDK copies a link's attributes before sampling: repeating them cost
    // about a tenth of a process span, sampled or not (measured).
    links = [trust.followCreationSampling ? { context: creation } : { context: creation, attributes: NOT_FOLLOWED }];
    if (decision.relationship === 'child') {
      // From a root with the creation context as extracted and every baggage key allowed, the extracted context
      // is already the parent (creation context + the message's baggage): no second and third context object.
      if (ambient === ROOT_CONTEXT && creation === carried && trust.baggageAllowList === undefined) {
        return { parent: extracted!, links, decision, withContext: 1 };
      }
      const ambientSpan = trace.getSpanContext(ambient);
      if (ambientSpan !== undefined && isSpanContextValid(ambientSpan)) links.push({ context: ambientSpan });
      parent = trace.setSpanContext(ambient, creation);
    }
  }
  if (extracted !== undefined) {
    const bag = propagation.getBaggage(extracted);
    if (bag !== undefined) parent = filterBaggage(propagation.setBaggage(parent, bag), trust.baggageAllowList);
  }
  return { parent, links, decision, withContext: creation !== undefined ? 1 : 0 };
}
