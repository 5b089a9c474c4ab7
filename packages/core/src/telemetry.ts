import {
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  context,
  createContextKey,
  diag,
  isSpanContextValid,
  propagation,
  trace,
} from '@opentelemetry/api';
import type {
  Attributes,
  Baggage,
  BaggageEntry,
  Context,
  Link,
  MeterProvider,
  Span,
  SpanContext,
  TextMapGetter,
  Tracer,
  TracerProvider,
} from '@opentelemetry/api';
import { resolveConfig } from './config.js';
import type { ResolvedConfig } from './config.js';
import { extractContext } from './extract.js';
import { injectContext } from './inject.js';
import { BROKER_LIMITS } from './limits.js';
import { MetricsRecorder } from './metrics.js';
import { decideRelationship, messageAgeMs } from './policy.js';
import type { ResolvedPolicy } from './policy.js';
import {
  ATTR_BROKERTRACE_CONTEXT_DROPPED,
  ATTR_BROKERTRACE_CONTEXT_FIELD,
  ATTR_BROKERTRACE_CONTEXT_VALID,
  ATTR_BROKERTRACE_DECISION,
  ATTR_BROKERTRACE_DECISION_REASON,
  ATTR_BROKERTRACE_LINK_FOLLOW_SAMPLING,
  ATTR_BROKERTRACE_MESSAGE_AGE_MS,
  ATTR_BROKERTRACE_MESSAGE_DELIVERY_COUNT,
  ATTR_ERROR_TYPE,
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  ERROR_TYPE_VALUE_OTHER,
} from './semconv.js';
import type {
  CarrierLimits,
  Decision,
  ExistingEntries,
  InjectResult,
  MessageFacts,
  MessagingInstrumentationConfig,
  MessagingSystem,
  SpanHook,
  SpanStart,
} from './types.js';

/** Options of {@link MessagingTelemetry}. */
export interface MessagingTelemetryOptions {
  /** `messaging.system` of every span and metric. */
  system: MessagingSystem;
  /** Instrumentation scope name of the tracer and meter, e.g. `@brokertrace/kafkajs`. */
  instrumentationName: string;
  /** Instrumentation scope version. */
  instrumentationVersion?: string;
  /** The shared options (validated here; throws {@link BrokerTraceConfigError} naming a bad one). */
  config?: MessagingInstrumentationConfig;
  /** Carrier budget for {@link MessagingTelemetry.inject}. Default `BROKER_LIMITS[system]`. */
  limits?: CarrierLimits;
}

/** What {@link MessagingTelemetry.startSend} takes. */
export interface SendStart extends SpanStart {
  /** Messages in this publish call. >1 makes it a batch (`messaging.batch.message_count`; CLIENT kind when create spans are on). */
  messageCount?: number;
  /** `messaging.operation.name`. Default `send` (e.g. `publish` for Pub/Sub). */
  operationName?: string;
  /**
   * The creation contexts injected into the messages (their create spans): the send span links to each, as the
   * messaging conventions ask. Handed to the tracer at start, so samplers see them.
   */
  links?: Link[];
}

