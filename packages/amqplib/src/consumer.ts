// consume: a `process` span per delivered message, ended when the message is settled on its channel (ack, nack,
// reject, also `allUpTo`, ackAll, nackAll), when a noAck handler finishes, or when the channel closes.
// get: a `receive` span per call. Per-channel state lives in a WeakMap, never on amqplib's objects.
import { context, diag, type Attributes, type Span } from '@opentelemetry/api';
import {
  ATTR_MESSAGING_MESSAGE_CONVERSATION_ID,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_RABBITMQ_DESTINATION_ROUTING_KEY,
  ATTR_MESSAGING_RABBITMQ_MESSAGE_DELIVERY_TAG,
  isThenable,
} from '@brokertrace/core';
import { consumeDestination } from './destination.js';
import { messageId, readFacts } from './facts.js';
import type { AmqpMessage, AnyMethod } from './internal-types.js';
import type { StateSource, TracingState } from './state.js';
import type { AmqplibSettlement } from './types.js';

/** How a process span ended (see {@link AmqplibSettlement}); project-namespaced, documented in the README. */
export const ATTR_BROKERTRACE_MESSAGE_SETTLEMENT = 'brokertrace.message.settlement';

interface PendingMessage {
  readonly span: Span;
  readonly message: AmqpMessage;
  readonly queue: string;
  readonly state: TracingState;
  /** The handler threw or its promise rejected: the span ends with this error once the message is settled. */
  error?: unknown;
}

/** Unsettled messages of one channel by delivery tag; tags only grow, so Map order is tag order. */
const pendingByChannel = new WeakMap<object, Map<number, PendingMessage>>();
/** Handlers we made, so a second wrapper (explicit + instrumentation) does not trace twice. */
const tracedHandlers = new WeakSet<object>();
let getDepth = 0;

function isMessage(value: unknown): value is AmqpMessage {
  if (typeof value !== 'object' || value === null) return false;
  const fields = (value as { fields?: unknown }).fields;
  return typeof fields === 'object' && fields !== null && typeof (fields as { deliveryTag?: unknown }).deliveryTag === 'number';
}

/** Queues whose handler rejections were reported once through diag (bounded: queue names may be generated). */
const queuesWarned = new Set<string>();
const MAX_QUEUES_WARNED = 1000;

/**
 * An async handler's rejection goes on its span. The observer never rethrows: whoever holds the handler's
 * promise (a wrapper, another instrumentation) still sees the rejection, and we add no unhandled one of ours.
 */
function noteRejection(result: unknown, entry: PendingMessage): void {
  try {
    if (result === null || (typeof result !== 'object' && typeof result !== 'function')) return;
    const then: unknown = (result as { then?: unknown }).then;
    if (typeof then !== 'function') return;
    then.call(result, undefined, (error: unknown) => {
      entry.error = error;
      if (!queuesWarned.has(entry.queue) && queuesWarned.size < MAX_QUEUES_WARNED) {
        queuesWarned.add(entry.queue);
        diag.warn(`@brokertrace/amqplib: a consume handler of queue ${entry.queue} rejected; the error is on its span (Node no longer reports it as unhandled)`, error);
      }
    });
  } catch (error) {
    diag.debug('@brokertrace/amqplib: could not observe the handler result', error);
  }
}

function messageAttributes(message: AmqpMessage, withTag: boolean): Attributes {
  const attributes: Attributes = {};
  const routingKey = message.fields.routingKey;
  if (typeof routingKey === 'string' && routingKey) attributes[ATTR_MESSAGING_RABBITMQ_DESTINATION_ROUTING_KEY] = routingKey;
  if (withTag) attributes[ATTR_MESSAGING_RABBITMQ_MESSAGE_DELIVERY_TAG] = message.fields.deliveryTag;
  const id = messageId(message);
  if (id !== undefined) attributes[ATTR_MESSAGING_MESSAGE_ID] = id;
  const correlationId = message.properties?.correlationId;
  if (typeof correlationId === 'string' && correlationId) attributes[ATTR_MESSAGING_MESSAGE_CONVERSATION_ID] = correlationId;
  return attributes;
}

function finish(pending: PendingMessage, settlement: AmqplibSettlement): void {
  const { span, state } = pending;
  span.setAttribute(ATTR_BROKERTRACE_MESSAGE_SETTLEMENT, settlement);
  state.telemetry.runHook(state.config.settleHook, span, { message: pending.message, queue: pending.queue, settlement });
  state.telemetry.end(span, pending.error);
}

