// The child-or-link policy: validating its options (per destination) and deciding, message by message,
// whether a consumer span continues the producer's trace or links to it, and why.
import { isSpanContextValid } from '@opentelemetry/api';
import type { SpanContext } from '@opentelemetry/api';
import { DeliveryCounter } from './duplicates.js';
import { BrokerTraceConfigError } from './errors.js';
import type { Decision, DecisionReason, MessageFacts, PolicyOptions, Relationship, RelationshipCallback, RelationshipPolicy } from './types.js';
import { coreLog as log } from './diagnostics.js';

/** Default of `maxChildAgeMs`: 5 minutes. */
export const DEFAULT_MAX_CHILD_AGE_MS = 300000;
/** Default of `maxChildDeliveries`. */
export const DEFAULT_MAX_CHILD_DELIVERIES = 3;

/** One destination's effective options, validated, with its duplicate window. */
export interface ResolvedPolicyOptions {
  readonly mode: 'auto' | Relationship;
  readonly maxChildAgeMs: number;
  readonly maxChildDeliveries: number;
  readonly decide: RelationshipCallback | undefined;
  /** Message ids seen by this process; undefined when duplicate detection is off. */
  readonly duplicates: DeliveryCounter | undefined;
}

const POLICY_KEYS = new Set(['mode', 'maxChildAgeMs', 'maxChildDeliveries', 'duplicateWindow', 'decide', 'destinations']);

