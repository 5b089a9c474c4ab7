// get: a CLIENT `receive` span per call, child of the caller's context. amqplib's get returns one message or
// none, so it is a single-message API: no messaging.batch.message_count. The span starts once the reply is
// known, dated from the call, so that its link to the message's creation context is there when samplers look.
import { context, type Context } from '@opentelemetry/api';
import { isThenable } from '@brokertrace/core';
import { isMessage, messageAttributes } from './attributes.js';
import { channelState, temporaryQueuesOf } from './channel-state.js';
import { connectionInfo } from './connection-info.js';
import { consumeDestination, destinationFields } from './destination.js';
import { readFacts } from './facts.js';
import type { AnyMethod } from './internal-types.js';
import { log } from './log.js';
import { shared } from './shared.js';
import type { AmqplibTracing, TracingSource } from './tracing.js';

interface GetCall {
  readonly channel: object;
  readonly queue: string;
  readonly noAck: boolean;
  readonly startTime: number;
  readonly parent: Context;
}

/** Ends a get's receive span with what came back: a message, `false` (queue empty) or an error. */
function endReceive(tracing: AmqplibTracing, call: GetCall, error: unknown, reply: unknown): void {
  const { telemetry, options } = tracing;
  const { channel, queue } = call;
  const message = isMessage(reply) ? reply : undefined;
  const temporary = temporaryQueuesOf(channel);
  const destination = message
    ? consumeDestination(message.fields.exchange, message.fields.routingKey, queue, temporary)
    : consumeDestination('', '', queue, temporary);
  const connection = connectionInfo(channel);
  if (message !== undefined && !call.noAck) {
    // Unsettled until acked: a later multi-message ack counts it.
    channelState(channel).track(message.fields.deliveryTag, { destination, queue, ignored: false, process: undefined });
  }
  const { span } = telemetry.startBatch({
    ...destinationFields(destination),
    operationType: 'receive',
    // One message or none: a single-message API (semconv S9: no messaging.batch.message_count).
    batch: false,
    messages: message ? [{ facts: readFacts(message, queue, options.deadLetterIsReplay, options.redeliveries), carrier: message.properties?.headers }] : [],
    parent: call.parent,
    startTime: call.startTime,
    attributes: message ? messageAttributes(message, connection.spanAttributes) : connection.spanAttributes,
    metricAttributes: connection.metricAttributes,
  });
  telemetry.end(span, error === null || error === undefined ? undefined : error);
}

/** Wraps `get(queue, options?, callback?)` of either API. */
export function wrapGet(source: TracingSource, original: AnyMethod): AnyMethod {
  return function tracedGet(this: unknown, ...args: unknown[]): unknown {
    const state = shared();
    const tracing = state.getDepth > 0 ? undefined : source();
    const queue = typeof args[0] === 'string' ? args[0] : '';
    if (tracing === undefined || typeof this !== 'object' || this === null || tracing.telemetry.isIgnored(queue)) return original.apply(this, args);
    const getOptions = args[1];
    const call: GetCall = {
      channel: this,
      queue,
      noAck: typeof getOptions === 'object' && getOptions !== null && Boolean((getOptions as { noAck?: unknown }).noAck),
      startTime: tracing.telemetry.now(),
      parent: context.active(),
    };
    let ended = false;
    const end = (error: unknown, reply: unknown) => {
      if (ended) return;
      ended = true;
      try {
        endReceive(tracing, call, error, reply);
      } catch (e) {
        log.error('could not trace get', e);
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
    state.getDepth++;
    try {
      result = original.apply(this, tracedArgs);
    } catch (error) {
      end(error, undefined);
      throw error;
    } finally {
      state.getDepth--;
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