/** What {@link MessagingTelemetry.startProcess} takes. */
export interface ProcessStart extends SpanStart {
  /** What the broker says about the message (the policy's input). */
  facts: MessageFacts;
  /** The message's headers/attributes/properties holding the creation context. */
  carrier?: unknown;
  /** Reads raw values from `carrier`; default: own properties of an object or entries of a Map. */
  getter?: TextMapGetter<unknown>;
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

/** One message of a receive (batch) span. */
export interface ReceivedMessage {
  facts: MessageFacts;
  carrier?: unknown;
}

/** What {@link MessagingTelemetry.startReceive} takes. */
export interface ReceiveStart extends SpanStart {
  /** Messages received; one link per message with a valid creation context. */
  messages: ReadonlyArray<ReceivedMessage>;
  /** `messaging.operation.name`. Default `receive` (e.g. `poll`, `get`, `eachBatch`). */
  operationName?: string;
  /** Reads raw values from each message's `carrier`. */
  getter?: TextMapGetter<unknown>;
}

/** What {@link MessagingTelemetry.startSettle} takes. */
export interface SettleStart extends SpanStart {
  /** `messaging.operation.name`: `ack`, `nack`, `reject`, `complete`, `abandon`, `dead_letter`, `delete`, `commit`... */
  operationName: string;
}

enum Op {
  Create,
  Send,
  Receive,
  Process,
  Settle,
}

/** What end() needs to record the metrics of a span. */
interface SpanState {
  op: Op;
  operationName: string;
  destination: string;
  startMs: number;
  messageCount: number;
  ended: boolean;
}

/** Where a span we started keeps its {@link SpanState} (a symbol: invisible to exporters and user code). */
const SPAN_STATE = Symbol('brokertrace.spanState');
type TrackedSpan = Span & { [SPAN_STATE]?: SpanState };

/** Pre-built metric attribute sets of one destination (metric attributes are the same for most messages). */
interface DestinationAttributes {
  base: Attributes;
  consumed: Map<string, Attributes>;
  decisions: Map<string, Attributes>;
  operations: Map<string, Attributes>;
}

// @opentelemetry/core's suppressTracing() key (createContextKey uses Symbol.for, so this is the same key).
const SUPPRESS_TRACING_KEY = createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING');
const MAX_CACHED_DESTINATIONS = 1000;
const NON_RECORDING_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
const SUPPRESSED_DECISION: Decision = Object.freeze({ relationship: 'child', reason: 'no-context', ageMs: undefined });

function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

function spanName(operationName: string, destination: string): string {
  return destination === '' ? operationName : operationName + ' ' + destination;
}

/**
 * `error.type`: the error's class name (low cardinality), `_OTHER` for thrown non-errors. Never throws, even for
 * an error whose `name` getter throws or a revoked Proxy (user code may throw anything).
 */
export function errorType(error: unknown): string {
  try {
    if (error instanceof Error) {
      const name = error.name;
      if (typeof name === 'string' && name !== '' && name !== 'Error') return name;
      const ctor = error.constructor?.name;
      return typeof ctor === 'string' && ctor !== '' ? ctor : 'Error';
    }
  } catch {
    // A hostile error object: fall through to the generic value.
  }
  return ERROR_TYPE_VALUE_OTHER;
}

/**
 * The span and metrics machinery every broker package uses; create one per instrumentation. Starts
 * send/create/receive/process/settle spans with the messaging semconv attributes, applies the child-or-link
 * policy, injects within the broker's limits, ends spans on every path and records the metrics.
 * Never throws into user code once constructed (the constructor throws on bad configuration).
 *
 * @example
 * const telemetry = new MessagingTelemetry({ system: 'kafka', instrumentationName: '@brokertrace/kafkajs', config });
 * const span = telemetry.startSend({ destination: topic, messageCount: messages.length });
 * const { fields } = telemetry.inject(span, message.headers);
 * return telemetry.run(span, () => producer.send({ topic, messages: withHeaders(messages, fields) }));
 */
export class MessagingTelemetry {
  readonly system: MessagingSystem;
  readonly limits: CarrierLimits;
  private resolved: ResolvedConfig;
  private tracer: Tracer;
  private readonly metrics: MetricsRecorder;
  private readonly states = new WeakMap<Span, SpanState>();
  private readonly endedForeign = new WeakSet<Span>();
  private readonly warnedDestinations = new Set<string>();
  private destinationAttributes = new Map<string, DestinationAttributes>();

  constructor(private readonly options: MessagingTelemetryOptions) {
    this.system = options.system;
    this.limits = options.limits ?? BROKER_LIMITS[options.system];
    this.resolved = resolveConfig(options.config);
    this.tracer = this.makeTracer(this.resolved.config.tracerProvider);
    this.metrics = new MetricsRecorder(options.instrumentationName, options.instrumentationVersion, this.resolved.config.meterProvider);
  }

  /** The validated configuration in effect. */
  get config(): MessagingInstrumentationConfig {
    return this.resolved.config;
  }

  /** The resolved child-or-link policy (owns the duplicate window). */
  get policy(): ResolvedPolicy {
    return this.resolved.policy;
  }

  /** Whether multi-message sends get a `create` span per message (`config.createSpans`, default true). */
  get createSpans(): boolean {
    return this.resolved.createSpans;
  }

