// ack / nack / reject / ackAll / nackAll (and `allUpTo`): a CLIENT settle span per call, e.g. `ack {queue}`,
// with the delivery tag and, for a multi-message settle, how many deliveries it covered. A settlement made
// while the message's handler runs also goes on its process span (brokertrace.message.settlement).
import type { Attributes, Span } from '@opentelemetry/api';
import { ATTR_MESSAGING_RABBITMQ_MESSAGE_DELIVERY_TAG } from '@brokertrace/core';
import { isMessage } from './attributes.js';
import { existingChannelState, temporaryQueuesOf, type Unsettled } from './channel-state.js';
import { connectionInfo } from './connection-info.js';
import { consumeDestination, type AmqpDestination } from './destination.js';
import type { AnyMethod } from './internal-types.js';
import { log } from './log.js';
import { shared } from './shared.js';
import { ATTR_BROKERTRACE_MESSAGE_SETTLEMENT } from './semconv.js';
import type { AmqplibTracing, TracingSource } from './tracing.js';
import type { AmqplibSettlement } from './types.js';

export type SettleMethod = 'ack' | 'nack' | 'reject' | 'ackAll' | 'nackAll';

interface SettleCall {
  readonly operationName: 'ack' | 'nack' | 'reject';
  readonly tag: number | undefined;
  readonly multiple: boolean;
  readonly settlement: AmqplibSettlement;
}

function callOf(method: SettleMethod, args: readonly unknown[]): SettleCall {
  const tag = isMessage(args[0]) ? args[0].fields.deliveryTag : undefined;
  switch (method) {
    case 'ack':
      return { operationName: 'ack', tag, multiple: args[1] === true, settlement: 'ack' };
    case 'nack':
      // amqplib's default is requeue = true.
      return { operationName: 'nack', tag, multiple: args[1] === true, settlement: args[2] === false ? 'nack' : 'nack_requeue' };
    case 'reject':
      return { operationName: 'reject', tag, multiple: false, settlement: args[1] === false ? 'reject' : 'reject_requeue' };
    case 'ackAll':
      return { operationName: 'ack', tag: undefined, multiple: true, settlement: 'ack' };
    case 'nackAll':
      return { operationName: 'nack', tag: undefined, multiple: true, settlement: args[0] === false ? 'nack' : 'nack_requeue' };
  }
}

/** `brokertrace.message.settlement` of each settlement, one frozen object each (never built per call). */
const SETTLEMENT_ATTRIBUTES: Readonly<Record<AmqplibSettlement, Attributes>> = Object.freeze({
  ack: Object.freeze({ [ATTR_BROKERTRACE_MESSAGE_SETTLEMENT]: 'ack' }),
  nack: Object.freeze({ [ATTR_BROKERTRACE_MESSAGE_SETTLEMENT]: 'nack' }),
  nack_requeue: Object.freeze({ [ATTR_BROKERTRACE_MESSAGE_SETTLEMENT]: 'nack_requeue' }),
  reject: Object.freeze({ [ATTR_BROKERTRACE_MESSAGE_SETTLEMENT]: 'reject' }),
  reject_requeue: Object.freeze({ [ATTR_BROKERTRACE_MESSAGE_SETTLEMENT]: 'reject_requeue' }),
  auto_ack: Object.freeze({ [ATTR_BROKERTRACE_MESSAGE_SETTLEMENT]: 'auto_ack' }),
  channel_closed: Object.freeze({ [ATTR_BROKERTRACE_MESSAGE_SETTLEMENT]: 'channel_closed' }),
});

/** The connection's span attributes and the delivery tag (none for ackAll / nackAll). */
function settleAttributes(connection: Attributes, tag: number | undefined): Attributes {
  const attributes: Attributes = { ...connection };
  if (tag !== undefined && tag !== 0) attributes[ATTR_MESSAGING_RABBITMQ_MESSAGE_DELIVERY_TAG] = tag;
  return attributes;
}

const NO_DESTINATION: AmqpDestination = Object.freeze({ name: '', template: undefined, anonymous: false, temporary: false });

