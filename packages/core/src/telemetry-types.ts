// The options, start arguments and results of MessagingTelemetry's public methods: what a broker package
// passes to core and gets back. The behaviour behind them is in telemetry.ts (span lifecycle), producer.ts
// (send/create), consumer-context.ts (where a consumer span starts); shared vocabulary is in types.ts.
import type { Attributes, Context, Link, Span, SpanContext, TextMapGetter } from '@opentelemetry/api';
import type { CarrierLimits, Decision, ExistingEntries, InjectResult, MessageFacts, MessagingInstrumentationConfig, MessagingSystem, SpanStart } from './types.js';

/** Options of {@link MessagingTelemetry}. */
export interface MessagingTelemetryOptions {
  /** `messaging.system` of every span and metric. */
  system: MessagingSystem;
  /** Instrumentation scope name of the tracer and meter, e.g. `@brokertrace/kafkajs`; also core's diag namespace. */
  instrumentationName: string;
  /** Instrumentation scope version. */
  instrumentationVersion?: string;
  /** The shared options (validated here; throws {@link BrokerTraceConfigError} naming a bad one). */
  config?: MessagingInstrumentationConfig;
  /** Carrier budget for {@link MessagingTelemetry.inject}. Default `BROKER_LIMITS[system]`. */
  limits?: CarrierLimits;
  /**
   * `error.type` of a failed operation from the broker's own error codes (kafkajs protocol error types, AMQP
   * reply code names); `undefined` (or a throw) falls back to the error's class name.
   */
  errorType?: (error: unknown) => string | undefined;
  /**
   * The package's own top-level config keys: any key that is neither one of them nor a core option is rejected
   * with a {@link BrokerTraceConfigError} naming it. Without it, unknown keys are not checked.
   */
  packageOptions?: readonly string[];
}

/** What {@link MessagingTelemetry.startProcess} takes. */
export interface ProcessStart extends SpanStart {
  /** What the broker says about the message (the policy's input). */
  facts: MessageFacts;
  /** The message's headers/attributes/properties holding the creation context. */
  carrier?: unknown;
  /** Reads raw values from `carrier`; default: own properties of an object or entries of a Map. */
  getter?: TextMapGetter<unknown>;
  /** `messaging.operation.name`. Default `process`. */
  operationName?: string;
  /**
   * A per-message span inside a batch span (kafkajs `traceBatchMessage`): pass the batch span's context as
   * `parent`. Decided by the `batch` rule (a link to the creation context); not counted again in the consumed
   * and decision metrics (the batch span counted it). Default `false`.
   */
  inBatch?: boolean;
  /**
   * The message was already counted in `messaging.client.consumed.messages` by a receive span (semconv: count
   * each delivery once). Default `false`.
   */
  countedByReceive?: boolean;
}

/** What {@link MessagingTelemetry.startProcess} returns. */
export interface ProcessResult {
  /** The process span (already started). */
  span: Span;
  /** The context to run the user's handler in: the span active, the message's baggage set. */
  context: Context;
  /** The child-or-link decision and its reason. */
  decision: Decision;
}

/** What {@link MessagingTelemetry.startBatch} takes. */
export interface BatchStart extends SpanStart {
  /** `'receive'`: CLIENT `receive {dest}` of a pull API; `'process'`: CONSUMER `process {dest}` of a push batch handler. */
  operationType: 'receive' | 'process';
  /** `messaging.operation.name`. Default: the operation type (e.g. `poll`, `get`, `eachBatch`). */
  operationName?: string;
  /** The messages; one link per message with a valid creation context. */
  messages: ReadonlyArray<ConsumedMessage>;
  /** Reads raw values from each message's `carrier`. */
  getter?: TextMapGetter<unknown>;
  /**
   * The client API is a batch API (SQS `ReceiveMessage`, kafkajs `eachBatch`): `messaging.batch.message_count`
   * is set. `false` for a single-message pull API (amqplib `get`: one message or none), which SHOULD NOT set it.
   * Default `true`.
   */
  batch?: boolean;
}

/** What {@link MessagingTelemetry.startCreate} takes: one message whose `create` span stays open. */
export interface CreateStart extends SpanStart {
  /** The message; its `attributes` go on the create span, its `limits` bound the injection. */
  message: OutgoingMessage;
}

