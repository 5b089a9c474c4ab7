// The start attributes and name of process spans, built once per destination, operation and decision and shared
// by every message that has them: a consumed message then costs no attribute object and no name string. The
// tracer only reads them (the SDK copies what it keeps before sampling); they are frozen, so that none can change.
import type { Attributes } from '@opentelemetry/api';
import type { Decision } from './types.js';
import type { ResolvedDestination } from './messaging-metrics.js';

/** The start attributes of one decision's reason, per relationship. */
type ByRelationship = { child?: Readonly<Attributes>; link?: Readonly<Attributes> };

/** One destination, `metricAttributes` object and operation name: its span name and a frozen set per decision. */
export class ProcessStarts {
  /** `{operation} {destination}`, or the operation alone for an empty destination. */
  readonly name: string;
  private readonly byReason = new Map<string, ByRelationship>();

  constructor(operationName: string, spanDestination: string) {
    this.name = spanDestination === '' ? operationName : operationName + ' ' + spanDestination;
  }

  attributes(decision: Decision): Readonly<Attributes> | undefined {
    return this.byReason.get(decision.reason)?.[decision.relationship];
  }

  /** Keeps `attributes` (frozen) for `decision`; returns them. */
  keep(decision: Decision, attributes: Attributes): Readonly<Attributes> {
    let pair = this.byReason.get(decision.reason);
    if (pair === undefined) this.byReason.set(decision.reason, (pair = {}));
    return (pair[decision.relationship] = Object.freeze(attributes));
  }
}

/**
 * Keyed by the resolved destination (one per name, template and hiddenness, dropped with it) and the identity of
 * the package's `metricAttributes` (built once per client), both weakly, so that memory follows what is in use.
 * Operation names, reasons and relationships come from packages and core, never from messages: a handful each.
 */
export class ProcessStartCache {
  private readonly plain = new WeakMap<ResolvedDestination, Map<string, ProcessStarts>>();
  private readonly withMetricAttributes = new WeakMap<ResolvedDestination, WeakMap<Attributes, Map<string, ProcessStarts>>>();

  /** The entry of a destination shown by name (or template) as `spanDestination`, created the first time. */
  entry(destination: ResolvedDestination, metricAttributes: Attributes | undefined, operationName: string, spanDestination: string): ProcessStarts {
    let byOperation: Map<string, ProcessStarts> | undefined;
    if (metricAttributes === undefined) {
      byOperation = this.plain.get(destination);
      if (byOperation === undefined) this.plain.set(destination, (byOperation = new Map<string, ProcessStarts>()));
    } else {
      let byIdentity = this.withMetricAttributes.get(destination);
      if (byIdentity === undefined) this.withMetricAttributes.set(destination, (byIdentity = new WeakMap()));
      byOperation = byIdentity.get(metricAttributes);
      if (byOperation === undefined) byIdentity.set(metricAttributes, (byOperation = new Map<string, ProcessStarts>()));
    }
    let starts = byOperation.get(operationName);
    if (starts === undefined) byOperation.set(operationName, (starts = new ProcessStarts(operationName, spanDestination)));
    return starts;
  }
}