function describe(value: unknown): string {
  return typeof value === 'number' ? String(value) : `${typeof value} ${JSON.stringify(value) ?? ''}`.trim();
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function resolveOptions(options: PolicyOptions, base: ResolvedPolicyOptions | undefined, path: string, allowDestinations: boolean): ResolvedPolicyOptions {
  if (!isRecord(options)) throw new BrokerTraceConfigError(path, `expected an object, got ${typeof options}`);
  for (const key of Object.keys(options)) {
    if (!POLICY_KEYS.has(key) || (key === 'destinations' && !allowDestinations)) {
      throw new BrokerTraceConfigError(`${path}.${key}`, 'unknown option');
    }
  }
  const { mode = base?.mode ?? 'auto', maxChildAgeMs = base?.maxChildAgeMs ?? DEFAULT_MAX_CHILD_AGE_MS } = options;
  const maxChildDeliveries = options.maxChildDeliveries ?? base?.maxChildDeliveries ?? DEFAULT_MAX_CHILD_DELIVERIES;
  const decide = options.decide ?? base?.decide;
  if (mode !== 'auto' && mode !== 'child' && mode !== 'link') {
    throw new BrokerTraceConfigError(`${path}.mode`, `expected 'auto', 'child' or 'link', got ${JSON.stringify(mode)}`);
  }
  if (typeof maxChildAgeMs !== 'number' || Number.isNaN(maxChildAgeMs) || maxChildAgeMs < 0) {
    throw new BrokerTraceConfigError(`${path}.maxChildAgeMs`, `expected a number >= 0 (ms), got ${describe(maxChildAgeMs)}`);
  }
  if (typeof maxChildDeliveries !== 'number' || Number.isNaN(maxChildDeliveries) || maxChildDeliveries < 0) {
    throw new BrokerTraceConfigError(`${path}.maxChildDeliveries`, `expected a number >= 0, got ${describe(maxChildDeliveries)}`);
  }
  if (decide !== undefined && typeof (decide as unknown) !== 'function') {
    throw new BrokerTraceConfigError(`${path}.decide`, `expected a function, got ${typeof decide}`);
  }
  let duplicates = base?.duplicates;
  const window = options.duplicateWindow;
  if (window === false) duplicates = undefined;
  else if (window !== undefined) {
    if (!isRecord(window)) throw new BrokerTraceConfigError(`${path}.duplicateWindow`, 'expected { maxEntries?, ttlMs? } or false');
    duplicates = new DeliveryCounter(window, `${path}.duplicateWindow`);
  } else if (base === undefined) duplicates = new DeliveryCounter({}, `${path}.duplicateWindow`);
  return { mode, maxChildAgeMs, maxChildDeliveries, decide: decide as RelationshipCallback | undefined, duplicates };
}

/**
 * A validated child-or-link policy with its per-destination overrides resolved once and the duplicate window(s)
 * it owns. Create one with {@link createPolicy}.
 */
export class ResolvedPolicy {
  /** The options for destinations without an override. */
  readonly defaults: ResolvedPolicyOptions;
  private readonly byDestination: ReadonlyMap<string, ResolvedPolicyOptions>;

  /**
   * @internal use {@link createPolicy}. With `previous` (the policy this one replaces), a duplicate window of the
   * same size and expiry is taken over with what it remembers, so a `setConfig` does not forget the ids seen.
   */
  constructor(policy: RelationshipPolicy = {}, path = 'policy', previous?: ResolvedPolicy) {
    const fresh = resolveOptions(policy, undefined, path, true);
    this.defaults = takeOverWindow(fresh, previous?.defaults);
    const map = new Map<string, ResolvedPolicyOptions>();
    const destinations = policy.destinations;
    if (destinations !== undefined) {
      if (!isRecord(destinations)) throw new BrokerTraceConfigError(`${path}.destinations`, 'expected an object keyed by destination name');
      for (const name of Object.keys(destinations)) {
        const options = resolveOptions(destinations[name]!, fresh, `${path}.destinations[${JSON.stringify(name)}]`, false);
        // An override without a window of its own shares the defaults' (the one just taken over, if so).
        map.set(name, options.duplicates === fresh.duplicates ? { ...options, duplicates: this.defaults.duplicates } : takeOverWindow(options, previous?.byDestination.get(name)));
      }
    }
    this.byDestination = map;
  }

  /** The effective options for a destination (its override, else the defaults). */
  forDestination(destination: string | undefined): ResolvedPolicyOptions {
    if (destination === undefined || this.byDestination.size === 0) return this.defaults;
    return this.byDestination.get(destination) ?? this.defaults;
  }
}

/**
 * Validates a policy (throws {@link BrokerTraceConfigError} naming the option, e.g. `policy.maxChildAgeMs`) and
 * returns it resolved, owning its duplicate window. Pass the result to {@link decideRelationship}.
 *
 * @example
 * const policy = createPolicy({ maxChildAgeMs: 60000, destinations: { 'orders.dlq': { mode: 'link' } } });
 */
export function createPolicy(policy?: RelationshipPolicy, optionPath = 'policy', previous?: ResolvedPolicy): ResolvedPolicy {
  return new ResolvedPolicy(policy ?? {}, optionPath, previous);
}

/** `next` with the previous window instead of its new one when both have the same size and expiry. */
function takeOverWindow(next: ResolvedPolicyOptions, previous: ResolvedPolicyOptions | undefined): ResolvedPolicyOptions {
  const fresh = next.duplicates;
  const old = previous?.duplicates;
  if (fresh === undefined || old === undefined || fresh.maxEntries !== old.maxEntries || fresh.ttlMs !== old.ttlMs) return next;
  return { ...next, duplicates: old };
}

const resolvedCache = new WeakMap<object, ResolvedPolicy>();
let defaultPolicy: ResolvedPolicy | undefined;

function resolve(policy: RelationshipPolicy | ResolvedPolicy | undefined): ResolvedPolicy {
  if (policy instanceof ResolvedPolicy) return policy;
  if (policy === undefined) return (defaultPolicy ??= new ResolvedPolicy());
  let resolved = resolvedCache.get(policy);
  if (resolved === undefined) {
    resolved = new ResolvedPolicy(policy);
    resolvedCache.set(policy, resolved);
  }
  return resolved;
}

function decision(relationship: Relationship, reason: DecisionReason, ageMs: number | undefined): Decision {
  return { relationship, reason, ageMs };
}

/** Duplicates are counted per destination and consumer: fan-out to two queues or groups is not a duplicate. */
function duplicateKey(facts: MessageFacts, destination: string | undefined, messageId: string): string {
  return (destination ?? '') + '\u0000' + (facts.consumer ?? '') + '\u0000' + messageId;
}

/** Age of a message in ms at `now`; a timestamp in the future (clock skew) counts as 0. */
export function messageAgeMs(enqueuedAtMs: number | undefined, now: number): number | undefined {
  if (typeof enqueuedAtMs !== 'number' || !Number.isFinite(enqueuedAtMs)) return undefined;
  const age = now - enqueuedAtMs;
  return age > 0 ? age : 0;
}

/**
 * Decides whether a consumer span continues the message's creation context (child) or links to it, by the
 * rules of the `auto` policy in order; the first that applies wins and is the reason:
 * 1. no valid creation context -> child of the ambient span, or root (`no-context`)
 * 2. the user's `decide` callback answered (`custom`); mode `child`/`link` (`forced`)
 * 3. a batch span -> link (`batch`)
 * 4. older than `maxChildAgeMs` -> link (`stale`)
 * 5. delivery count above `maxChildDeliveries`, or replayed from a dead-letter queue -> link (`redelivered`)
 * 6. message id seen before within the duplicate window -> link (`duplicate`)
 * 7. otherwise child (`fresh`)
 * A plain policy object is validated once and cached (keep passing the same object). `destination` and `batch`
 * stand in for `facts.destination` / `facts.batch` when given (so callers need not copy the facts).
 *
 * @example
 * const { relationship, reason, ageMs } = decideRelationship({ enqueuedAtMs: msg.timestamp, deliveryCount: 1 }, creation);
 */
export function decideRelationship(
  facts: MessageFacts,
  creationContext: SpanContext | undefined,
  policy?: RelationshipPolicy | ResolvedPolicy,
  now: number = Date.now(),
  destination: string | undefined = facts.destination,
  batch: boolean | undefined = facts.batch,
): Decision {
  if (creationContext === undefined || !isSpanContextValid(creationContext)) return noContextDecision(facts, now);
  return decideWithContext(facts, creationContext, resolve(policy), now, destination, batch);
}

/** Rule 1 of {@link decideRelationship}: no valid creation context, the ambient's child (or a root), whatever its age. */
export function noContextDecision(facts: MessageFacts, now: number): Decision {
  return decision('child', 'no-context', messageAgeMs(facts.enqueuedAtMs, now));
}

/**
 * {@link decideRelationship} for a creation context the caller has already checked to be valid, under a resolved
 * policy (consumer-context.ts: a message's context is validated once, not once per step).
 */
export function decideWithContext(
  facts: MessageFacts,
  creationContext: SpanContext,
  policy: ResolvedPolicy,
  now: number,
  destination: string | undefined,
  batch: boolean | undefined,
): Decision {
  const ageMs = messageAgeMs(facts.enqueuedAtMs, now);
  const options = policy.forDestination(destination);
  if (options.decide !== undefined) {
    let answer: Relationship | undefined;
    try {
      // The callback sees the destination (and batch flag) the caller gave, even when the facts did not hold them.
      const seen = facts.destination === destination && facts.batch === batch ? facts : { ...facts, destination, batch };
      answer = options.decide(seen, creationContext);
    } catch (err) {
      log.error('the policy `decide` callback threw; the automatic rules decide', err);
    }
    if (answer === 'child' || answer === 'link') return decision(answer, 'custom', ageMs);
  }
  if (options.mode !== 'auto') return decision(options.mode, 'forced', ageMs);
  if (batch === true) return decision('link', 'batch', ageMs);
  // Record the sighting before the other rules, so that a stale or redelivered message seen again is a duplicate.
  const seen =
    options.duplicates !== undefined && facts.messageId !== undefined && facts.messageId !== ''
      ? options.duplicates.record(duplicateKey(facts, destination, facts.messageId), now)
      : 1;
  if (ageMs !== undefined && ageMs > options.maxChildAgeMs) return decision('link', 'stale', ageMs);
  const deliveries = facts.deliveryCount;
  if ((typeof deliveries === 'number' && deliveries > options.maxChildDeliveries) || facts.replayedFromDeadLetter === true) {
    return decision('link', 'redelivered', ageMs);
  }
  // A sighting the broker itself counts as a redelivery (delivery count > 1) is a retry, not a duplicate.
  if (seen > 1 && !(typeof deliveries === 'number' && deliveries > 1)) return decision('link', 'duplicate', ageMs);
  return decision('child', 'fresh', ageMs);
}
