// The span lifecycle of every messaging operation: start (send/create, batch receive/process, process, settle),
// end, run. Where a consumer span starts is consumer-context.ts; what goes into each message of a publish call
// is producer.ts; what is recorded as metrics is messaging-metrics.ts; this file ties them to spans.
import { INVALID_SPAN_CONTEXT, ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, context, createContextKey, isSpanContextValid, propagation, trace } from '@opentelemetry/api';
import type { Attributes, Context, DiagLogger, Link, MeterProvider, Span, Tracer, TracerProvider } from '@opentelemetry/api';
import { filterBaggage } from './baggage.js';
import { resolveConfig } from './config.js';
import type { ResolvedConfig } from './config.js';
import { messageFactsAttributes, resolveConsumerContext, resolveMessageContext } from './consumer-context.js';
import type { ConsumerTrust } from './consumer-context.js';
import { packageDiag } from './diagnostics.js';
import { injectContext } from './inject.js';
import { BROKER_LIMITS } from './limits.js';
import { MessagingMetrics } from './messaging-metrics.js';
import type { MetricScope, ResolvedDestination } from './messaging-metrics.js';
import { messageAgeMs } from './policy.js';
import { SpanStartCache, SpanStarts } from './start-attributes.js';
import type { ResolvedPolicy } from './policy.js';
import { isEmpty, keptContext, startSendOperation } from './producer.js';
import type { SendMachinery } from './producer.js';
import type {
  BatchStart,
  CreateResult,
  CreateStart,
  MessagingTelemetryOptions,
  OutgoingMessage,
  ProcessResult,
  ProcessStart,
  SendResult,
  SendStart,
  SettleStart,
} from './telemetry-types.js';
import {
  ATTR_BROKERTRACE_CONTEXT_DROPPED_FIELDS,
  ATTR_ERROR_TYPE,
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_DESTINATION_ANONYMOUS,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_DESTINATION_TEMPLATE,
  ATTR_MESSAGING_DESTINATION_TEMPORARY,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  ERROR_TYPE_VALUE_OTHER,
} from './semconv.js';
import type { CarrierLimits, Decision, ExistingEntries, InjectResult, MessageFacts, MessagingInstrumentationConfig, MessagingSystem, SpanHook, SpanStart } from './types.js';

enum Op {
  Create,
  Send,
  Receive,
  Process,
  Settle,
  /** A client operation of no conventional type (startClientOperation). */
  Other,
}

/** What end() needs to record the metrics of a span. */
interface SpanState {
  op: Op;
  operationName: string;
  operationType: string | undefined;
  scope: MetricScope;
  startMs: number;
  /**
   * The package gave the start time (core's clock): the end time is then given on the same clock. The SDK would
   * otherwise end such a span at `Date.now()`, whole milliseconds on another clock, which can fall before a start
   * taken a moment earlier (the SDK then warns and makes the span last 0 ms).
   */
  startGiven: boolean;
  messageCount: number;
  ended: boolean;
  /** Context fields left out of the message(s) so far (the span's `brokertrace.context.dropped_fields`). */
  dropped?: string[];
}

/** What the spans of one operation, destination and `metricAttributes` object start from (see siteOf). */
interface Site {
  readonly name: string;
  readonly template: string | undefined;
  readonly metricAttributes: Attributes | undefined;
  readonly operationName: string;
  readonly operationType: string | undefined;
  readonly starts: SpanStarts;
  readonly scope: MetricScope;
}

/** Where a span we started keeps its {@link SpanState} (a symbol: invisible to exporters and user code). */
const SPAN_STATE = Symbol('brokertrace.spanState');
type TrackedSpan = Span & { [SPAN_STATE]?: SpanState };

// @opentelemetry/core's suppressTracing() key (createContextKey uses Symbol.for, so this is the same key).
const SUPPRESS_TRACING_KEY = createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING');
const MAX_WARNED_DESTINATIONS = 1000;
const NON_RECORDING_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
const SUPPRESSED_DECISION: Decision = Object.freeze({ relationship: 'child', reason: 'no-context', ageMs: undefined });

/** The one clock of brokertrace's spans and durations: ms since the epoch, from the monotonic performance clock. */
function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

