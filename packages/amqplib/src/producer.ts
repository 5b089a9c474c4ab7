// publish / sendToQueue: one `send` span per call (amqplib publishes one message per call, so the send span is
// the creation context), the trace context added to a copy of the caller's options and headers.
import type { Span } from '@opentelemetry/api';
import {
  ATTR_MESSAGING_MESSAGE_CONVERSATION_ID,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_RABBITMQ_DESTINATION_ROUTING_KEY,
  BROKER_LIMITS,
  RABBITMQ_HEADER_FRAME_MARGIN,
  copyWith,
  type CarrierLimits,
} from '@brokertrace/core';
import type { Attributes } from '@opentelemetry/api';
import { temporaryQueuesOf } from './channel-state.js';
import { connectionInfo } from './connection-info.js';
import { destinationFields, publishDestination } from './destination.js';
import type { AnyMethod } from './internal-types.js';
import { log } from './log.js';
import { shared } from './shared.js';
import type { AmqplibTracing, TracingSource } from './tracing.js';

/**
 * The options as sent: a new object holding every option of the caller's, with its own `headers`: every key the
 * caller's headers hold (own or inherited, for..in like amqplib's encoder), then ours. Nothing the caller passed is
 * written to: core's `copyWith` copies plain options (an object literal, the usual case) as they are, and any other
 * (a class instance, getters on a prototype) into a plain object holding its fields and its getters' values, so
 * amqplib finds everything the caller's options inherit.
 */