  /** Replaces the configuration; validates it first (throws {@link BrokerTraceConfigError}, keeping the old one). */
  setConfig(config: MessagingInstrumentationConfig | undefined): void {
    const resolved = resolveConfig(config);
    this.resolved = resolved;
    this.tracer = this.makeTracer(resolved.config.tracerProvider);
    this.metrics.setMeterProvider(resolved.config.meterProvider);
  }

  /** Uses this tracer provider from now on (InstrumentationBase.setTracerProvider). */
  setTracerProvider(provider: TracerProvider): void {
    this.tracer = this.makeTracer(provider);
  }

  /** Uses this meter provider from now on (InstrumentationBase.setMeterProvider). */
  setMeterProvider(provider: MeterProvider): void {
    this.metrics.setMeterProvider(provider);
  }

  /** True when the destination is listed (or matched, or the predicate says so) in `ignoreDestinations`. */
  isIgnored(destination: string): boolean {
    const r = this.resolved;
    if (r.ignoredNames.has(destination)) return true;
    for (let i = 0; i < r.ignoredPatterns.length; i++) if (r.ignoredPatterns[i]!.test(destination)) return true;
    if (r.ignorePredicate !== undefined) {
      try {
        return r.ignorePredicate(destination) === true;
      } catch (err) {
        diag.error('brokertrace: the ignoreDestinations predicate threw; the destination is traced', err);
      }
    }
    return false;
  }

  /** Starts `send {destination}`: PRODUCER, or CLIENT when it sends several messages that get create spans. */
  startSend(s: SendStart): Span {
    const count = s.messageCount;
    const kind = this.resolved.createSpans && count !== undefined && count > 1 ? SpanKind.CLIENT : SpanKind.PRODUCER;
    return this.startOperation(s, Op.Send, s.operationName ?? 'send', 'send', kind, count, s.links);
  }

  /** Starts `create {destination}` (PRODUCER), one per message of a multi-message send. */
  startCreate(s: SpanStart): Span {
    return this.startOperation(s, Op.Create, 'create', 'create', SpanKind.PRODUCER, undefined, undefined);
  }

  /** Starts a settle span such as `ack {destination}` (CLIENT, `messaging.operation.type` `settle`). */
  startSettle(s: SettleStart): Span {
    return this.startOperation(s, Op.Settle, s.operationName, 'settle', SpanKind.CLIENT, undefined, undefined);
  }

  /**
   * Computes the context entries for one message with `span` as its creation context, within `limits`
   * (default: the telemetry's), given what the message already holds. Drops are recorded on the span
   * (`brokertrace.context.dropped`), counted, and warned about once per destination. Never mutates `existing`.
   */
  inject(span: Span, existing: ExistingEntries, limits: CarrierLimits = this.limits): InjectResult {
    let ctx = trace.setSpan(context.active(), span);
    if (this.resolved.baggageAllowList !== undefined) ctx = this.filterBaggage(ctx);
    const result = injectContext(ctx, existing, limits);
    if (result.dropped.length > 0) this.recordDropped(span, result.dropped);
    return result;
  }

