// The public vocabulary of @brokertrace/core: every broker package and every user sees these names.
import type { Attributes, Context, MeterProvider, Span, SpanContext, TracerProvider } from '@opentelemetry/api';

/** `messaging.system` values of the brokers this suite covers. */
export type MessagingSystem = 'kafka' | 'rabbitmq' | 'aws_sqs' | 'gcp_pubsub' | 'servicebus';

/** Size budget of the place a broker keeps message metadata (headers, properties, attributes). */
export interface CarrierLimits {
  /** Most entries a message may hold, counting those it already has. */
  maxEntries?: number;
  /** Most UTF-8 bytes in one key. */
  maxKeyBytes?: number;
  /** Most UTF-8 bytes in one value. */
  maxValueBytes?: number;
  /** Most bytes of all keys and values together, counting those the message already has. */
  maxTotalBytes?: number;
  /**
   * Bytes each entry costs on top of its key and value toward `maxTotalBytes` (SQS counts the DataType,
   * AMQP tables a type tag and length prefixes). Default 0.
   */
  entryOverheadBytes?: number;
  /**
   * Whether the broker takes this entry at all (SQS: attribute names of `[A-Za-z0-9_.-]` only, no `AWS.` prefix,
   * no empty value). Asked before a field is placed, with the value as it would be written: a refused field
   * takes no room and is dropped like one that does not fit (`dropped`, attribute, counter, warning); a
   * `traceparent` refused takes its `tracestate` with it. A throwing function refuses. Default: every entry.
   */
  acceptsEntry?: (key: string, value: string) => boolean;
}

/**
 * What a message already holds, before we add anything: its headers/attributes object as the caller built it.
 * Core sizes each value (string, Buffer, Uint8Array, number, arrays, AMQP typed `{'!': type, value}`,
 * SQS `{ DataType, StringValue | BinaryValue }`); it is only read, never written.
 */
export type ExistingEntries = Readonly<Record<string, unknown>> | ReadonlyMap<string, unknown> | undefined | null;

/** Result of {@link injectContext}. */
export interface InjectResult {
  /** New string entries to add to the message (key -> value); keys the message had are to be replaced. */
  fields: Record<string, string>;
  /**
   * What did not fit: a whole field by its key (`'baggage'`), or a part of one as `key:part`
   * (`'tracestate:vendor'`, `'baggage:member'`). Empty when everything fit.
   */
  dropped: string[];
}

/** Whether a consumer span continues the producer's trace or links to it. */
export type Relationship = 'child' | 'link';

/** Why {@link decideRelationship} chose what it chose, in the order the rules are tried. */
export type DecisionReason =
  | 'no-context'
  | 'custom'
  | 'forced'
  | 'batch'
  | 'stale'
  | 'redelivered'
  | 'duplicate'
  | 'fresh';

/** Facts a broker package reads from the broker's own metadata; `undefined` where the broker does not say. */
export interface MessageFacts {
  /** Destination (topic, queue, exchange:routing key) for per-destination policy overrides. */
  destination?: string;
  /** Identity used for duplicate detection (message id, or key+partition+offset). */
  messageId?: string;
  /**
   * The consumer that received it (Kafka group, Pub/Sub subscription), when one destination feeds several
   * consumers in one process: duplicate detection is per destination and consumer.
   */
  consumer?: string;
  /** When the broker accepted the message, in milliseconds since the epoch. */
  enqueuedAtMs?: number;
  /** How many times this message has been delivered, 1 on its first delivery. */
  deliveryCount?: number;
  /** The message was replayed from a dead-letter queue or re-routed through a dead-letter exchange. */
  replayedFromDeadLetter?: boolean;
  /** The span is a batch span (receive, eachBatch): it links to every message, never takes one as parent. */
  batch?: boolean;
  /**
   * `messageId` is made up by the package (e.g. Kafka `topic/partition/offset`): used for duplicate detection,
   * never reported as `messaging.message.id`. Default `false`.
   */
  syntheticId?: boolean;
  /**
   * Per-message attributes for the link a batch span keeps to this message, e.g. `messaging.kafka.offset` and
   * `messaging.destination.partition.id` (core adds delivery count, age and message id). A single message's
   * process span records them on itself (when it records), and its link carries none.
   */
  linkAttributes?: Attributes;
}

/** What {@link decideRelationship} returns. */
export interface Decision {
  relationship: Relationship;
  reason: DecisionReason;
  /** Message age at decision time in ms (clock skew clamped to 0), when the enqueue time is known. */
  ageMs: number | undefined;
}

/** A user's last word on one message: return a relationship to decide, `undefined` to let the policy go on. */
export type RelationshipCallback = (facts: Readonly<MessageFacts>, creationContext: SpanContext) => Relationship | undefined;

/** The child-or-link options that can be set per instrumentation and per destination. */
export interface PolicyOptions {
  /** `auto` applies the rules of DESIGN.md "Core job 3"; `child` and `link` force one answer. Default `'auto'`. */
  mode?: 'auto' | Relationship;
  /** Messages older than this are linked (`stale`). Default 300000 (5 minutes). 0 links every message of known age > 0. */
  maxChildAgeMs?: number;
  /** Deliveries above this count are linked (`redelivered`). Default 3. */
  maxChildDeliveries?: number;
  /**
   * Window of message ids seen by this process; a message id seen again within it is linked (`duplicate`).
   * Default `{ maxEntries: 10000, ttlMs: 600000 }`; `false` turns duplicate detection off.
   */
  duplicateWindow?: { maxEntries?: number; ttlMs?: number } | false;
  /** Called before the automatic rules (after `no-context`); its answer wins with reason `custom`. */
  decide?: RelationshipCallback;
}