/** One destination for everything a call covered: theirs if they share one, their queue if they share that. */
function destinationOf(channel: object, covered: readonly Unsettled[], message: unknown): { destination: AmqpDestination; queue: string } {
  const first = covered[0];
  if (first === undefined) {
    // Not seen delivered (forgotten past the bound, or from an untraced consumer): the message still says where from.
    if (!isMessage(message)) return { destination: NO_DESTINATION, queue: '' };
    return { destination: consumeDestination(message.fields.exchange, message.fields.routingKey, '', temporaryQueuesOf(channel)), queue: '' };
  }
  let sameName = true;
  let sameQueue = true;
  for (let i = 1; i < covered.length; i++) {
    const other = covered[i]!;
    if (other.destination.name !== first.destination.name) sameName = false;
    if (other.queue !== first.queue) sameQueue = false;
  }
  if (sameName) return { destination: first.destination, queue: first.queue };
  if (sameQueue) return { destination: consumeDestination('', '', first.queue, temporaryQueuesOf(channel)), queue: first.queue };
  return { destination: NO_DESTINATION, queue: '' };
}

/** Starts the settle span of one call (undefined when what it covers is ignored) and marks running handlers. */
function startSettleSpan(tracing: AmqplibTracing, channel: object, call: SettleCall, message: unknown): Span | undefined {
  const covered = existingChannelState(channel)?.covered(call.tag, call.multiple) ?? [];
  for (const entry of covered) {
    // The handler is still running: the disposition belongs on its process span too.
    if (entry.process !== undefined) entry.process.setAttribute(ATTR_BROKERTRACE_MESSAGE_SETTLEMENT, call.settlement);
  }
  if (covered.length > 0 && covered.every((entry) => entry.ignored)) return undefined;
  const { telemetry, options } = tracing;
  // Settled inside the handlers of everything it covers: their process spans hold the disposition (opt-in).
  if (options.settleSpans === 'outside-handler' && covered.length > 0 && covered.every((entry) => entry.process !== undefined)) return undefined;
  const { destination, queue } = destinationOf(channel, covered, message);
  if (covered.length === 0 && destination.name !== '' && telemetry.isIgnored(destination.name)) return undefined;
  const connection = connectionInfo(channel);
  const messageCount = call.multiple ? covered.length : 1;
  const span = telemetry.startSettle({
    destination: destination.name,
    destinationTemplate: destination.template,
    anonymous: destination.anonymous,
    temporary: destination.temporary,
    operationName: call.operationName,
    // allUpTo, ackAll, nackAll settle several messages: messaging.batch.message_count, also when it is 1.
    batch: call.multiple,
    messageCount,
    // The disposition at start (a sampler may keep every nack); the tag and the peer only on a span that records.
    attributes: SETTLEMENT_ATTRIBUTES[call.settlement],
    recordedAttributes: () => settleAttributes(connection.spanAttributes, call.tag),
    metricAttributes: connection.metricAttributes,
  });
  telemetry.runHook(options.settleHook, span, { message: isMessage(message) ? message : undefined, queue, settlement: call.settlement, messageCount });
  return span;
}

/** Wraps one settle method; amqplib's own call runs inside the settle span, its errors rethrown unchanged. */
export function wrapSettle(method: SettleMethod, source: TracingSource, original: AnyMethod): AnyMethod {
  return function tracedSettle(this: unknown, ...args: unknown[]): unknown {
    const state = shared();
    // A channel traced explicitly and by the instrumentation has two wrappers: only the outermost call traces.
    const tracing = state.settleDepth > 0 ? undefined : source();
    if (tracing === undefined || typeof this !== 'object' || this === null) return original.apply(this, args);
    let call: SettleCall | undefined;
    let span: Span | undefined;
    try {
      call = callOf(method, args);
      span = startSettleSpan(tracing, this, call, args[0]);
    } catch (error) {
      log.error(`could not trace ${method}`, error);
    }
    let result: unknown;
    state.settleDepth++;
    try {
      result = original.apply(this, args);
    } catch (error) {
      if (span !== undefined) tracing.telemetry.end(span, error);
      throw error;
    } finally {
      state.settleDepth--;
    }
    if (span !== undefined) tracing.telemetry.end(span);
    if (call !== undefined) existingChannelState(this)?.settled(call.tag, call.multiple);
    return result;
  };
}
