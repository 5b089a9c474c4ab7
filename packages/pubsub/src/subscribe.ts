// The subscriber side: each `message` listener of a traced Subscription gets a process span per message (from
// the message's own context or a root, never the active context: the client hands a message out in the async
// context of whoever acked the one before it), ended when the message is acked or nacked or the listener's
// promise settles; ack/nack/modAck and their *WithResponse variants are settle spans.
import {
  ATTR_MESSAGING_DESTINATION_SUBSCRIPTION_NAME,
  ATTR_MESSAGING_GCP_PUBSUB_MESSAGE_ACK_DEADLINE,
  ATTR_MESSAGING_GCP_PUBSUB_MESSAGE_ACK_ID,
  ATTR_MESSAGING_MESSAGE_ID,
  isThenable,
} from '@brokertrace/core';
import { context } from '@opentelemetry/api';
import type { Attributes, Span } from '@opentelemetry/api';
import { ATTR_BROKERTRACE_GCP_PUBSUB_ACK_RESPONSE, ATTR_BROKERTRACE_GCP_PUBSUB_EXACTLY_ONCE_DELIVERY, subscriptionId } from './attributes.js';
import { log } from './diag.js';
import { endpointAttributes } from './endpoint.js';
import { messageFacts, processAttributes } from './facts.js';
import type { ReceivedMessage, SubscriptionInternal } from './internal-types.js';
import type { PubSubTracing, ReceivedState } from './tracing.js';

type Listener = (this: unknown, ...args: unknown[]) => unknown;
type Method = (this: unknown, ...args: unknown[]) => unknown;

/** `messaging.operation.name` of the process span: the gcp_pubsub conventions call it `subscribe`. */
export const PROCESS_OPERATION = 'subscribe';

/** What one traced Subscription keeps: its names, and which wrapper stands for which listener. */
export interface SubscriptionState {
  readonly tracing: PubSubTracing;
  readonly subscription: SubscriptionInternal;
  /** Original listener -> its wrappers, in the order they were added (a listener may be added twice). */
  readonly wrappers: Map<Listener, Listener[]>;
  /** Wrappers added with `once`. */
  readonly onceWrappers: WeakSet<Listener>;
  /** The subscription's own methods, for handing listeners back when it is untraced. */
  raw: { on?: Method; once?: Method; removeListener?: Method };
  /** Set while untracing hands the original listeners back: adds pass straight through. */
  handingBack: boolean;
  metricAttributes: Attributes | undefined;
  metricName: string | undefined;
  /** Per original message prototype, the traced one its messages get (see tracedPrototype). */
  readonly prototypes: WeakMap<object, object>;
}

export function createSubscriptionState(tracing: PubSubTracing, subscription: SubscriptionInternal): SubscriptionState {
  return { tracing, subscription, wrappers: new Map(), onceWrappers: new WeakSet(), raw: {}, handingBack: false, metricAttributes: undefined, metricName: undefined, prototypes: new WeakMap() };
}

/**
 * The subscription id now, and the metric attributes for it: the subscription and the client's endpoint (built
 * once per name: core caches by identity).
 */
function names(state: SubscriptionState): { name: string; metricAttributes: Attributes } {
  const name = subscriptionId(state.subscription.name);
  if (state.metricAttributes === undefined || state.metricName !== name) {
    state.metricName = name;
    state.metricAttributes = Object.freeze({ [ATTR_MESSAGING_DESTINATION_SUBSCRIPTION_NAME]: name, ...endpointAttributes(state.subscription.pubsub) });
  }
  return { name, metricAttributes: state.metricAttributes };
}

function endOpen(tracing: PubSubTracing, received: ReceivedState, error?: unknown): void {
  const open = received.open;
  if (open.length === 0) return;
  received.open = [];
  for (const span of open) tracing.telemetry.end(span, error);
}

function endOne(tracing: PubSubTracing, received: ReceivedState, span: Span, error?: unknown): void {
  const i = received.open.indexOf(span);
  if (i >= 0) received.open.splice(i, 1);
  tracing.telemetry.end(span, error);
}

// ---- settlement -----------------------------------------------------------------------------------------

type SettleKind = 'ack' | 'nack' | 'modack';