/** Ends the spans of the messages a settle call covered: one tag, every tag up to it, or all (tag 0 + multiple). */
function settle(channel: object, tag: number | undefined, multiple: boolean, settlement: AmqplibSettlement): void {
  const pending = pendingByChannel.get(channel);
  if (pending === undefined || pending.size === 0) return;
  if (!multiple) {
    if (tag === undefined) return;
    const one = pending.get(tag);
    if (one === undefined) return;
    pending.delete(tag);
    finish(one, settlement);
    return;
  }
  const all = tag === undefined || tag === 0;
  for (const [t, one] of pending) {
    if (!all && t > tag) break;
    pending.delete(t);
    finish(one, settlement);
  }
}

/** On close (by us, by the server, or with the connection) nothing left can be settled: end every span. */
function watchClose(channel: object): Map<number, PendingMessage> {
  const existing = pendingByChannel.get(channel);
  if (existing !== undefined) return existing;
  const created = new Map<number, PendingMessage>();
  pendingByChannel.set(channel, created);
  const on = (channel as { on?: unknown }).on;
  if (typeof on === 'function') {
    (on as AnyMethod).call(channel, 'close', () => {
      try {
        for (const [tag, one] of created) {
          created.delete(tag);
          finish(one, 'channel_closed');
        }
      } catch (error) {
        diag.error('@brokertrace/amqplib: could not end spans on channel close', error);
      }
    });
  }
  return created;
}

function startProcess(state: TracingState, message: AmqpMessage, queue: string) {
  const destination = consumeDestination(message.fields.exchange, message.fields.routingKey, queue);
  if (state.telemetry.isIgnored(destination) || state.telemetry.isIgnored(queue)) return undefined;
  const facts = readFacts(message, queue, state.config.deadLetterIsReplay !== false);
  const started = state.telemetry.startProcess({
    destination,
    facts,
    carrier: message.properties?.headers,
    attributes: messageAttributes(message, true),
  });
  state.telemetry.runHook(state.config.consumeHook, started.span, { message, queue });
  return started;
}

/** Wraps `consume(queue, onMessage, options?, callback?)`: the handler runs inside its message's process span. */
export function wrapConsume(source: StateSource, original: AnyMethod): AnyMethod {
  return function tracedConsume(this: unknown, ...args: unknown[]): unknown {
    const [queueArg, handler, options] = args;
    if (typeof handler !== 'function' || tracedHandlers.has(handler) || typeof this !== 'object' || this === null) {
      return original.apply(this, args);
    }
    if (source() === undefined) return original.apply(this, args);
    const queue = typeof queueArg === 'string' ? queueArg : '';
    const noAck = typeof options === 'object' && options !== null && Boolean((options as { noAck?: unknown }).noAck);
    const pending = noAck ? undefined : watchClose(this);
    const traced = function tracedHandler(this: unknown, ...handlerArgs: unknown[]): unknown {
      const message = handlerArgs[0];
      const state = source();
      // null is the broker cancelling the consumer: nothing to trace.
      if (state === undefined || !isMessage(message)) return (handler as AnyMethod).apply(this, handlerArgs);
      let started: ReturnType<typeof startProcess>;
      try {
        started = startProcess(state, message, queue);
      } catch (error) {
        diag.error('@brokertrace/amqplib: could not trace a delivery', error);
      }
      if (started === undefined) return (handler as AnyMethod).apply(this, handlerArgs);
      const { span, context: spanContext } = started;
      if (pending === undefined) {
        // noAck: the broker settled it on delivery; the span covers the handler (and its promise).
        span.setAttribute(ATTR_BROKERTRACE_MESSAGE_SETTLEMENT, 'auto_ack');
        return state.telemetry.run(span, () => (handler as AnyMethod).apply(this, handlerArgs), spanContext);
      }
      const entry: PendingMessage = { span, message, queue, state };
      // Registered before the handler runs: it may ack synchronously.
      pending.set(message.fields.deliveryTag, entry);
      let result: unknown;
      try {
        result = context.with(spanContext, () => (handler as AnyMethod).apply(this, handlerArgs));
      } catch (error) {
        // Kept open: the message is still unsettled; a settle or the close that usually follows ends it.
        entry.error = error;
        throw error;
      }
      noteRejection(result, entry);
      return result;
    };
    tracedHandlers.add(traced);
    const tracedArgs = args.slice();
    tracedArgs[1] = traced;
    return original.apply(this, tracedArgs);
  };
}