function isSuppressed(ctx: Context): boolean {
  return ctx.getValue(SUPPRESS_TRACING_KEY) === true;
}

/**
 * `{operation} {destination}`: the destination's template when there is one (the package's, or the user's
 * `destinationTemplate` option, which wins), else its name (semconv: the template SHOULD be used when
 * available, the name only when low-cardinality); an anonymous or temporary destination without a template is
 * left out.
 */
function spanName(operationName: string, s: SpanStart, template: string | undefined): string {
  const destination = template ?? (s.anonymous === true || s.temporary === true ? '' : s.destination);
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
 * const { span, context, injections } = telemetry.startSend({ destination: topic, batch: true, messages: messages.map((m) => ({ existing: m.headers })) });
 * return telemetry.run(span, () => producer.send({ topic, messages: withHeaders(messages, injections) }), context);
 */
export class MessagingTelemetry {
  readonly system: MessagingSystem;
  readonly limits: CarrierLimits;
  /** Core's diag logger for this instrumentation (namespace: `instrumentationName`). */
  readonly log: DiagLogger;
  private resolved: ResolvedConfig;
  private trust: ConsumerTrust;
  private tracer: Tracer;
  private readonly metrics: MessagingMetrics;
  private readonly machinery: SendMachinery;
  private readonly states = new WeakMap<Span, SpanState>();
  private statesInMap = false;
  /** Spans ended without a state that still say they record (a tracer other than the SDK's): ended once. */
  private endedUntracked: WeakSet<Span> | undefined;
  private readonly warnedDestinations = new Set<string>();
  private readonly spanStarts = new SpanStartCache();
  /** The last site of each kind of operation (by Op): a consumer alternates process and settle spans. */
  private lastSites: Array<Site | undefined> = [];

  constructor(private readonly options: MessagingTelemetryOptions) {
    this.system = options.system;
    this.limits = options.limits ?? BROKER_LIMITS[options.system];
    this.log = packageDiag(options.instrumentationName);
    this.resolved = resolveConfig(options.config, options.packageOptions);
    this.trust = trustOf(this.resolved);
    this.tracer = this.makeTracer(this.resolved.config.tracerProvider);
    this.metrics = new MessagingMetrics(
      options.system,
      options.instrumentationName,
      options.instrumentationVersion,
      this.resolved.config.meterProvider,
      this.resolved.maxMetricDestinations,
      this.resolved.destinationTemplate,
      this.log,
    );
    // Bound once: the producer logic calls back into the span lifecycle without a closure per call.
    this.machinery = {
      options: () => this.resolved,
      log: this.log,
      startCreate: (s, message, parent) => this.startCreateFor(s, message, parent),
      startSendSpan: (s, kind, links, parent, count) =>
        this.startOperation(s, Op.Send, s.operationName ?? 'send', 'send', kind, s.batch === true ? count : undefined, links, parent, count),
      inject: (span, spanContext, existing, limits) => this.injectInto(span, spanContext, existing, limits ?? this.limits),
      end: (span) => this.end(span),
    };
  }

  /** The validated configuration in effect. */
  get config(): MessagingInstrumentationConfig {
    return this.resolved.config;
  }

  /** The resolved child-or-link policy (owns the duplicate window). */
  get policy(): ResolvedPolicy {
    return this.resolved.policy;
  }

  /** `config.existingContext` as validated: whether a message that already carries a context keeps it (default). */
  get keepsExistingContext(): boolean {
    return this.resolved.keepExistingContext;
  }

  /** Whether multi-message sends get a `create` span per message (`config.createSpans`, default true). */
  get createSpans(): boolean {
    return this.resolved.createSpans;
  }

  /** The clock every `startTime` a package passes must come from: ms since the epoch, monotonic within the process. */
  now(): number {
    return nowMs();
  }

  /** Replaces the configuration; validates it first (throws {@link BrokerTraceConfigError}, keeping the old one). */
  setConfig(config: MessagingInstrumentationConfig | undefined): void {
    const resolved = resolveConfig(config, this.options.packageOptions, this.resolved);
    const destinationsChanged =
      resolved.maxMetricDestinations !== this.resolved.maxMetricDestinations || resolved.destinationTemplate !== this.resolved.destinationTemplate;
    this.resolved = resolved;
    this.lastSites = [];
    this.trust = trustOf(resolved);
    this.tracer = this.makeTracer(resolved.config.tracerProvider);
    this.metrics.setMeterProvider(resolved.config.meterProvider);
    if (destinationsChanged) this.metrics.setDestinationOptions(resolved.maxMetricDestinations, resolved.destinationTemplate);
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
        this.log.error('the ignoreDestinations predicate threw; the destination is traced', err);
      }
    }
    return false;
  }

  /**
   * Starts the spans of one publish call and computes each message's context (see {@link SendStart}):
   * messages that carry a context keep it (`existingContext: 'keep'`, the send span links to them); with
   * `batch` and `createSpans`, a `create` span per other message, started in the caller's context, injected and
   * ended at once, and a CLIENT send span linking to all of them; otherwise a PRODUCER send span whose context
   * goes into every other message. End the send span with {@link end} when the broker answered.
   */
  startSend(s: SendStart): SendResult {
    const parent = s.parent ?? context.active();
    if (isSuppressed(parent)) {
      return { span: NON_RECORDING_SPAN, context: parent, injections: new Array<InjectResult | undefined>(s.messages?.length ?? 0) };
    }
    return startSendOperation(this.machinery, s, parent);
  }

  /**
   * Starts the `create` span of one message that is sent later, with other messages (Pub/Sub `publishMessage`,
   * a Service Bus batch): in the caller's context (`s.parent ?? active`), its context injected within the
   * message's limits (drops recorded on it), and left OPEN: end it with {@link end} when the broker answered for
   * the message. A message that carries its own valid context keeps it (`existingContext: 'keep'`): no span
   * (non-recording), no injection, `kept` = that context (link the send span to it). Create spans count no sent
   * messages; the send span of the RPC does (`startSend` with `messageCount` and `links`).
   */
  startCreate(s: CreateStart): CreateResult;
  /** @deprecated pass `{ ...s, message }`: the result then carries the injection and the kept context. */
  startCreate(s: SpanStart): Span;
  startCreate(s: SpanStart | CreateStart): Span | CreateResult {
    const parent = s.parent ?? context.active();
    if (!('message' in s) || s.message === undefined) {
      return this.startOperation(s, Op.Create, 'create', 'create', SpanKind.PRODUCER, undefined, undefined, parent, 1);
    }
    const message = s.message;
    if (isSuppressed(parent)) return { span: NON_RECORDING_SPAN, context: parent, injection: undefined, kept: undefined };
    const kept = this.resolved.keepExistingContext ? keptContext(message, propagation.fields()) : undefined;
    if (kept !== undefined) return { span: NON_RECORDING_SPAN, context: parent, injection: undefined, kept };
    const span = this.startCreateFor(s, message, parent);
    const createContext = trace.setSpan(parent, span);
    const result = this.injectInto(span, createContext, message.existing, message.limits ?? this.limits);
    return { span, context: createContext, injection: isEmpty(result) ? undefined : result, kept: undefined };
  }

  /**
   * Starts a settle span such as `ack {destination}` (CLIENT, `messaging.operation.type` `settle`), under the
   * active context by default (settlement is called from user code, usually inside the process span). Under a
   * span that is not sampled, while no meter provider is registered, no span is started: the result is a
   * non-recording stand-in with the parent's span context (see {@link unsampledChild}).
   */
  startSettle(s: SettleStart): Span {
    const parent = s.parent ?? context.active();
    const standIn = this.unsampledChild(parent);
    if (standIn !== undefined) return standIn;
    const count = s.batch === true ? (s.messageCount ?? undefined) : undefined;
    return this.startOperation(s, Op.Settle, s.operationName, 'settle', SpanKind.CLIENT, count, undefined, parent, count ?? 1);
  }

  /**
   * For a settle span under a span that is neither sampled nor recording, while no meter provider is registered:
   * a parent-based sampler (the SDK's default) would drop the settle span and nothing would record its duration,
   * so none is started. A non-recording span with the parent's span context stands in for it (ending it does
   * nothing), so that whatever runs under it (the client's own request) stays in the parent's trace. Undefined
   * when a span must be started: metrics to record, a sampled or recording parent, or none (a root's sampler decides).
   */
  private unsampledChild(parent: Context): Span | undefined {
    const parentSpan = trace.getSpan(parent);
    if (parentSpan === undefined) return undefined;
    const sc = parentSpan.spanContext();
    if ((sc.traceFlags & TraceFlags.SAMPLED) !== 0 || !isSpanContextValid(sc) || recording(parentSpan) || this.metrics.active) return undefined;
    return trace.wrapSpanContext(sc);
  }

  /**
   * Starts a CLIENT span for a broker operation that is none of create, send, receive, process or settle (a lock
   * renewal, cancelling a scheduled message): no `messaging.operation.type`, recorded in
   * `messaging.client.operation.duration` by its name. Under the active context by default.
   */
  startClientOperation(s: SettleStart): Span {
    const count = s.batch === true ? (s.messageCount ?? undefined) : undefined;
    return this.startOperation(s, Op.Other, s.operationName, undefined, SpanKind.CLIENT, count, undefined, s.parent ?? context.active(), count ?? 1);
  }

  /**
   * Computes the context entries for one message with `span` as its creation context, within `limits`
   * (default: the telemetry's), given what the message already holds. Drops are recorded on the span
   * (`brokertrace.context.dropped_fields`), counted, and warned about once per destination. Never mutates `existing`.
   */
  inject(span: Span, existing: ExistingEntries, limits: CarrierLimits = this.limits): InjectResult {
    return this.injectInto(span, trace.setSpan(context.active(), span), existing, limits);
  }

  /**
   * Starts `process {destination}` (CONSUMER) for one message handed to user code, from the message's own
   * context, never the active one: `parent` is the ambient context the package knows to be legitimate (default
   * ROOT_CONTEXT). Decision `child`: a child of the creation context, linked to it and to the ambient span;
   * `link`: a child of the ambient (or a root), linked to the creation context. The decision and its reason are
   * span attributes from the start (samplers see them); age, delivery count and message id are set only when the
   * span records. Run the handler in the returned `context`.
   */
  startProcess(s: ProcessStart): ProcessResult {
    const ambient = s.parent ?? ROOT_CONTEXT;
    // Suppressed: no span, so no decision either (and nothing recorded in the duplicate window).
    if (isSuppressed(ambient)) return { span: NON_RECORDING_SPAN, context: ambient, decision: SUPPRESSED_DECISION };
    const facts = s.facts;
    const resolved = resolveMessageContext(s, s.destination, ambient, s.inBatch === true, s.getter, Date.now(), this.trust);
    const decision = resolved.decision;
    const operationName = s.operationName ?? 'process';
    const { starts, scope } = this.siteOf(s, Op.Process, operationName, 'process');
    let attributes: Attributes = starts.decided(decision);
    if (s.attributes !== undefined) {
      // Per-message start attributes: the shared set is copied, never written to.
      attributes = { ...attributes };
      copyAttributes(attributes, s.attributes);
    }
    const span = this.startSpan(
      starts.name,
      SpanKind.CONSUMER,
      attributes,
      resolved.links,
      resolved.parent,
      s.startTime,
      s.recordedAttributes,
      facts,
      decision.ageMs,
    );
    const metricsActive = this.metrics.active;
    this.track(span, Op.Process, operationName, 'process', scope, s.startTime, 1, metricsActive);
    if (s.inBatch !== true && s.countedByReceive !== true && metricsActive) {
      this.metrics.consumed(scope, operationName, 1, resolved.withContext === 1 ? 0 : 1);
      this.metrics.decisions(scope, decision.relationship, decision.reason, 1);
      if (decision.ageMs !== undefined) this.metrics.age(scope, decision.ageMs);
    }
    return { span, context: trace.setSpan(resolved.parent, span), decision };
  }

  /**
   * Starts a span for several messages at once, one link per message with a valid creation context (its
   * `linkAttributes`, message id, delivery count and age on the link), `messaging.batch.message_count` always:
   * - `operationType: 'receive'`: CLIENT `receive {dest}` for pull APIs (`messaging.client.operation.duration`);
   * - `operationType: 'process'`: CONSUMER `process {dest}` over a push batch handler (`messaging.process.duration`).
   * `parent`: the legitimate ambient context, default ROOT_CONTEXT. Each message is counted once as consumed, once
   * as a decision (`link`/`batch`, or `no-context`), and its age recorded. Pass `startTime` (from {@link now})
   * when the span is started after the messages arrived.
   */
  startBatch(s: BatchStart): { span: Span; context: Context } {
    const ambient = s.parent ?? ROOT_CONTEXT;
    if (isSuppressed(ambient)) return { span: NON_RECORDING_SPAN, context: ambient };
    const now = Date.now();
    const messages = s.messages;
    const n = messages.length;
    const resolved = resolveConsumerContext({ destination: s.destination, ambient, messages, getter: s.getter, now }, this.trust);
    const process = s.operationType === 'process';
    const operationName = s.operationName ?? s.operationType;
    const { starts, scope } = this.siteOf(s, process ? Op.Process : Op.Receive, operationName, s.operationType);
    const attributes = starts.copy();
    if (s.batch !== false) attributes[ATTR_MESSAGING_BATCH_MESSAGE_COUNT] = n;
    copyAttributes(attributes, s.attributes);
    const kind = process ? SpanKind.CONSUMER : SpanKind.CLIENT;
    const span = this.startSpan(starts.name, kind, attributes, resolved.links, ambient, s.startTime, s.recordedAttributes);
    const metricsActive = this.metrics.active;
    this.track(span, process ? Op.Process : Op.Receive, operationName, s.operationType, scope, s.startTime, n, metricsActive);

    const handlerContext = trace.setSpan(ambient, span);
    if (!metricsActive) return { span, context: handlerContext };
    // Each delivery is counted once: messages a receive span already counted are left out here.
    const { messages: count, withContext } = resolved.uncounted ?? { messages: n, withContext: resolved.withContext };
    if (count > 0) this.metrics.consumed(scope, operationName, count, count - withContext);
    if (withContext > 0) this.metrics.decisions(scope, 'link', 'batch', withContext);
    if (count > withContext) this.metrics.decisions(scope, 'child', 'no-context', count - withContext);
    for (let i = 0; i < n; i++) {
      const message = messages[i]!;
      if (message.countedByReceive === true) continue;
      const ageMs = messageAgeMs(message.facts.enqueuedAtMs, now);
      if (ageMs !== undefined) this.metrics.age(scope, ageMs);
    }
    return { span, context: handlerContext };
  }

  /**
   * Ends a span once (later calls do nothing). With `error`: `error.type`, ERROR status and the exception event.
   * Records the duration metric of the operation, and for send spans `messaging.client.sent.messages` (with
   * `error.type` when the send failed: the messages were attempted).
   */
  end(span: Span, error?: unknown): void {
    this.finish(span, error, true);
  }

  /**
   * Ends a send span whose messages never reached the client (a failure while preparing them): like
   * {@link end}, but counts no sent messages.
   */
  endUnsent(span: Span, error?: unknown): void {
    this.finish(span, error, false);
  }

  /**
   * Runs `fn` with `span` active (or in `ctx`), ends the span when `fn` returns or throws or, for a promise,
   * when it settles; errors are recorded and rethrown unchanged. The very value (or native promise) `fn`
   * returned is returned. A thenable that is not a native promise (a query builder runs its query on every
   * `then`) is subscribed to once: the caller gets a native promise of its outcome instead.
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
      if (!(result instanceof Promise)) {
        // One `then` only, ours: the caller awaits the settled promise, not the thenable a second time.
        const settled = Promise.resolve(result).then(
          (value) => {
            this.end(span);
            return value;
          },
          (err: unknown) => {
            this.end(span, err);
            throw err;
          },
        );
        // The caller awaits it and sees the rejection; one that drops it (as it could drop the thenable, which
        // rejected nothing unless subscribed) gets no unhandled rejection from us.
        settled.catch(() => undefined);
        return settled as T;
      }
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
      this.log.error('a span hook threw; ignored', err);
    }
  }

  private finish(span: Span, error: unknown, countSent: boolean): void {
    const state = this.stateOf(span);
    // An SDK span says when it has ended (ReadableSpan.ended): ending it again would only make the SDK complain.
    if (state === undefined && hasEnded(span)) return;
    if (state === undefined && !recording(span)) {
      // Nothing to record on it and no metrics (see track): ending it is all there is, and ending twice is harmless.
      try {
        span.end();
      } catch (err) {
        this.log.debug('ending a span failed', err);
      }
      return;
    }
    if (state === undefined) {
      // An SDK span stops recording once ended (the branch above); a tracer's span that does not is remembered.
      if (this.endedUntracked !== undefined && this.endedUntracked.has(span)) return;
    } else {
      if (state.ended) return;
      state.ended = true;
    }
    const failed = error !== undefined;
    const type = failed ? this.errorTypeOf(error) : undefined;
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
      this.log.debug('recording an error on a span failed', err);
    }
    // Ended even when recording the error failed (a hostile error object): no span is ever left open.
    try {
      if (state?.startGiven === true) span.end(nowMs());
      else span.end();
      if (state === undefined && recording(span)) (this.endedUntracked ??= new WeakSet()).add(span);
    } catch (err) {
      this.log.debug('ending a span failed', err);
    }
    if (state === undefined || !this.metrics.active) return;
    this.metrics.duration(state.scope, state.op === Op.Process, state.operationName, state.operationType, nowMs() - state.startMs, type);
    if (state.op === Op.Send && countSent && state.messageCount > 0) this.metrics.sent(state.scope, state.operationName, state.messageCount, type);
  }

  private errorTypeOf(error: unknown): string {
    const custom = this.options.errorType;
    if (custom !== undefined) {
      try {
        const type = custom(error);
        if (typeof type === 'string' && type !== '') return type;
      } catch (err) {
        this.log.debug('the errorType function threw; the class name is used', err);
      }
    }
    return errorType(error);
  }

  /**
   * The start attributes and metric scope of a span, remembered per kind of operation for the last destination,
   * template, `metricAttributes` object, operation name and type: consecutive messages of a client mostly share
   * them all, and then cost no lookup in the caches behind them. Anonymous and temporary destinations (a fresh
   * entry each, see {@link starts}) are not remembered.
   */
  private siteOf(s: SpanStart, op: Op, operationName: string, operationType: string | undefined): Site {
    const hidden = s.anonymous === true || s.temporary === true;
    const last = this.lastSites[op];
    if (
      last !== undefined &&
      !hidden &&
      last.name === s.destination &&
      last.template === s.destinationTemplate &&
      last.metricAttributes === s.metricAttributes &&
      last.operationName === operationName &&
      last.operationType === operationType
    ) {
      return last;
    }
    const destination = this.metrics.destination(s.destination, s.destinationTemplate, s.anonymous, s.temporary);
    const site: Site = {
      name: s.destination,
      template: s.destinationTemplate,
      metricAttributes: s.metricAttributes,
      operationName,
      operationType,
      starts: this.starts(s, destination, operationName, operationType),
      scope: this.metrics.scope(destination, s.metricAttributes),
    };
    if (!hidden) this.lastSites[op] = site;
    return site;
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
    recorded: SpanStart['recordedAttributes'],
    facts?: MessageFacts,
    ageMs?: number,
  ): Span {
    let span: Span;
    try {
      span = this.tracer.startSpan(name, { kind, attributes, links, startTime }, parent);
    } catch (err) {
      this.log.error('the tracer threw on startSpan', err);
      return NON_RECORDING_SPAN;
    }
    // Only a span that records gets them: a span that is not sampled costs no per-message attribute object.
    // A process span's facts first, so that the package's own recorded attributes have the last word.
    if (recorded !== undefined || facts !== undefined) {
      try {
        if (span.isRecording()) {
          if (facts !== undefined) span.setAttributes(messageFactsAttributes(facts, ageMs));
          if (recorded !== undefined) span.setAttributes(typeof recorded === 'function' ? recorded() : recorded);
        }
      } catch (err) {
        this.log.debug('setting the recorded attributes failed', err);
      }
    }
    return span;
  }

  /**
   * The name and common start attributes of this destination and operation, built once (see start-attributes.ts).
   * Anonymous and temporary destinations, which differ by flags the cache does not key on, get a fresh entry.
   */
  private starts(s: SpanStart, destination: ResolvedDestination, operationName: string, operationType: string | undefined): SpanStarts {
    const hidden = s.anonymous === true || s.temporary === true;
    const cached = hidden ? undefined : this.spanStarts.get(destination, s.metricAttributes, operationName, operationType);
    if (cached !== undefined) return cached;
    const starts = new SpanStarts(spanName(operationName, s, destination.template), this.baseAttributes(s, operationName, operationType, destination));
    return hidden ? starts : this.spanStarts.set(destination, s.metricAttributes, operationName, operationType, starts);
  }

  /** The attributes every messaging span starts with (before the caller's own). */
  private baseAttributes(s: SpanStart, operationName: string, operationType: string | undefined, destination: ResolvedDestination): Attributes {
    const attributes: Attributes = { [ATTR_MESSAGING_SYSTEM]: this.system, [ATTR_MESSAGING_OPERATION_NAME]: operationName };
    // No name at all (a call over several destinations, or none known): the attribute is left out, not empty.
    if (s.destination !== '') attributes[ATTR_MESSAGING_DESTINATION_NAME] = s.destination;
    // Operations that are none of the conventions' types (lock renewal, cancelling a schedule) carry none.
    if (operationType !== undefined) attributes[ATTR_MESSAGING_OPERATION_TYPE] = operationType;
    if (destination.template !== undefined) attributes[ATTR_MESSAGING_DESTINATION_TEMPLATE] = destination.template;
    if (s.anonymous === true) attributes[ATTR_MESSAGING_DESTINATION_ANONYMOUS] = true;
    if (s.temporary === true) attributes[ATTR_MESSAGING_DESTINATION_TEMPORARY] = true;
    copyAttributes(attributes, s.metricAttributes);
    return attributes;
  }

  private startOperation(
    s: SpanStart,
    op: Op,
    operationName: string,
    operationType: string | undefined,
    kind: SpanKind,
    batchCount: number | undefined,
    links: Link[] | undefined,
    parent: Context,
    messageCount: number,
  ): Span {
    // Suppressed tracing (an exporter's own traffic): no span, no attributes, no metrics.
    if (isSuppressed(parent)) return NON_RECORDING_SPAN;
    const { starts, scope } = this.siteOf(s, op, operationName, operationType);
    const attributes = starts.copy();
    if (batchCount !== undefined) attributes[ATTR_MESSAGING_BATCH_MESSAGE_COUNT] = batchCount;
    copyAttributes(attributes, s.attributes);
    const span = this.startSpan(starts.name, kind, attributes, links, parent, s.startTime, s.recordedAttributes);
    this.track(span, op, operationName, operationType, scope, s.startTime, messageCount, this.metrics.active);
    return span;
  }

  /** A create span for one message of a send: the send's destination, the message's own attributes. */
  private startCreateFor(s: SpanStart, message: OutgoingMessage, parent: Context): Span {
    const start: SpanStart = message.attributes === undefined ? s : { ...s, attributes: message.attributes };
    return this.startOperation(start, Op.Create, 'create', 'create', SpanKind.PRODUCER, undefined, undefined, parent, 1);
  }

  /** `spanContext` holds `span` already: callers build it once and reuse it (a context is a Map copy). */
  private injectInto(span: Span, spanContext: Context, existing: ExistingEntries, limits: CarrierLimits): InjectResult {
    const ctx = filterBaggage(spanContext, this.resolved.baggageAllowList);
    const result = injectContext(ctx, existing, limits);
    if (result.dropped.length > 0) this.recordDropped(span, result.dropped);
    return result;
  }

  private track(span: Span, op: Op, operationName: string, operationType: string | undefined, scope: MetricScope, startTime: number | undefined, messageCount: number, metricsActive: boolean): void {
    if (span === NON_RECORDING_SPAN) return;
    // A consumer or settle span with no metrics to record and no start time of the package's clock: nothing would
    // read its state, and finish() ends it once without (endedUntracked). Attaching a state to every span costs a
    // sampled message about a twentieth of its tracing (measured). Send and create spans keep it: a context drop
    // warns naming their destination.
    if (op !== Op.Send && op !== Op.Create && !metricsActive && startTime === undefined) return;
    const state: SpanState = { op, operationName, operationType, scope, startMs: startTime ?? nowMs(), startGiven: startTime !== undefined, messageCount, ended: false };
    // On the span itself (a span we just started): a WeakMap entry per message costs the GC far more.
    if (Object.isExtensible(span)) (span as TrackedSpan)[SPAN_STATE] = state;
    else {
      this.states.set(span, state);
      this.statesInMap = true;
    }
  }

  private stateOf(span: Span): SpanState | undefined {
    const state = (span as TrackedSpan)[SPAN_STATE];
    // The map holds only the states of spans that cannot take a property: mostly it is empty and never read.
    return state !== undefined || !this.statesInMap ? state : this.states.get(span);
  }

  /**
   * Records context fields a package had to leave out of a message (e.g. keys the broker rejects) like core's
   * own drops: added to the span's `brokertrace.context.dropped_fields` (after what is there already), counted in
   * `brokertrace.context.dropped` (by field: the part before `:`), warned about once per destination. `dropped`
   * holds whole keys (`'baggage'`) or parts (`'tracestate:vendor'`). Never throws.
   */
  recordDropped(span: Span, dropped: readonly string[]): void {
    if (!Array.isArray(dropped) || dropped.length === 0) return;
    const state = this.stateOf(span);
    try {
      if (span.isRecording()) {
        // Merged on our own spans: core and the package may both drop fields of one message.
        span.setAttribute(ATTR_BROKERTRACE_CONTEXT_DROPPED_FIELDS, state !== undefined ? mergeDropped(state, dropped) : dropped.slice());
      }
    } catch (err) {
      this.log.debug('recording dropped context fields failed', err);
    }
    if (state !== undefined) {
      for (let i = 0; i < dropped.length; i++) {
        const item = String(dropped[i]);
        const colon = item.indexOf(':');
        this.metrics.dropped(state.scope, colon < 0 ? item : item.slice(0, colon));
      }
    }
    const destination = state !== undefined ? destinationOf(state) : '';
    if (!this.warnedDestinations.has(destination) && this.warnedDestinations.size < MAX_WARNED_DESTINATIONS) {
      this.warnedDestinations.add(destination);
      this.log.warn(
        `trace context did not fit in a message to "${destination}" (${this.system} limits); left out: ${dropped.join(', ')}. ` +
          'The message is sent otherwise unchanged; this warning is shown once per destination.',
      );
    }
  }
}