/** The child-or-link policy: options, with overrides by destination name (exact match). */
export interface RelationshipPolicy extends PolicyOptions {
  destinations?: Readonly<Record<string, PolicyOptions>>;
}

/** A hook that adds attributes to a span; a throwing hook is logged through `diag` and ignored. */
export type SpanHook<Info> = (span: Span, info: Info) => void;

/** Options every broker package accepts (each package extends this with its own). */
export interface MessagingInstrumentationConfig {
  /** The child-or-link policy for consumer spans. Default: `auto` with the defaults of {@link PolicyOptions}. */
  policy?: RelationshipPolicy;
  /** Destinations to leave untraced: names, patterns, or a predicate. Default: none. */
  ignoreDestinations?: ReadonlyArray<string | RegExp> | ((destination: string) => boolean);
  /** A `create` span per message of a multi-message send. Default `true`; `false` puts the send span's context in every message. */
  createSpans?: boolean;
  /**
   * Baggage keys allowed to travel (on inject and on extract). Default: all keys.
   * An empty list keeps baggage out of messages entirely.
   */
  baggageAllowList?: ReadonlyArray<string | RegExp>;
  /**
   * A consumer trace that starts new because of a link follows the creation context's sampled flag (see
   * `LinkSamplingSampler`). Default `true`.
   */
  followCreationSampling?: boolean;
  /**
   * Trust no sampled flag that arrives in messages (for destinations fed by untrusted producers): the flag is
   * cleared. With a `ParentBasedSampler`, child consumer spans then fall under its `remoteParentNotSampled`
   * rule (default: never sample): set that rule to your root sampler. Default `false`.
   */
  ignoreIncomingSampledFlag?: boolean;
  /** Tracer provider to use instead of the global one. */
  tracerProvider?: TracerProvider;
  /** Meter provider to use instead of the global one. */
  meterProvider?: MeterProvider;
  /**
   * A message that already carries a valid trace context when it is sent: `'keep'` (the messaging conventions'
   * rule: its context is the creation context; no create span; the send span links to it) or `'replace'` (our
   * span's context overwrites it, e.g. when producers forward consumed messages with their old headers).
   * Default `'keep'`.
   */
  existingContext?: 'keep' | 'replace';
  /**
   * Low-cardinality name of a destination for metrics (`messaging.destination.template`), e.g.
   * `d => d.startsWith('orders.') ? 'orders.{id}' : undefined`. Its answer wins over the package's own template;
   * `undefined` leaves the package's choice. A throwing callback is logged and ignored.
   */
  destinationTemplate?: (destination: string) => string | undefined;
  /**
   * Most distinct destination values (names or templates) reaching metrics from this instrumentation; the rest
   * are recorded as `_OTHER`, so a producer inventing routing keys cannot grow the metric series without bound.
   * Default 100.
   */
  maxMetricDestinations?: number;
}

/** What every `start*` method of `MessagingTelemetry` takes. */
export interface SpanStart {
  /** Destination name (topic, queue, `exchange:routing key`); the span is named `{operation} {destination}`. */
  destination: string;
  /** Extra span attributes set when the span starts (so samplers see them). Never on metrics. */
  attributes?: Attributes;
  /**
   * Span attributes no sampler needs (message ids, delivery tags, offsets, keys, peer addresses), set right after
   * the start and only when the span records: for a span that is not sampled, they cost nothing (pass a function
   * to build them only then). Samplers and `onStart` of span processors do not see them. Never on metrics.
   */
  recordedAttributes?: Attributes | (() => Attributes);
  /**
   * Low-cardinality attributes that belong on the span AND on its metrics: `messaging.consumer.group.name`,
   * `messaging.destination.subscription.name`, `server.address`, `server.port`, `messaging.destination.partition.id`.
   * Each metric keeps only the keys its convention lists. Build the object once per client/consumer and pass
   * the same object every time: core caches the metric attribute sets by its identity.
   */
  metricAttributes?: Attributes;
  /**
   * Low-cardinality name of the destination (e.g. the exchange for a RabbitMQ publish, `amq.gen-{id}`): used by
   * metrics instead of the name, and set as `messaging.destination.template` on the span when it differs from
   * the name. The user's `destinationTemplate` option overrides it.
   */
  destinationTemplate?: string;
  /** The destination is anonymous (server-named): `messaging.destination.anonymous`; its name stays out of the span name and metrics. */
  anonymous?: boolean;
  /** The destination is temporary (exclusive, auto-delete, reply-to): `messaging.destination.temporary`; its name stays out of the span name and metrics. */
  temporary?: boolean;
  /**
   * Context to start under. Producer and settle spans: default the active context. Consumer spans
   * (`startProcess`, `startBatch`): the ambient context the package knows to be legitimate, default ROOT_CONTEXT.
   */
  parent?: Context;
  /** When the operation began, from `telemetry.now()` (e.g. a receive span started after the response). Default: now. */
  startTime?: number;
}