type SettleKind = 'ack' | 'nack' | 'reject' | 'ackAll' | 'nackAll';

function settlementOf(kind: SettleKind, args: readonly unknown[]): { tag: number | undefined; multiple: boolean; settlement: AmqplibSettlement } {
  const tagOf = (m: unknown) => (isMessage(m) ? m.fields.deliveryTag : undefined);
  switch (kind) {
    case 'ack':
      return { tag: tagOf(args[0]), multiple: args[1] === true, settlement: 'ack' };
    case 'nack':
      // amqplib's default is requeue = true.
      return { tag: tagOf(args[0]), multiple: args[1] === true, settlement: args[2] === false ? 'nack' : 'nack_requeue' };
    case 'reject':
      return { tag: tagOf(args[0]), multiple: false, settlement: args[1] === false ? 'reject' : 'reject_requeue' };
    case 'ackAll':
      return { tag: undefined, multiple: true, settlement: 'ack' };
    case 'nackAll':
      return { tag: undefined, multiple: true, settlement: args[0] === false ? 'nack' : 'nack_requeue' };
  }
}

/** Wraps ack / nack / reject / ackAll / nackAll: once amqplib has sent the frame, the covered spans end. */
export function wrapSettle(kind: SettleKind, original: AnyMethod): AnyMethod {
  return function tracedSettle(this: unknown, ...args: unknown[]): unknown {
    const result = original.apply(this, args);
    if (typeof this === 'object' && this !== null && pendingByChannel.has(this)) {
      try {
        const { tag, multiple, settlement } = settlementOf(kind, args);
        settle(this, tag, multiple, settlement);
      } catch (error) {
        diag.error(`@brokertrace/amqplib: could not end spans on ${kind}`, error);
      }
    }
    return result;
  };
}

/** Ends a get's receive span with what came back: a message, `false` (queue empty) or an error. */
function endReceive(state: TracingState, queue: string, startTime: number, parent: ReturnType<typeof context.active>, error: unknown, reply: unknown): void {
  const message = isMessage(reply) ? reply : undefined;
  const destination = message ? consumeDestination(message.fields.exchange, message.fields.routingKey, queue) : queue;
  const messages = message
    ? [{ facts: readFacts(message, queue, state.config.deadLetterIsReplay !== false), carrier: message.properties?.headers }]
    : [];
  const { span } = state.telemetry.startReceive({
    destination,
    messages,
    parent,
    startTime,
    attributes: message ? messageAttributes(message, true) : undefined,
  });
  state.telemetry.end(span, error === null || error === undefined ? undefined : error);
}

/**
 * Wraps `get(queue, options?, callback?)`. The receive span is started once the reply is known, dated from the
 * call, so that the link to the message's creation context is there when samplers look.
 */
export function wrapGet(source: StateSource, original: AnyMethod): AnyMethod {
  return function tracedGet(this: unknown, ...args: unknown[]): unknown {
    const state = getDepth > 0 ? undefined : source();
    const queue = typeof args[0] === 'string' ? args[0] : '';
    if (state === undefined || state.telemetry.isIgnored(queue)) return original.apply(this, args);
    const startTime = Date.now();
    const parent = context.active();
    let ended = false;
    const end = (error: unknown, reply: unknown) => {
      if (ended) return;
      ended = true;
      try {
        endReceive(state, queue, startTime, parent, error, reply);
      } catch (e) {
        diag.error('@brokertrace/amqplib: could not trace get', e);
      }
    };
    // The callback API replies through args[2]; the promise API ignores it and returns a promise.
    const callerCallback = args[2];
    const tracedArgs = args.slice();
    tracedArgs[2] = function onGet(this: unknown, ...replyArgs: unknown[]): unknown {
      end(replyArgs[0], replyArgs[1]);
      return typeof callerCallback === 'function' ? (callerCallback as AnyMethod).apply(this, replyArgs) : undefined;
    };
    let result: unknown;
    getDepth++;
    try {
      result = original.apply(this, tracedArgs);
    } catch (error) {
      end(error, undefined);
      throw error;
    } finally {
      getDepth--;
    }
    if (!isThenable(result)) return result;
    return result.then(
      (reply) => {
        end(undefined, reply);
        return reply;
      },
      (error: unknown) => {
        end(error, undefined);
        throw error;
      },
    );
  };
}