/** The destination a span's metrics are recorded under (for warnings: never a raw high-cardinality name). */
function destinationOf(state: SpanState): string {
  const base = state.scope.producerBase;
  const value = base[ATTR_MESSAGING_DESTINATION_NAME] ?? base[ATTR_MESSAGING_DESTINATION_TEMPLATE];
  return typeof value === 'string' ? value : '';
}

/** The span's dropped fields so far plus `dropped`, each once (a send span injects into many messages). */
function mergeDropped(state: SpanState, dropped: readonly string[]): string[] {
  const all = (state.dropped ??= []);
  for (let i = 0; i < dropped.length; i++) if (!all.includes(dropped[i]!)) all.push(dropped[i]!);
  return all.slice();
}

function trustOf(r: ResolvedConfig): ConsumerTrust {
  return {
    policy: r.policy,
    ignoreIncomingSampledFlag: r.ignoreIncomingSampledFlag,
    followCreationSampling: r.followCreationSampling,
    baggageAllowList: r.baggageAllowList,
  };
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

/** `span.isRecording()`; true (the careful answer) for a span whose isRecording throws. */
function recording(span: Span): boolean {
  try {
    return span.isRecording();
  } catch {
    return true;
  }
}

/** `ended` of the SDK's spans (ReadableSpan); false for other spans, and for one whose getter throws. */
function hasEnded(span: Span): boolean {
  try {
    return (span as { ended?: unknown }).ended === true;
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