/**
 * Per message: the subscription state its settle methods report to (set when first handed to a traced listener),
 * and the prototype whose settle methods ours wrap. Both live on the prototype a traced message gets (see
 * {@link patchSettle}), so a message gains no property of its own.
 */
const SETTLE_STATE = Symbol.for('brokertrace.pubsub.settleState');
const ORIGINAL_PROTOTYPE = Symbol.for('brokertrace.pubsub.originalPrototype');
type Patched = ReceivedMessage & { [SETTLE_STATE]?: SubscriptionState; [ORIGINAL_PROTOTYPE]?: Record<string, unknown> };

function settleStart(state: SubscriptionState, message: ReceivedMessage, kind: SettleKind, deadline: unknown, withResponse: boolean): Span {
  const { name, metricAttributes } = names(state);
  const attributes: Attributes = {};
  const id = message.id;
  if (typeof id === 'string' && id !== '') attributes[ATTR_MESSAGING_MESSAGE_ID] = id;
  const ackId = message.ackId;
  if (typeof ackId === 'string' && ackId !== '') attributes[ATTR_MESSAGING_GCP_PUBSUB_MESSAGE_ACK_ID] = ackId;
  if (kind === 'modack' && typeof deadline === 'number' && Number.isFinite(deadline)) attributes[ATTR_MESSAGING_GCP_PUBSUB_MESSAGE_ACK_DEADLINE] = deadline;
  if (withResponse && message.isExactlyOnceDelivery === true) attributes[ATTR_BROKERTRACE_GCP_PUBSUB_EXACTLY_ONCE_DELIVERY] = true;
  return state.tracing.telemetry.startSettle({ destination: name, operationName: kind, metricAttributes, attributes });
}

/**
 * Wraps one settle method of a message. A settle that the client would ignore (the message was already acked
 * or nacked) gets no span. `ack`/`nack` end the message's open process spans.
 */
function settleMethod(kind: SettleKind, name: string, withResponse: boolean): Method {
  return function settle(this: unknown, ...args: unknown[]): unknown {
    const message = this as Patched;
    const original = message[ORIGINAL_PROTOTYPE]?.[name];
    if (typeof original !== 'function') return undefined;
    const state = message[SETTLE_STATE];
    const tracing = state?.tracing;
    const received = tracing?.received.get(message);
    if (state === undefined || tracing === undefined || received === undefined || !tracing.isActive() || (received.settled && !withResponse)) {
      return original.apply(message, args);
    }
    let span: Span | undefined;
    try {
      span = settleStart(state, message, kind, args[0], withResponse);
    } catch (err) {
      log.debug('could not start a settle span', err);
    }
    const settles = kind !== 'modack';
    if (settles) received.settled = true;
    let result: unknown;
    try {
      result = original.apply(message, args);
    } catch (err) {
      if (span) tracing.telemetry.end(span, err);
      if (settles) endOpen(tracing, received);
      throw err;
    }
    if (settles) endOpen(tracing, received);
    if (span === undefined) return result;
    if (withResponse && isThenable(result)) {
      const settleSpan = span;
      // The caller holds the returned promise and handles it; we only observe it.
      void Promise.resolve(result).then(
        (response) => {
          if (typeof response === 'string' && settleSpan.isRecording()) settleSpan.setAttribute(ATTR_BROKERTRACE_GCP_PUBSUB_ACK_RESPONSE, response);
          tracing.telemetry.end(settleSpan);
        },
        (err: unknown) => tracing.telemetry.end(settleSpan, err),
      );
    } else {
      tracing.telemetry.end(span);
    }
    return result;
  };
}

const SETTLE_METHODS: ReadonlyArray<readonly [string, Method]> = [
  ['ack', settleMethod('ack', 'ack', false)],
  ['nack', settleMethod('nack', 'nack', false)],
  ['modAck', settleMethod('modack', 'modAck', false)],
  ['ackWithResponse', settleMethod('ack', 'ackWithResponse', true)],
  ['nackWithResponse', settleMethod('nack', 'nackWithResponse', true)],
  ['modAckWithResponse', settleMethod('modack', 'modAckWithResponse', true)],
];

/**
 * The prototype a traced message of this subscription gets in place of `original` (the client's `Message.prototype`):
 * it inherits from `original` and holds our settle methods (shared functions, no closure per message), the
 * subscription state and `original` itself. Built once per subscription and original prototype.
 */