/** What {@link MessagingTelemetry.startCreate} returns. */
export interface CreateResult {
  /**
   * The open `create` span (PRODUCER); end it with `telemetry.end(span, error?)` when the broker answered for
   * the message. Non-recording when the message kept its own context (or tracing is suppressed).
   */
  span: Span;
  /** The caller's context with the create span active. */
  context: Context;
  /** The entries to add to the message (as in {@link SendResult.injections}); `undefined`: leave it as it is. */
  injection: InjectResult | undefined;
  /** The context the message already carried and keeps (`existingContext: 'keep'`): link the send span to it. */
  kept: SpanContext | undefined;
}

/** What {@link MessagingTelemetry.startSettle} takes. */
export interface SettleStart extends SpanStart {
  /** `messaging.operation.name`: `ack`, `nack`, `reject`, `complete`, `abandon`, `dead_letter`, `delete`, `commit`... */
  operationName: string;
  /** The settle API settles several messages at once (`ackAll`, `allUpTo`, a commit): sets `messaging.batch.message_count`. */
  batch?: boolean;
  /** How many messages a batch settle settles (`messaging.batch.message_count`, only with `batch`). */
  messageCount?: number;
}

/** One message of a publish call, as the caller built it. */
export interface OutgoingMessage {
  /** Its headers/attributes/properties as they are (only read). */
  existing: ExistingEntries;
  /** Budget for this message's context, when it differs from the telemetry's (e.g. the Kafka record size). */
  limits?: CarrierLimits;
  /** Reads raw values out of `existing` to find a context it already carries; default: own properties or Map entries. */
  getter?: TextMapGetter<unknown>;
  /** Attributes of this message's `create` span (e.g. `messaging.kafka.message.key`). */
  attributes?: Attributes;
}

/** What {@link MessagingTelemetry.startSend} takes. */
export interface SendStart extends SpanStart {
  /** `messaging.operation.name`. Default `send` (e.g. `publish` for Pub/Sub). */
  operationName?: string;
  /**
   * The client API sends several messages (kafkajs `send` / `sendBatch`, SQS `SendMessageBatch`): sets
   * `messaging.batch.message_count` (even for one message) and, with `createSpans`, a `create` span per message.
   * Default `false`.
   */
  batch?: boolean;
  /** The messages of this call, in order; `injections` answers for each. */
  messages?: ReadonlyArray<OutgoingMessage>;
  /**
   * How many messages the call sends when the package does not hand them over (`messages` absent), e.g. a
   * batch RPC whose messages got their context earlier through {@link MessagingTelemetry.startCreate}: sets
   * `messaging.batch.message_count` (with `batch`) and is counted in `messaging.client.sent.messages`. The send
   * span is then CLIENT (no message carries its context). Ignored when `messages` is given.
   */
  messageCount?: number;
  /**
   * Extra links handed to the tracer at start, after the ones computed here (create spans, kept contexts), e.g.
   * the create spans a package started earlier.
   */
  links?: ReadonlyArray<Link>;
  /**
   * `false`: the create spans stay open and are returned in {@link SendResult.creates}; the package ends each
   * with `telemetry.end(span, error?)` once the broker answered for that message (SQS `SendMessageBatch`
   * answers per entry). Default `true`: each create span ends right after its context was injected.
   */
  endCreates?: boolean;
  /**
   * Called with each message's `create` span, after its start and before its end (the place for a package's
   * per-message hook). A throwing callback is logged and ignored.
   */
  onCreate?: (span: Span, index: number) => void;
}

/** What {@link MessagingTelemetry.startSend} returns. */
export interface SendResult {
  /** The send span (already started); end it with `telemetry.end(span, error?)` when the broker answered. */
  span: Span;
  /** The caller's context with the send span active (run the client call in it). */
  context: Context;
  /**
   * One entry per message: the context entries to add (a key the message has is replaced), or `undefined` to
   * leave the message's headers as they are (it kept its own context, or there is nothing to add).
   */
  injections: Array<InjectResult | undefined>;
  /**
   * Only with `endCreates: false`: message i's open `create` span, `undefined` where the message has none (it
   * kept its own context, or no create spans were made). End each with `telemetry.end(span, error?)`.
   */
  creates?: Array<Span | undefined>;
}

/** One consumed message: what the broker says about it, and where its creation context travels. */
export interface ConsumedMessage {
  /** What the broker says about the message (the policy's input). */
  facts: MessageFacts;
  /** The message's headers/attributes/properties holding the creation context. */
  carrier?: unknown;
  /**
   * A receive span already counted it (consumed, decision, age), e.g. a traced client's pull that handed it over:
   * a batch process span over it then counts it no second time (each delivery counted once). Default `false`.
   */
  countedByReceive?: boolean;
}