  /**
   * Starts `process {destination}` (CONSUMER) for one message handed to user code: extracts its creation
   * context, decides child or link by the policy, and starts the span as a child of it, or linked to it under
   * the ambient span (or as a root); with `child`, an ambient span is kept as a link. Records the decision,
   * reason, age and delivery count. Run the handler in the returned `context`.
   */
  startProcess(s: ProcessStart): ProcessResult {
    const parent = s.parent ?? context.active();
    // Suppressed: no span, so no decision either (and nothing recorded in the duplicate window).
    if (parent.getValue(SUPPRESS_TRACING_KEY) === true) return { span: NON_RECORDING_SPAN, context: parent, decision: SUPPRESSED_DECISION };
    const destination = s.destination;
    const facts = s.facts.destination === undefined ? { ...s.facts, destination } : s.facts;
    let extracted: Context | undefined;
    let creation: SpanContext | undefined;
    if (s.carrier !== undefined && s.carrier !== null) {
      extracted = extractContext(s.carrier, s.getter, ROOT_CONTEXT);
      creation = this.trustedSpanContext(trace.getSpanContext(extracted));
    }
    const now = Date.now();
    const decision = decideRelationship(facts, creation, this.resolved.policy, now);

    let base = parent;
    let links: Link[] | undefined;
    if (decision.relationship === 'child' && creation !== undefined) {
      const ambient = trace.getSpanContext(parent);
      if (ambient !== undefined && isSpanContextValid(ambient)) links = [{ context: ambient }];
      base = trace.setSpanContext(parent, creation);
    } else if (creation !== undefined) {
      links = [{ context: creation, attributes: this.linkAttributes(facts, decision.ageMs) }];
    }
    if (extracted !== undefined) {
      const bag = propagation.getBaggage(extracted);
      if (bag !== undefined) base = this.filterBaggage(propagation.setBaggage(base, bag));
    }

    const attributes: Attributes = {
      [ATTR_MESSAGING_SYSTEM]: this.system,
      [ATTR_MESSAGING_OPERATION_NAME]: 'process',
      [ATTR_MESSAGING_OPERATION_TYPE]: 'process',
      [ATTR_MESSAGING_DESTINATION_NAME]: destination,
      [ATTR_BROKERTRACE_DECISION]: decision.relationship,
      [ATTR_BROKERTRACE_DECISION_REASON]: decision.reason,
    };
    if (decision.ageMs !== undefined) attributes[ATTR_BROKERTRACE_MESSAGE_AGE_MS] = decision.ageMs;
    if (facts.deliveryCount !== undefined) attributes[ATTR_BROKERTRACE_MESSAGE_DELIVERY_COUNT] = facts.deliveryCount;
    copyAttributes(attributes, s.attributes);
    const span = this.startSpan(spanName('process', destination), SpanKind.CONSUMER, attributes, links, base, s.startTime);
    this.track(span, Op.Process, 'process', destination, s.startTime, 1);

    try {
      const m = this.metrics.instruments;
      const attrs = this.attributesOf(destination);
      m.decisions.add(1, cached(attrs.decisions, decision.relationship + '/' + decision.reason, attrs.base, {
        [ATTR_BROKERTRACE_DECISION]: decision.relationship,
        [ATTR_BROKERTRACE_DECISION_REASON]: decision.reason,
      }));
      if (s.countedByReceive !== true) this.recordConsumed(attrs, 'process', 1, creation !== undefined, decision.ageMs);
    } catch (err) {
      diag.debug('brokertrace: metric recording failed', err);
    }
    return { span, context: trace.setSpan(base, span), decision };
  }