function tracedPrototype(state: SubscriptionState, original: object): object {
  const prototypes = state.prototypes;
  let traced = prototypes.get(original);
  if (traced !== undefined) return traced;
  traced = Object.create(original) as object;
  Object.defineProperty(traced, SETTLE_STATE, { value: state });
  Object.defineProperty(traced, ORIGINAL_PROTOTYPE, { value: original });
  for (const [name, fn] of SETTLE_METHODS) {
    if (typeof (original as Record<string, unknown>)[name] === 'function') Object.defineProperty(traced, name, { value: fn, writable: true, configurable: true });
  }
  prototypes.set(original, traced);
  return traced;
}

/**
 * Gives the message our settle methods by putting {@link tracedPrototype} between it and its prototype: one
 * prototype switch, which V8 caches per shape, where defining seven properties on every message cost about 2 µs
 * (measured). The message keeps its own properties as they were, and stays an instance of the client's Message.
 * Inner calls between the methods (`ackWithResponse` -> `ack` without exactly-once) come back through `this`,
 * and the settled flag keeps them to one span. A message with settle methods of its own, or one that cannot take
 * a new prototype (frozen), is left untraced on that side.
 */
function patchSettle(state: SubscriptionState, message: Patched): void {
  if (message[SETTLE_STATE] !== undefined) return;
  try {
    const original = Object.getPrototypeOf(message) as object | null;
    if (original === null) return;
    Object.setPrototypeOf(message, tracedPrototype(state, original));
  } catch (err) {
    log.debug('could not trace the settlement of a message (frozen?)', err);
  }
}

// ---- listeners ------------------------------------------------------------------------------------------

/** Runs `listener` for one message inside its process span. */
function processMessage(state: SubscriptionState, listener: Listener, self: unknown, args: unknown[]): unknown {
  const tracing = state.tracing;
  const message = args[0] as ReceivedMessage;
  if (!tracing.isActive() || message === null || typeof message !== 'object') return listener.apply(self, args);
  let name: string;
  let metricAttributes: Attributes;
  try {
    ({ name, metricAttributes } = names(state));
  } catch (err) {
    // A subscription whose name or client cannot be read (a Proxy, a hand-made object): the message still arrives.
    log.error('message left untraced', err);
    return listener.apply(self, args);
  }
  if (tracing.telemetry.isIgnored(name)) return listener.apply(self, args);
  let span: Span | undefined;
  let ctx = context.active();
  let received: ReceivedState | undefined;
  try {
    const facts = messageFacts(message, name);
    // No `parent`: core starts from the message's own context or a root, never the active context.
    const started = tracing.telemetry.startProcess({
      destination: name,
      operationName: PROCESS_OPERATION,
      facts,
      carrier: message.attributes,
      metricAttributes,
      // Id, ordering key, delivery attempt and dead-letter source: only on a span that records (no sampler needs them).
      recordedAttributes: () => processAttributes(message, facts),
    });
    span = started.span;
    ctx = started.context;
    tracing.telemetry.runHook(tracing.options.processHook, span, { subscription: name, message });
    received = tracing.received.get(message);
    if (received === undefined) tracing.received.set(message, (received = { open: [], settled: false }));
    if (received.settled) {
      // Acked before this listener ran (by an earlier listener): the span covers this handler only.
    } else {
      received.open.push(span);
    }
    patchSettle(state, message);
  } catch (err) {
    log.error('could not trace a message; the listener runs untraced', err);
  }
  if (span === undefined || received === undefined) return listener.apply(self, args);
  const processSpan = span;
  const rec = received;
  let result: unknown;
  try {
    result = context.with(ctx, () => listener.apply(self, args));
  } catch (err) {
    endOne(tracing, rec, processSpan, err);
    throw err;
  }
  if (isThenable(result)) {
    // The caller gets the observing branch, which rethrows: the rejection is handled exactly when whoever receives
    // the listener's promise (EventEmitter with captureRejections, a layer below us) handles it, and unhandled
    // otherwise, as without tracing. Holding a second branch of our own would add an unhandled rejection.
    return Promise.resolve(result).then(
      (value) => {
        endOne(tracing, rec, processSpan);
        return value;
      },
      (err: unknown) => {
        endOne(tracing, rec, processSpan, err);
        throw err;
      },
    );
  }
  // A synchronous listener: the span covers it; a later ack is a settle span of its own.
  endOne(tracing, rec, processSpan);
  return result;
}

