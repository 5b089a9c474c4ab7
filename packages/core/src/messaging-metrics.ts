// Metrics: owns the instruments (built per meter provider), converts units once (ms -> s), keeps the metric
// attribute sets of each destination cached, gives each metric exactly the attributes its convention lists, and
// caps the number of distinct destination and error.type values (the rest fold into `_OTHER`).
import { createNoopMeter, metrics } from '@opentelemetry/api';
import type { Attributes, AttributeValue, Counter, DiagLogger, Histogram, MeterProvider } from '@opentelemetry/api';
import {
  ATTR_BROKERTRACE_CONTEXT_FIELD,
  ATTR_BROKERTRACE_DECISION_REASON,
  ATTR_BROKERTRACE_DECISION_RELATIONSHIP,
  ATTR_ERROR_TYPE,
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_DESTINATION_SUBSCRIPTION_NAME,
  ATTR_MESSAGING_DESTINATION_TEMPLATE,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ERROR_TYPE_VALUE_OTHER,
  METRIC_BROKERTRACE_CONSUMED_WITHOUT_CONTEXT,
  METRIC_BROKERTRACE_CONTEXT_DROPPED,
  METRIC_BROKERTRACE_DECISIONS,
  METRIC_BROKERTRACE_MESSAGE_AGE,
  METRIC_MESSAGING_CLIENT_CONSUMED_MESSAGES,
  METRIC_MESSAGING_CLIENT_OPERATION_DURATION,
  METRIC_MESSAGING_CLIENT_SENT_MESSAGES,
  METRIC_MESSAGING_PROCESS_DURATION,
} from './semconv.js';
import type { DecisionReason, Relationship } from './types.js';

/** Semconv advice for messaging duration histograms (seconds). */
export const DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
/** Message age buckets (seconds, like every OpenTelemetry duration): from "just sent" to "a day in a dead-letter queue". */
export const AGE_BUCKETS_S = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 86400];
/** The value a destination gets on metrics once `maxMetricDestinations` distinct ones have been seen. */
export const METRIC_DESTINATION_OVERFLOW = '_OTHER';

/**
 * The keys of a span's `metricAttributes` each metric keeps (messaging-metrics.md, v1.44): the consumer-side
 * metrics and `messaging.client.operation.duration` take the group and subscription; `messaging.client.sent.messages`
 * does not. Core adds `messaging.system`, `messaging.operation.name`, the destination (name or template),
 * `error.type`, and `messaging.operation.type` on `messaging.client.operation.duration` only.
 */
const CONSUMER_METRIC_KEYS: readonly string[] = [
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_SUBSCRIPTION_NAME,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
];
const PRODUCER_METRIC_KEYS: readonly string[] = [ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT, ATTR_MESSAGING_DESTINATION_PARTITION_ID];

/** The class of the API's no-op counters: instruments of this class mean no meter provider is registered. */
const NOOP_COUNTER_CLASS: unknown = createNoopMeter().createCounter('noop_probe').constructor;

/** Attribute sets cached per scope beyond this many are built per call (error types are few; this only bounds abuse). */
const MAX_SETS_PER_SCOPE = 256;
/**
 * Distinct `error.type` values metrics record (spans keep theirs); past it `_OTHER`, the conventions' fallback. An
 * error code that embeds an id (an application's own codes, a broker's free-form ones) must not make a series per id.
 */
export const MAX_METRIC_ERROR_TYPES = 64;
/** Raw destination -> resolved destination cache entries (a cache only: misses are resolved again). */
const MAX_RESOLVED_DESTINATIONS = 2048;

/** One raw destination name resolved with and without templates, shown or hidden (anonymous / temporary). */
interface ResolvedVariants {
  shown?: ResolvedByTemplate;
  hidden?: ResolvedByTemplate;
}
interface ResolvedByTemplate {
  none?: ResolvedDestination;
  byTemplate?: Map<string, ResolvedDestination>;
}

interface Instruments {
  /** The meter provider is the API's no-op one (none registered): recording would do nothing, so nothing is computed. */
  noop: boolean;
  operationDuration: Histogram;
  processDuration: Histogram;
  sentMessages: Counter;
  consumedMessages: Counter;
  consumedWithoutContext: Counter;
  messageAge: Histogram;
  decisions: Counter;
  contextDropped: Counter;
}

/** One destination value as metrics see it (a name, a template, `_OTHER`, or none for anonymous ones). */
interface DestinationEntry {
  /** `messaging.system` and the destination attribute. */
  readonly attributes: Attributes;
  plain: MetricScope | undefined;
  readonly byMetricAttributes: WeakMap<Attributes, MetricScope>;
}

/** A span's destination after the user's and the package's template were applied. */
export interface ResolvedDestination {
  /** `messaging.destination.template` for the span (undefined: none, or equal to the name). */
  readonly template: string | undefined;
  readonly entry: DestinationEntry;
}

