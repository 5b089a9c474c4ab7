// publish / sendToQueue: one `send` span per call, the trace context added to a copy of the caller's headers.
import { diag, type Span } from '@opentelemetry/api';
import {
  ATTR_MESSAGING_MESSAGE_CONVERSATION_ID,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_RABBITMQ_DESTINATION_ROUTING_KEY,
  BROKER_LIMITS,
  RABBITMQ_HEADER_FRAME_MARGIN,
  type CarrierLimits,
} from '@brokertrace/core';
import type { Attributes } from '@opentelemetry/api';
import { publishDestination } from './destination.js';
import type { AnyMethod } from './internal-types.js';
import type { StateSource, TracingState } from './state.js';

// ConfirmChannel#publish calls Channel#publish (and a channel traced both explicitly and by the instrumentation
// has two wrappers): only the outermost call traces. publish is synchronous, so a depth counter is exact.
let publishDepth = 0;

/** Headers and options as a new object: every key the caller's headers hold (own or inherited), then ours. */
function withHeaders(options: unknown, fields: Readonly<Record<string, string>>): Record<string, unknown> {
  const source = typeof options === 'object' && options !== null ? (options as Record<string, unknown>) : {};
  const callerHeaders = source.headers;
  const headers: Record<string, unknown> = {};
  if (typeof callerHeaders === 'object' && callerHeaders !== null) {
    // for..in like amqplib's encoder, so inherited keys travel as they would have.
    for (const key in callerHeaders) headers[key] = (callerHeaders as Record<string, unknown>)[key];
  }
  for (const key of Object.keys(fields)) headers[key] = fields[key];
  return { ...source, headers };
}

/**
 * amqplib encodes the headers table into a fixed 65536-byte scratch buffer and throws a RangeError past it
 * (lib/defs.js, lib/codec.js in 2.x), well below RabbitMQ's frame_max. We keep 1 KiB of it for the sizes core
 * can only estimate (numbers, arrays, nested tables such as x-death).
 */
export const AMQPLIB_HEADER_TABLE_BUDGET = 65536 - 1024;

const defaultLimits: CarrierLimits = {
  ...BROKER_LIMITS.rabbitmq,
  maxTotalBytes: Math.min(BROKER_LIMITS.rabbitmq.maxTotalBytes ?? Infinity, AMQPLIB_HEADER_TABLE_BUDGET),
};
let lastFrameMax: { frameMax: number; limits: CarrierLimits } | undefined;

/** The header budget of one publish: amqplib's table buffer, or the connection's frame_max if that is smaller. */
function limitsFor(channel: unknown): CarrierLimits {
  const frameMax = (channel as { connection?: { frameMax?: unknown } } | null)?.connection?.frameMax;
  if (typeof frameMax !== 'number' || frameMax - RABBITMQ_HEADER_FRAME_MARGIN >= (defaultLimits.maxTotalBytes ?? Infinity)) return defaultLimits;
  if (lastFrameMax?.frameMax !== frameMax) {
    lastFrameMax = { frameMax, limits: { ...defaultLimits, maxTotalBytes: Math.max(0, frameMax - RABBITMQ_HEADER_FRAME_MARGIN) } };
  }
  return lastFrameMax.limits;
}

function publishAttributes(routingKey: string, options: Record<string, unknown> | undefined): Attributes {
  const attributes: Attributes = {};
  if (routingKey) attributes[ATTR_MESSAGING_RABBITMQ_DESTINATION_ROUTING_KEY] = routingKey;
  const messageId = options?.messageId;
  if (typeof messageId === 'string' && messageId) attributes[ATTR_MESSAGING_MESSAGE_ID] = messageId;
  const correlationId = options?.correlationId;
  if (typeof correlationId === 'string' && correlationId) attributes[ATTR_MESSAGING_MESSAGE_CONVERSATION_ID] = correlationId;
  return attributes;
}

interface PreparedPublish {
  span: Span;
  args: unknown[];
}

function preparePublish(state: TracingState, channel: unknown, args: unknown[], confirm: boolean): PreparedPublish | undefined {
  const [exchange, routingKey, content, options] = args;
  const destination = publishDestination(exchange, routingKey);
  if (state.telemetry.isIgnored(destination)) return undefined;
  const callerOptions = typeof options === 'object' && options !== null ? (options as Record<string, unknown>) : undefined;
  const span = state.telemetry.startSend({
    destination,
    attributes: publishAttributes(typeof routingKey === 'string' ? routingKey : '', callerOptions),
  });
  const injected = state.telemetry.inject(span, callerOptions?.headers as Record<string, unknown> | undefined, limitsFor(channel));
  const sentOptions = withHeaders(options, injected.fields);
  const newArgs = args.slice();
  newArgs[3] = sentOptions;
  state.telemetry.runHook(state.config.publishHook, span, {
    exchange: typeof exchange === 'string' ? exchange : '',
    routingKey: typeof routingKey === 'string' ? routingKey : '',
    content: content instanceof Uint8Array ? content : new Uint8Array(0),
    options: sentOptions,
    confirm,
  });
  return { span, args: newArgs };
}

/**
 * Wraps `publish` (which `sendToQueue` calls). On a confirm channel (it has `waitForConfirms`) the span ends on
 * the broker's confirm, an nack or a close before the confirm marking it failed; elsewhere it ends on return.
 */
export function wrapPublish(source: StateSource, original: AnyMethod): AnyMethod {
  return function tracedPublish(this: unknown, ...args: unknown[]): unknown {
    if (publishDepth > 0) return original.apply(this, args);
    const state = source();
    if (state === undefined) return original.apply(this, args);
    const confirm = typeof (this as { waitForConfirms?: unknown } | null)?.waitForConfirms === 'function';
    const prepared = (() => {
      try {
        return preparePublish(state, this, args, confirm);
      } catch (error) {
        diag.error('@brokertrace/amqplib: could not trace publish', error);
        return undefined;
      }
    })();
    if (prepared === undefined) return original.apply(this, args);
    const { span, args: sentArgs } = prepared;
    const { telemetry } = state;
    if (confirm) {
      const callerCallback = args[4];
      sentArgs[4] = function onConfirm(this: unknown, ...confirmArgs: unknown[]): unknown {
        const error = confirmArgs[0];
        telemetry.end(span, error === null || error === undefined ? undefined : error);
        return typeof callerCallback === 'function' ? (callerCallback as AnyMethod).apply(this, confirmArgs) : undefined;
      };
    }
    let result: unknown;
    publishDepth++;
    try {
      result = original.apply(this, sentArgs);
    } catch (error) {
      telemetry.end(span, error);
      throw error;
    } finally {
      publishDepth--;
    }
    if (!confirm) telemetry.end(span);
    return result;
  };
}