  /**
   * Starts `receive {destination}` (CLIENT) for a pull or batch API, with one link per message that carries a
   * valid creation context (message id, delivery count and age on the link). Pass `startTime` when the span is
   * started after the messages arrived.
   */
  startReceive(s: ReceiveStart): { span: Span; context: Context } {
    const parent = s.parent ?? context.active();
    const destination = s.destination;
    const operationName = s.operationName ?? 'receive';
    if (parent.getValue(SUPPRESS_TRACING_KEY) === true) return { span: NON_RECORDING_SPAN, context: parent };
    const now = Date.now();
    const messages = s.messages;
    const links: Link[] = [];
    const attrs = this.attributesOf(destination);
    const m = this.metrics.instruments;
    let valid = 0;
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i]!;
      const ageMs = messageAgeMs(message.facts.enqueuedAtMs, now);
      let creation: SpanContext | undefined;
      if (message.carrier !== undefined && message.carrier !== null) {
        creation = this.trustedSpanContext(trace.getSpanContext(extractContext(message.carrier, s.getter, ROOT_CONTEXT)));
      }
      if (creation !== undefined) {
        valid++;
        links.push({ context: creation, attributes: this.linkAttributes(message.facts, ageMs) });
      }
      if (ageMs !== undefined) safeRecord(m.messageAge, ageMs, attrs.base);
    }
    try {
      if (valid > 0) m.consumedMessages.add(valid, this.consumedAttributes(attrs, operationName, true));
      if (messages.length > valid) m.consumedMessages.add(messages.length - valid, this.consumedAttributes(attrs, operationName, false));
      if (valid > 0) m.decisions.add(valid, cached(attrs.decisions, 'link/batch', attrs.base, { [ATTR_BROKERTRACE_DECISION]: 'link', [ATTR_BROKERTRACE_DECISION_REASON]: 'batch' }));
    } catch (err) {
      diag.debug('brokertrace: metric recording failed', err);
    }
    const span = this.startOperation(s, Op.Receive, operationName, 'receive', SpanKind.CLIENT, messages.length === 1 ? undefined : messages.length, links, parent);
    return { span, context: trace.setSpan(parent, span) };
  }

  /**
   * Ends a span once (later calls do nothing). With `error`: `error.type`, ERROR status and the exception event.
   * Records the duration metric of the operation (and the sent-messages count for send spans).
   */
  end(span: Span, error?: unknown): void {
    const state = this.stateOf(span);
    if (state === undefined) {
      if (this.endedForeign.has(span)) return;
      this.endedForeign.add(span);
    } else {
      if (state.ended) return;
      state.ended = true;
    }
    const failed = error !== undefined;
    const type = failed ? errorType(error) : undefined;
    try {
      if (failed && span.isRecording()) {
        span.setAttribute(ATTR_ERROR_TYPE, type!);
        if (isError(error)) {
          span.recordException(error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: String(error.message) });
        } else {
          span.setStatus({ code: SpanStatusCode.ERROR, message: typeof error === 'string' ? error : errorType(error) });
        }
      }
    } catch (err) {
      diag.debug('brokertrace: recording an error on a span failed', err);
    }
    // Ended even when recording the error failed (a hostile error object): no span is ever left open.
    try {
      span.end();
    } catch (err) {
      diag.debug('brokertrace: ending a span failed', err);
    }
    if (state !== undefined) this.recordDuration(state, type);
  }

  /**
   * Runs `fn` with `span` active (or in `ctx`), ends the span when `fn` returns or throws or, for a promise,
   * when it settles; errors are recorded and rethrown unchanged, and the very value (or promise) `fn` returned
   * is returned.
   */
  run<T>(span: Span, fn: () => T, ctx?: Context): T {
    let result: T;
    try {
      result = context.with(ctx ?? trace.setSpan(context.active(), span), fn);
    } catch (err) {
      this.end(span, err);
      throw err;
    }
    if (isThenable(result)) {
      try {
        void result.then(
          () => this.end(span),
          (err: unknown) => this.end(span, err),
        );
      } catch (err) {
        this.end(span, err);
      }
      return result;
    }
    this.end(span);
    return result;
  }

  /** Calls a user hook; a hook that throws is logged through `diag` and never reaches user code. */
  runHook<I>(hook: SpanHook<I> | undefined, span: Span, info: I): void {
    if (hook === undefined) return;
    try {
      hook(span, info);
    } catch (err) {
      diag.error('brokertrace: a span hook threw; ignored', err);
    }
  }

  private makeTracer(provider: TracerProvider | undefined): Tracer {
    const { instrumentationName, instrumentationVersion } = this.options;
    return (provider ?? trace.getTracerProvider()).getTracer(instrumentationName, instrumentationVersion);
  }

  private startSpan(
    name: string,
    kind: SpanKind,
    attributes: Attributes,
    links: Link[] | undefined,
    parent: Context,
    startTime: number | undefined,
  ): Span {
    try {
      return this.tracer.startSpan(name, { kind, attributes, links, startTime }, parent);
    } catch (err) {
      diag.error('brokertrace: the tracer threw on startSpan', err);
      return NON_RECORDING_SPAN;
    }
  }

  private startOperation(
    s: SpanStart,
    op: Op,
    operationName: string,
    operationType: string,
    kind: SpanKind,
    batchCount: number | undefined,
    links: Link[] | undefined,
    parentContext?: Context,
  ): Span {
    const parent = parentContext ?? s.parent ?? context.active();
    // Suppressed tracing (an exporter's own traffic): no span, no attributes, no metrics.
    if (parent.getValue(SUPPRESS_TRACING_KEY) === true) return NON_RECORDING_SPAN;
    const attributes: Attributes = {
      [ATTR_MESSAGING_SYSTEM]: this.system,
      [ATTR_MESSAGING_OPERATION_NAME]: operationName,
      [ATTR_MESSAGING_OPERATION_TYPE]: operationType,
      [ATTR_MESSAGING_DESTINATION_NAME]: s.destination,
    };
    if (batchCount !== undefined && batchCount !== 1) attributes[ATTR_MESSAGING_BATCH_MESSAGE_COUNT] = batchCount;
    copyAttributes(attributes, s.attributes);
    const span = this.startSpan(spanName(operationName, s.destination), kind, attributes, links, parent, s.startTime);
    this.track(span, op, operationName, s.destination, s.startTime, batchCount ?? 1);
    return span;
  }

  private track(span: Span, op: Op, operationName: string, destination: string, startTime: number | undefined, messageCount: number): void {
    if (span === NON_RECORDING_SPAN) return;
    const state: SpanState = { op, operationName, destination, startMs: startTime ?? nowMs(), messageCount, ended: false };
    // On the span itself (a span we just started): a WeakMap entry per message costs the GC far more.
    if (Object.isExtensible(span)) (span as TrackedSpan)[SPAN_STATE] = state;
    else this.states.set(span, state);
  }

  private stateOf(span: Span): SpanState | undefined {
    return (span as TrackedSpan)[SPAN_STATE] ?? this.states.get(span);
  }

  /** The incoming span context as we may use it: valid, and without its sampled flag when that is not trusted. */
  private trustedSpanContext(sc: SpanContext | undefined): SpanContext | undefined {
    if (sc === undefined || !isSpanContextValid(sc)) return undefined;
    if (this.resolved.ignoreIncomingSampledFlag && (sc.traceFlags & TraceFlags.SAMPLED) !== 0) {
      return { ...sc, traceFlags: sc.traceFlags & ~TraceFlags.SAMPLED };
    }
    return sc;
  }

  private linkAttributes(facts: MessageFacts, ageMs: number | undefined): Attributes {
    const attributes: Attributes = {};
    if (facts.messageId !== undefined) attributes[ATTR_MESSAGING_MESSAGE_ID] = facts.messageId;
    if (facts.deliveryCount !== undefined) attributes[ATTR_BROKERTRACE_MESSAGE_DELIVERY_COUNT] = facts.deliveryCount;
    if (ageMs !== undefined) attributes[ATTR_BROKERTRACE_MESSAGE_AGE_MS] = ageMs;
    if (!this.resolved.followCreationSampling) attributes[ATTR_BROKERTRACE_LINK_FOLLOW_SAMPLING] = false;
    return attributes;
  }

  private filterBaggage(ctx: Context): Context {
    const allow = this.resolved.baggageAllowList;
    if (allow === undefined) return ctx;
    const bag = propagation.getBaggage(ctx);
    if (bag === undefined) return ctx;
    const entries = bag.getAllEntries();
    let kept: Record<string, BaggageEntry> | undefined;
    let removed = false;
    for (const [key, entry] of entries) {
      if (allowed(allow, key)) (kept ??= {})[key] = entry;
      else removed = true;
    }
    if (!removed) return ctx;
    if (kept === undefined) return propagation.deleteBaggage(ctx);
    const filtered: Baggage = propagation.createBaggage(kept);
    return propagation.setBaggage(ctx, filtered);
  }

  private recordDropped(span: Span, dropped: string[]): void {
    const destination = this.stateOf(span)?.destination ?? '';
    try {
      if (span.isRecording()) span.setAttribute(ATTR_BROKERTRACE_CONTEXT_DROPPED, dropped);
      const attrs = this.attributesOf(destination);
      const counter = this.metrics.instruments.contextDropped;
      for (let i = 0; i < dropped.length; i++) {
        const item = dropped[i]!;
        const colon = item.indexOf(':');
        const field = colon < 0 ? item : item.slice(0, colon);
        counter.add(1, cached(attrs.operations, 'dropped/' + field, attrs.base, { [ATTR_BROKERTRACE_CONTEXT_FIELD]: field }));
      }
    } catch (err) {
      diag.debug('brokertrace: recording dropped context fields failed', err);
    }
    if (!this.warnedDestinations.has(destination) && this.warnedDestinations.size < MAX_CACHED_DESTINATIONS) {
      this.warnedDestinations.add(destination);
      diag.warn(
        `brokertrace: trace context did not fit in a message to "${destination}" (${this.system} limits); left out: ${dropped.join(', ')}. ` +
          'The message is sent otherwise unchanged; this warning is shown once per destination.',
      );
    }
  }

  private recordConsumed(attrs: DestinationAttributes, operationName: string, count: number, valid: boolean, ageMs: number | undefined): void {
    const m = this.metrics.instruments;
    m.consumedMessages.add(count, this.consumedAttributes(attrs, operationName, valid));
    if (ageMs !== undefined) m.messageAge.record(ageMs / 1000, attrs.base);
  }

  private consumedAttributes(attrs: DestinationAttributes, operationName: string, valid: boolean): Attributes {
    return cached(attrs.consumed, operationName + (valid ? '/1' : '/0'), attrs.base, {
      [ATTR_MESSAGING_OPERATION_NAME]: operationName,
      [ATTR_BROKERTRACE_CONTEXT_VALID]: valid,
    });
  }

  private recordDuration(state: SpanState, errorTypeValue: string | undefined): void {
    try {
      const m = this.metrics.instruments;
      const attrs = this.attributesOf(state.destination);
      let attributes = cached(attrs.operations, state.operationName, attrs.base, { [ATTR_MESSAGING_OPERATION_NAME]: state.operationName });
      if (errorTypeValue !== undefined) attributes = { ...attributes, [ATTR_ERROR_TYPE]: errorTypeValue };
      const seconds = Math.max(0, nowMs() - state.startMs) / 1000;
      if (state.op === Op.Process) m.processDuration.record(seconds, attributes);
      else m.operationDuration.record(seconds, attributes);
      if (state.op === Op.Send) m.sentMessages.add(state.messageCount, attributes);
    } catch (err) {
      diag.debug('brokertrace: metric recording failed', err);
    }
  }

  private attributesOf(destination: string): DestinationAttributes {
    let attrs = this.destinationAttributes.get(destination);
    if (attrs === undefined) {
      // Temporary queues can make destinations unbounded: start over rather than grow without end.
      if (this.destinationAttributes.size >= MAX_CACHED_DESTINATIONS) this.destinationAttributes = new Map();
      attrs = {
        base: { [ATTR_MESSAGING_SYSTEM]: this.system, [ATTR_MESSAGING_DESTINATION_NAME]: destination },
        consumed: new Map(),
        decisions: new Map(),
        operations: new Map(),
      };
      this.destinationAttributes.set(destination, attrs);
    }
    return attrs;
  }
}