/**
 * The metric attribute sets of one destination and one `metricAttributes` object, built lazily and cached: the
 * hot path looks a string up in a Map and allocates nothing.
 */
export class MetricScope {
  /** Attributes for consumer metrics and operation durations. */
  readonly consumerBase: Attributes;
  /** Attributes for producer metrics. */
  readonly producerBase: Attributes;
  private readonly sets = new Map<string, Attributes>();

  constructor(destination: Attributes, metricAttributes: Attributes | undefined) {
    this.consumerBase = pick(destination, metricAttributes, CONSUMER_METRIC_KEYS);
    this.producerBase = pick(destination, metricAttributes, PRODUCER_METRIC_KEYS);
  }

  /** The cached set `key`, else `base` plus up to two extra attributes (built once). */
  set(key: string, base: Attributes, k1: string, v1: AttributeValue, k2?: string, v2?: AttributeValue, k3?: string, v3?: AttributeValue): Attributes {
    let attributes = this.sets.get(key);
    if (attributes === undefined) {
      attributes = { ...base, [k1]: v1 };
      if (k2 !== undefined && v2 !== undefined) attributes[k2] = v2;
      if (k3 !== undefined && v3 !== undefined) attributes[k3] = v3;
      if (this.sets.size < MAX_SETS_PER_SCOPE) this.sets.set(key, attributes);
    }
    return attributes;
  }
}

function pick(destination: Attributes, metricAttributes: Attributes | undefined, keys: readonly string[]): Attributes {
  const out: Attributes = { ...destination };
  if (metricAttributes === undefined) return out;
  for (let i = 0; i < keys.length; i++) {
    const value = metricAttributes[keys[i]!];
    if (value !== undefined) out[keys[i]!] = value;
  }
  return out;
}

/**
 * Every metric brokertrace records, with intention-named methods. Instruments are rebuilt when the meter
 * provider changes (the global metrics API has no proxy: a provider registered after the instrumentation was
 * created must still be picked up). Recording never throws.
 */
export class MessagingMetrics {
  private provider: MeterProvider | undefined;
  private current: Instruments | undefined;
  /** Raw name -> its resolved destinations (by hiddenness, then template). */
  private resolved = new Map<string, ResolvedVariants>();
  private resolvedCount = 0;
  private entries = new Map<string, DestinationEntry>();
  private overflow = new Map<string, DestinationEntry>();
  private none: DestinationEntry | undefined;
  private readonly errorTypes = new Set<string>();
  private errorTypesWarned = false;

  constructor(
    private readonly system: string,
    private readonly name: string,
    private readonly version: string | undefined,
    private explicitProvider: MeterProvider | undefined,
    private maxDestinations: number,
    private userTemplate: ((destination: string) => string | undefined) | undefined,
    private readonly log: DiagLogger,
  ) {}

  setMeterProvider(provider: MeterProvider | undefined): void {
    this.explicitProvider = provider;
    this.current = undefined;
  }

  /** New destination options (setConfig): the caches start over. */
  setDestinationOptions(maxDestinations: number, userTemplate: ((destination: string) => string | undefined) | undefined): void {
    this.maxDestinations = maxDestinations;
    this.userTemplate = userTemplate;
    this.resolved = new Map();
    this.resolvedCount = 0;
    this.entries = new Map();
    this.overflow = new Map();
    this.none = undefined;
  }

  /**
   * Whether recording does anything: false while no meter provider is registered (the API's no-op one), so the
   * hot path skips building attribute keys, clocks and ages. Checked on every use: a provider registered later
   * is picked up.
   */
  get active(): boolean {
    try {
      return !this.instruments.noop;
    } catch (err) {
      // A meter provider that throws records nothing (and never reaches user code).
      this.log.debug('the meter provider failed; no metrics', err);
      return false;
    }
  }

  private get instruments(): Instruments {
    const provider = this.explicitProvider ?? metrics.getMeterProvider();
    if (this.current === undefined || provider !== this.provider) {
      this.provider = provider;
      this.current = build(provider, this.name, this.version);
    }
    return this.current;
  }

