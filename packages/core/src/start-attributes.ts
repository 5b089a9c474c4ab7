// The name and common start attributes of spans, built once per destination and operation instead of once per
// span. A span that adds attributes of its own starts from a copy; a process span, which adds only its decision,
// starts with a frozen set shared by every message with that decision, so a consumed message costs no attribute
// object and no name string. The tracer only reads them (the SDK copies what it keeps before sampling).
import type { Attributes } from '@opentelemetry/api';
import type { ResolvedDestination } from './messaging-metrics.js';
import { ATTR_BROKERTRACE_DECISION_REASON, ATTR_BROKERTRACE_DECISION_RELATIONSHIP } from './semconv.js';
import type { Decision } from './types.js';

/** The start attributes of one decision's reason, per relationship. */
type ByRelationship = { child?: Readonly<Attributes>; link?: Readonly<Attributes> };

/** The spans of one destination, `metricAttributes` object, operation name and type. */
export class SpanStarts {
  private byReason: Map<string, ByRelationship> | undefined;

  /** `base` becomes this entry's: it is never handed out, only copied. */
  constructor(
    readonly name: string,
    private readonly base: Attributes,
  ) {}

  /** A fresh copy of the common attributes, for a span that adds its own. */
  copy(): Attributes {
    return { ...this.base };
  }

  /** The common attributes and `decision`, frozen, one set per decision (a process span's start attributes). */
  decided(decision: Decision): Readonly<Attributes> {
    let pair = (this.byReason ??= new Map<string, ByRelationship>()).get(decision.reason);
    if (pair === undefined) this.byReason.set(decision.reason, (pair = {}));
    return (pair[decision.relationship] ??= Object.freeze({
      ...this.base,
      [ATTR_BROKERTRACE_DECISION_RELATIONSHIP]: decision.relationship,
      [ATTR_BROKERTRACE_DECISION_REASON]: decision.reason,
    }));
  }
}

/** An operation name's entries by operation type (`''`: none). */
type ByType = Record<string, SpanStarts | undefined>;

/**
 * Keyed by the resolved destination (one per name, template and hiddenness, dropped with it) and the identity of
 * the package's `metricAttributes` (built once per client), both weakly, so that memory follows what is in use.
 * Operation names and types come from packages and core, never from messages: a handful per destination.
 */
export class SpanStartCache {
  private readonly plain = new WeakMap<ResolvedDestination, Map<string, ByType>>();
  private readonly withMetricAttributes = new WeakMap<ResolvedDestination, WeakMap<Attributes, Map<string, ByType>>>();

  get(destination: ResolvedDestination, metricAttributes: Attributes | undefined, operationName: string, operationType: string | undefined): SpanStarts | undefined {
    return this.byOperation(destination, metricAttributes, false)?.get(operationName)?.[operationType ?? ''];
  }

  set(destination: ResolvedDestination, metricAttributes: Attributes | undefined, operationName: string, operationType: string | undefined, starts: SpanStarts): SpanStarts {
    const byOperation = this.byOperation(destination, metricAttributes, true)!;
    let byType = byOperation.get(operationName);
    if (byType === undefined) byOperation.set(operationName, (byType = {}));
    return (byType[operationType ?? ''] = starts);
  }

  private byOperation(destination: ResolvedDestination, metricAttributes: Attributes | undefined, create: boolean): Map<string, ByType> | undefined {
    if (metricAttributes === undefined) {
      let byOperation = this.plain.get(destination);
      if (byOperation === undefined && create) this.plain.set(destination, (byOperation = new Map<string, ByType>()));
      return byOperation;
    }
    let byIdentity = this.withMetricAttributes.get(destination);
    if (byIdentity === undefined) {
      if (!create) return undefined;
      this.withMetricAttributes.set(destination, (byIdentity = new WeakMap()));
    }
    let byOperation = byIdentity.get(metricAttributes);
    if (byOperation === undefined && create) byIdentity.set(metricAttributes, (byOperation = new Map<string, ByType>()));
    return byOperation;
  }
}