function withHeaders(options: unknown, fields: Readonly<Record<string, string>>): Record<string, unknown> {
  const source = typeof options === 'object' && options !== null ? (options as Record<string, unknown>) : undefined;
  const callerHeaders = source?.headers;
  const headers: Record<string, unknown> = {};
  if (typeof callerHeaders === 'object' && callerHeaders !== null) {
    for (const key in callerHeaders) headers[key] = (callerHeaders as Record<string, unknown>)[key];
  }
  for (const key of Object.keys(fields)) headers[key] = fields[key];
  return source === undefined ? { headers } : copyWith(source, 'headers', headers);
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

/** Basic properties encoded as AMQP short strings (1 length byte + the bytes). */
const SHORT_STRING_PROPERTIES = ['contentType', 'contentEncoding', 'correlationId', 'replyTo', 'expiration', 'messageId', 'type', 'userId', 'appId', 'clusterId'] as const;
// Frame header and end (8), class/weight/body size/flags (14), timestamp, priority, delivery mode (10), the
// headers table's length (4), and 1 KiB for what core can only estimate of the table (as for the table budget).
const FIXED_HEADER_FRAME_BYTES = 8 + 14 + 10 + 4 + 1024;

/**
 * What the content header frame of this publish needs besides its headers: the properties it actually carries.
 * Only used for a connection whose frame_max is small (amqplib before 0.10.6 asks for 4096 by default), where
 * core's worst-case margin (8 KiB, every property at 255 bytes) would leave no room at all and drop every context.
 */
function headerFrameMargin(options: Record<string, unknown> | undefined): number {
  let bytes = FIXED_HEADER_FRAME_BYTES;
  if (options === undefined) return bytes;
  for (const name of SHORT_STRING_PROPERTIES) {
    const value = options[name];
    // 255 bytes is the most a short string holds; a value that is not a string counts as the longest.
    if (value !== undefined && value !== null) bytes += 1 + (typeof value === 'string' ? Math.min(255, Buffer.byteLength(value)) : 255);
  }
  return bytes;
}

/**
 * The header budget of one publish: amqplib's table buffer, or the connection's frame_max if that is smaller (then
 * less this publish's own properties).
 */
function limitsFor(channel: unknown, options: Record<string, unknown> | undefined): CarrierLimits {
  const frameMax = (channel as { connection?: { frameMax?: unknown } } | null)?.connection?.frameMax;
  if (typeof frameMax !== 'number' || frameMax - RABBITMQ_HEADER_FRAME_MARGIN >= (defaultLimits.maxTotalBytes ?? Infinity)) return defaultLimits;
  return { ...defaultLimits, maxTotalBytes: Math.max(0, frameMax - headerFrameMargin(options)) };
}

/** Ids and the peer address: only for a span that records (no sampler needs them; a dropped span costs none). */
function recordedAttributes(options: Record<string, unknown> | undefined, peer: Attributes): Attributes {
  const attributes: Attributes = { ...peer };
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

function preparePublish(tracing: AmqplibTracing, channel: object, args: unknown[], confirm: boolean): PreparedPublish | undefined {
  const { telemetry, options: config } = tracing;
  const [exchange, routingKey, content, options] = args;
  const destination = publishDestination(exchange, routingKey, temporaryQueuesOf(channel));
  if (telemetry.isIgnored(destination.name)) return undefined;
  const callerOptions = typeof options === 'object' && options !== null ? (options as Record<string, unknown>) : undefined;
  const connection = connectionInfo(channel);
  const { span, injections } = telemetry.startSend({
    ...destinationFields(destination),
    // At the start, for samplers: the routing key (server.* come with the metric attributes).
    attributes: typeof routingKey === 'string' && routingKey ? { [ATTR_MESSAGING_RABBITMQ_DESTINATION_ROUTING_KEY]: routingKey } : undefined,
    recordedAttributes: () => recordedAttributes(callerOptions, connection.spanAttributes),
    metricAttributes: connection.metricAttributes,
    messages: [{ existing: callerOptions?.headers as Record<string, unknown> | undefined, limits: limitsFor(channel, callerOptions) }],
  });
  try {
    const injected = injections[0];
    // undefined: the message keeps the context it carries (existingContext 'keep'), or there is nothing to add.
    const sentOptions = injected === undefined ? options : withHeaders(options, injected.fields);
    const newArgs = args.slice();
    newArgs[3] = sentOptions;
    telemetry.runHook(config.publishHook, span, {
      exchange: typeof exchange === 'string' ? exchange : '',
      routingKey: typeof routingKey === 'string' ? routingKey : '',
      content: content instanceof Uint8Array ? content : new Uint8Array(0),
      options: (sentOptions ?? {}) as Record<string, unknown>,
      confirm,
    });
    return { span, args: newArgs };
  } catch (error) {
    // Nothing was published by this span: it ends with the error and counts no message.
    telemetry.endUnsent(span, error);
    throw error;
  }
}

/**
 * Wraps `publish` (which `sendToQueue` calls). On a confirm channel (it has `waitForConfirms`) the span ends on
 * the broker's confirm, an nack or a close before the confirm marking it failed; elsewhere it ends on return.
 */
export function wrapPublish(source: TracingSource, original: AnyMethod): AnyMethod {
  return function tracedPublish(this: unknown, ...args: unknown[]): unknown {
    const depth = shared();
    // ConfirmChannel#publish calls Channel#publish, and a channel traced twice has two wrappers: only the
    // outermost call traces.
    if (depth.publishDepth > 0 || typeof this !== 'object' || this === null) return original.apply(this, args);
    const tracing = source();
    if (tracing === undefined) return original.apply(this, args);
    const confirm = typeof (this as { waitForConfirms?: unknown }).waitForConfirms === 'function';
    let prepared: PreparedPublish | undefined;
    try {
      prepared = preparePublish(tracing, this, args, confirm);
    } catch (error) {
      log.error('could not trace publish', error);
    }
    if (prepared === undefined) return original.apply(this, args);
    const { span, args: sentArgs } = prepared;
    const { telemetry } = tracing;
    if (confirm) {
      const callerCallback = args[4];
      sentArgs[4] = function onConfirm(this: unknown, ...confirmArgs: unknown[]): unknown {
        const error = confirmArgs[0];
        telemetry.end(span, error === null || error === undefined ? undefined : error);
        return typeof callerCallback === 'function' ? (callerCallback as AnyMethod).apply(this, confirmArgs) : undefined;
      };
    }
    let result: unknown;
    depth.publishDepth++;
    try {
      result = original.apply(this, sentArgs);
    } catch (error) {
      telemetry.end(span, error);
      throw error;
    } finally {
      depth.publishDepth--;
    }
    if (!confirm) telemetry.end(span);
    return result;
  };
}