  /**
   * The destination of a span as metrics see it: the user's template, else the package's, else the name;
   * nothing for an anonymous or temporary destination without a template, or for no name (`''`); `_OTHER` past
   * the cap.
   */
  destination(name: string, template: string | undefined, anonymous: boolean | undefined, temporary: boolean | undefined): ResolvedDestination {
    const hidden = anonymous === true || temporary === true;
    // By name, then by hiddenness and template: no key string is built per span.
    let variants = this.resolved.get(name);
    const byTemplate = hidden ? variants?.hidden : variants?.shown;
    let resolved = template === undefined ? byTemplate?.none : byTemplate?.byTemplate?.get(template);
    if (resolved !== undefined) return resolved;
    let effective = template;
    if (this.userTemplate !== undefined) {
      try {
        const answer = this.userTemplate(name);
        if (typeof answer === 'string' && answer !== '') effective = answer;
      } catch (err) {
        this.log.error('the destinationTemplate option threw; the package template (or the name) is used', err);
      }
    }
    const spanTemplate = effective !== undefined && effective !== name ? effective : undefined;
    let entry: DestinationEntry;
    if (spanTemplate !== undefined) entry = this.entry(ATTR_MESSAGING_DESTINATION_TEMPLATE, spanTemplate);
    else if (hidden || name === '') entry = this.none ??= newEntry({ [ATTR_MESSAGING_SYSTEM]: this.system });
    else entry = this.entry(ATTR_MESSAGING_DESTINATION_NAME, name);
    resolved = { template: spanTemplate, entry };
    if (this.resolvedCount < MAX_RESOLVED_DESTINATIONS) {
      if (variants === undefined) this.resolved.set(name, (variants = {}));
      const into = hidden ? (variants.hidden ??= {}) : (variants.shown ??= {});
      if (template === undefined) into.none = resolved;
      else (into.byTemplate ??= new Map()).set(template, resolved);
      this.resolvedCount++;
    }
    return resolved;
  }

  private entry(key: string, value: string): DestinationEntry {
    const id = key === ATTR_MESSAGING_DESTINATION_NAME ? 'n' + value : 't' + value;
    let entry = this.entries.get(id);
    if (entry !== undefined) return entry;
    if (this.entries.size >= this.maxDestinations) {
      entry = this.overflow.get(key);
      if (entry === undefined) {
        entry = newEntry({ [ATTR_MESSAGING_SYSTEM]: this.system, [key]: METRIC_DESTINATION_OVERFLOW });
        this.overflow.set(key, entry);
        this.log.warn(
          `more than ${this.maxDestinations} distinct destinations reached metrics; the rest are recorded as "${METRIC_DESTINATION_OVERFLOW}" ` +
            '(raise maxMetricDestinations, or name their pattern with the destinationTemplate option)',
        );
      }
      return entry;
    }
    entry = newEntry({ [ATTR_MESSAGING_SYSTEM]: this.system, [key]: value });
    this.entries.set(id, entry);
    return entry;
  }

  /** The attribute sets of a destination with a span's `metricAttributes` (cached by the object's identity). */
  scope(destination: ResolvedDestination, metricAttributes: Attributes | undefined): MetricScope {
    const entry = destination.entry;
    if (metricAttributes === undefined) return (entry.plain ??= new MetricScope(entry.attributes, undefined));
    let scope = entry.byMetricAttributes.get(metricAttributes);
    if (scope === undefined) {
      scope = new MetricScope(entry.attributes, metricAttributes);
      entry.byMetricAttributes.set(metricAttributes, scope);
    }
    return scope;
  }

  /** `type`, or `_OTHER` once MAX_METRIC_ERROR_TYPES distinct values have been recorded (said once). */
  private bounded(type: string | undefined): string | undefined {
    if (type === undefined || this.errorTypes.has(type)) return type;
    if (this.errorTypes.size < MAX_METRIC_ERROR_TYPES) {
      this.errorTypes.add(type);
      return type;
    }
    if (!this.errorTypesWarned) {
      this.errorTypesWarned = true;
      this.log.warn(`more than ${MAX_METRIC_ERROR_TYPES} distinct error.type values reached metrics; the rest are recorded as "${ERROR_TYPE_VALUE_OTHER}" (spans keep theirs)`);
    }
    return ERROR_TYPE_VALUE_OTHER;
  }

  /** `messaging.client.operation.duration` or, for process operations, `messaging.process.duration`. */
  duration(scope: MetricScope, process: boolean, operationName: string, operationType: string | undefined, durationMs: number, type: string | undefined): void {
    try {
      const errorType = this.bounded(type);
      const seconds = (durationMs > 0 ? durationMs : 0) / 1000;
      const m = this.instruments;
      if (process) {
        const attributes = scope.set('p/' + operationName + '/' + (errorType ?? ''), scope.consumerBase, ATTR_MESSAGING_OPERATION_NAME, operationName, ATTR_ERROR_TYPE, errorType);
        m.processDuration.record(seconds, attributes);
      } else {
        const attributes = scope.set(
          'o/' + operationName + '/' + (operationType ?? '') + '/' + (errorType ?? ''),
          scope.consumerBase,
          ATTR_MESSAGING_OPERATION_NAME,
          operationName,
          ATTR_MESSAGING_OPERATION_TYPE,
          operationType,
          ATTR_ERROR_TYPE,
          errorType,
        );
        m.operationDuration.record(seconds, attributes);
      }
    } catch (err) {
      this.log.debug('metric recording failed', err);
    }
  }