function allowed(allow: readonly (string | RegExp)[], key: string): boolean {
  for (let i = 0; i < allow.length; i++) {
    const rule = allow[i]!;
    if (typeof rule === 'string' ? rule === key : rule.test(key)) return true;
  }
  return false;
}

function cached(map: Map<string, Attributes>, key: string, base: Attributes, extra: Attributes): Attributes {
  let attributes = map.get(key);
  if (attributes === undefined) {
    attributes = { ...base, ...extra };
    map.set(key, attributes);
  }
  return attributes;
}

/** A promise or promise-like; false (not a throw) for an object whose `then` getter throws. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  if (value === null || typeof value !== 'object') return false;
  try {
    return typeof (value as { then?: unknown }).then === 'function';
  } catch {
    return false;
  }
}

/** `instanceof Error` that answers false, not a throw, for a revoked Proxy. */
function isError(value: unknown): value is Error {
  try {
    return value instanceof Error;
  } catch {
    return false;
  }
}

function copyAttributes(target: Attributes, source: Attributes | undefined): void {
  if (source === undefined) return;
  for (const key in source) {
    const value = source[key];
    if (value !== undefined) target[key] = value;
  }
}

function safeRecord(histogram: { record(value: number, attributes?: Attributes): void }, value: number, attributes: Attributes): void {
  try {
    histogram.record(value, attributes);
  } catch (err) {
    diag.debug('brokertrace: metric recording failed', err);
  }
}