/** Marks our wrappers (a global symbol: the CJS and ESM copies of this module know each other's). */
const WRAPPER = Symbol.for('brokertrace.pubsub.listenerWrapper');

/** Ours, or EventEmitter's once-wrapper around ours (`once` adds through `this.on`). */
function isWrapper(listener: unknown): boolean {
  if (typeof listener !== 'function') return false;
  if ((listener as { [WRAPPER]?: boolean })[WRAPPER] === true) return true;
  const inner = (listener as { listener?: unknown }).listener;
  return typeof inner === 'function' && (inner as { [WRAPPER]?: boolean })[WRAPPER] === true;
}

function wrapperFor(state: SubscriptionState, listener: Listener, once: boolean): Listener {
  const wrapper = function tracedMessageListener(this: unknown, ...args: unknown[]): unknown {
    if (once) forget(state, listener, wrapper);
    return processMessage(state, listener, this, args);
  };
  Object.defineProperty(wrapper, WRAPPER, { value: true });
  if (once) state.onceWrappers.add(wrapper);
  const list = state.wrappers.get(listener);
  if (list === undefined) state.wrappers.set(listener, [wrapper]);
  else list.push(wrapper);
  return wrapper;
}

function forget(state: SubscriptionState, listener: Listener, wrapper: Listener): void {
  const list = state.wrappers.get(listener);
  if (list === undefined) return;
  const i = list.lastIndexOf(wrapper);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) state.wrappers.delete(listener);
}

/** `on`, `addListener`, `prependListener` (and their `once` forms): a 'message' listener is added wrapped. */
export function traceAddListener(state: SubscriptionState, original: Method, once: boolean, name: string): Method {
  if (name === 'on' || name === 'once') state.raw[name] = original;
  return function addListener(this: unknown, event: unknown, listener: unknown, ...rest: unknown[]): unknown {
    if (event !== 'message' || typeof listener !== 'function' || state.handingBack || isWrapper(listener)) {
      return original.call(this, event, listener, ...rest);
    }
    return original.call(this, event, wrapperFor(state, listener as Listener, once), ...rest);
  };
}

/** `removeListener` / `off`: removing the original listener removes its (most recent) wrapper. */
export function traceRemoveListener(state: SubscriptionState, original: Method): Method {
  state.raw.removeListener ??= original;
  return function removeListener(this: unknown, event: unknown, listener: unknown, ...rest: unknown[]): unknown {
    if (event === 'message' && typeof listener === 'function') {
      const list = state.wrappers.get(listener as Listener);
      const wrapper = list?.[list.length - 1];
      if (wrapper !== undefined) {
        forget(state, listener as Listener, wrapper);
        return original.call(this, event, wrapper, ...rest);
      }
    }
    return original.call(this, event, listener, ...rest);
  };
}

/** `removeAllListeners`: forgets the wrappers it removes. */
export function traceRemoveAllListeners(state: SubscriptionState, original: Method): Method {
  return function removeAllListeners(this: unknown, ...args: unknown[]): unknown {
    if (args.length === 0 || args[0] === 'message') state.wrappers.clear();
    return original.apply(this, args);
  };
}

/**
 * When the subscription is untraced: each wrapper is replaced by the listener it stands for (added first, so
 * the client never sees zero listeners and never closes the stream), so removing the listener works afterwards.
 */
export function handBackListeners(state: SubscriptionState): void {
  const { on, once, removeListener } = state.raw;
  if (on === undefined || removeListener === undefined) return;
  const subscription = state.subscription;
  state.handingBack = true;
  try {
    for (const [listener, wrappers] of state.wrappers) {
      for (const wrapper of wrappers) {
        (state.onceWrappers.has(wrapper) && once !== undefined ? once : on).call(subscription, 'message', listener);
        removeListener.call(subscription, 'message', wrapper);
      }
    }
  } finally {
    state.handingBack = false;
    state.wrappers.clear();
  }
}