  /** `messaging.client.sent.messages`. */
  sent(scope: MetricScope, operationName: string, count: number, type: string | undefined): void {
    try {
      const errorType = this.bounded(type);
      const attributes = scope.set('s/' + operationName + '/' + (errorType ?? ''), scope.producerBase, ATTR_MESSAGING_OPERATION_NAME, operationName, ATTR_ERROR_TYPE, errorType);
      this.instruments.sentMessages.add(count, attributes);
    } catch (err) {
      this.log.debug('metric recording failed', err);
    }
  }

  /**
   * `messaging.client.consumed.messages` (`count` messages), and `brokertrace.consumed.messages.without_context`
   * (`withoutContext` of them) with the very same attributes.
   */
  consumed(scope: MetricScope, operationName: string, count: number, withoutContext: number): void {
    try {
      const attributes = scope.set('c/' + operationName, scope.consumerBase, ATTR_MESSAGING_OPERATION_NAME, operationName);
      const m = this.instruments;
      if (count > 0) m.consumedMessages.add(count, attributes);
      if (withoutContext > 0) m.consumedWithoutContext.add(withoutContext, attributes);
    } catch (err) {
      this.log.debug('metric recording failed', err);
    }
  }

  /** `brokertrace.message.age`: the age in ms, recorded in seconds (the one place the unit is converted). */
  age(scope: MetricScope, ageMs: number): void {
    try {
      this.instruments.messageAge.record(ageMs / 1000, scope.consumerBase);
    } catch (err) {
      this.log.debug('metric recording failed', err);
    }
  }

  /** `brokertrace.decisions`: `count` messages decided `relationship` for `reason`. */
  decisions(scope: MetricScope, relationship: Relationship, reason: DecisionReason, count: number): void {
    try {
      const attributes = scope.set(
        'd/' + relationship + '/' + reason,
        scope.consumerBase,
        ATTR_BROKERTRACE_DECISION_RELATIONSHIP,
        relationship,
        ATTR_BROKERTRACE_DECISION_REASON,
        reason,
      );
      this.instruments.decisions.add(count, attributes);
    } catch (err) {
      this.log.debug('metric recording failed', err);
    }
  }

  /** `brokertrace.context.dropped`: one context field left out of a message. */
  dropped(scope: MetricScope, field: string): void {
    try {
      this.instruments.contextDropped.add(1, scope.set('x/' + field, scope.producerBase, ATTR_BROKERTRACE_CONTEXT_FIELD, field));
    } catch (err) {
      this.log.debug('metric recording failed', err);
    }
  }
}

function newEntry(attributes: Attributes): DestinationEntry {
  return { attributes, plain: undefined, byMetricAttributes: new WeakMap() };
}

function build(provider: MeterProvider, name: string, version: string | undefined): Instruments {
  const meter = provider.getMeter(name, version);
  const consumed = meter.createCounter(METRIC_MESSAGING_CLIENT_CONSUMED_MESSAGES, {
    description: 'Number of messages that were delivered to the application.',
    unit: '{message}',
  });
  return {
    noop: consumed.constructor === NOOP_COUNTER_CLASS,
    operationDuration: meter.createHistogram(METRIC_MESSAGING_CLIENT_OPERATION_DURATION, {
      description: 'Duration of messaging operation initiated by a producer or consumer client.',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS_S },
    }),
    processDuration: meter.createHistogram(METRIC_MESSAGING_PROCESS_DURATION, {
      description: 'Duration of processing operation.',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS_S },
    }),
    sentMessages: meter.createCounter(METRIC_MESSAGING_CLIENT_SENT_MESSAGES, {
      description: 'Number of messages producer attempted to send to the broker.',
      unit: '{message}',
    }),
    consumedMessages: consumed,
    consumedWithoutContext: meter.createCounter(METRIC_BROKERTRACE_CONSUMED_WITHOUT_CONTEXT, {
      description: 'Number of delivered messages that carried no valid creation context (same attributes as messaging.client.consumed.messages).',
      unit: '{message}',
    }),
    messageAge: meter.createHistogram(METRIC_BROKERTRACE_MESSAGE_AGE, {
      description: 'Age of a message when the consumer received it (queue latency); clock skew clamped to 0.',
      unit: 's',
      advice: { explicitBucketBoundaries: AGE_BUCKETS_S },
    }),
    decisions: meter.createCounter(METRIC_BROKERTRACE_DECISIONS, {
      description: 'Child-or-link decisions, one per consumed message, by brokertrace.decision.relationship and brokertrace.decision.reason.',
      unit: '{decision}',
    }),
    contextDropped: meter.createCounter(METRIC_BROKERTRACE_CONTEXT_DROPPED, {
      description: 'Context fields left out of messages for lack of space, by brokertrace.context.field.',
      unit: '{field}',
    }),
  };
}
