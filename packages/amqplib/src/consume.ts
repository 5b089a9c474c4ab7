// consume: a `process` span per delivered message, covering the handler: it ends when the handler returns, or
// when the promise it returned settles. It starts from the message's own context or a root, never from the
// context amqplib happens to deliver in (the socket's, i.e. whoever called connect()). Settling is settle.ts.
import { ROOT_CONTEXT, context, type Span } from '@opentelemetry/api';
import { isThenable } from '@brokertrace/core';
import { isMessage, messageAttributes } from './attributes.js';
import { channelState, temporaryQueuesOf, type ChannelState } from './channel-state.js';
import { connectionInfo } from './connection-info.js';
import { readFacts } from './facts.js';
import type { AmqpMessage, AnyMethod } from './internal-types.js';
import { log } from './log.js';
import { ATTR_BROKERTRACE_MESSAGE_SETTLEMENT } from './semconv.js';
import { shared } from './shared.js';
import type { AmqplibTracing, TracingSource } from './tracing.js';

function startProcess(tracing: AmqplibTracing, channel: object, message: AmqpMessage, queue: string) {
  const { telemetry, options } = tracing;
  const destination = temporaryQueuesOf(channel).consumeDestination(message.fields.exchange, message.fields.routingKey, queue);
  if (telemetry.isIgnored(destination.name) || (queue !== destination.name && telemetry.isIgnored(queue))) return { destination, started: undefined };
  const connection = connectionInfo(channel);
  const started = telemetry.startProcess({
    destination: destination.name,
    destinationTemplate: destination.template,
    anonymous: destination.anonymous,
    temporary: destination.temporary,
    // The message's context, or none: never the active one (amqplib delivers in the socket's async context).
    parent: ROOT_CONTEXT,
    facts: readFacts(message, queue, options.deadLetterIsReplay, options.redeliveries),
    carrier: message.properties?.headers,
    // Ids, tags and the peer address: only for a span that records (no sampler needs them).
    recordedAttributes: () => messageAttributes(message, connection.spanAttributes),
    metricAttributes: connection.metricAttributes,
  });
  telemetry.runHook(options.consumeHook, started.span, { message, queue });
  return { destination, started };
}

/** The handler is done with its message: a settlement from now on no longer goes on its process span. */
function handlerDone(state: ChannelState | undefined, message: AmqpMessage, span: Span): void {
  if (state === undefined) return;
  const entry = state.entry(message.fields.deliveryTag);
  if (entry?.process === span) entry.process = undefined;
}

/**
 * Ends the process span when the handler is done, and returns what the handler's caller gets. For a promise, the
 * span ends when it settles, observed by a branch that passes the value on and rethrows the rejection; that
 * branch is what the caller gets back. amqplib ignores a handler's result, so a rejection stays unhandled and
 * Node reports it (by default: exits) with the same reason, as without brokertrace; a wrapper below us that
 * handles what the handler returns handles our branch, so nothing extra is reported either. (Only a handler
 * that handles its own promise and also returns it would see one more report: README, known limits.)
 */
function endWhenDone(tracing: AmqplibTracing, span: Span, result: unknown, state: ChannelState | undefined, message: AmqpMessage): unknown {
  if (!isThenable(result)) {
    handlerDone(state, message, span);
    tracing.telemetry.end(span);
    return result;
  }
  const finish = (error?: unknown) => {
    handlerDone(state, message, span);
    tracing.telemetry.end(span, error);
  };
  try {
    const branch: unknown = result.then(
      (value: unknown) => {
        finish();
        return value;
      },
      (error: unknown) => {
        finish(error);
        throw error;
      },
    );
    // A promise-like whose then() returns nothing usable: hand back the handler's own result.
    return isThenable(branch) ? branch : result;
  } catch (error) {
    // A thenable whose then() throws: nothing to wait for.
    finish(error);
    return result;
  }
}

/** Wraps `consume(queue, onMessage, options?, callback?)`: the handler runs inside its message's process span. */
export function wrapConsume(source: TracingSource, original: AnyMethod): AnyMethod {
  return function tracedConsume(this: unknown, ...args: unknown[]): unknown {
    const [queueArg, handler, consumeOptions] = args;
    const { tracedHandlers } = shared();
    if (typeof handler !== 'function' || tracedHandlers.has(handler) || typeof this !== 'object' || this === null) {
      return original.apply(this, args);
    }
    if (source() === undefined) return original.apply(this, args);
    const channel: object = this; // eslint-disable-line @typescript-eslint/no-this-alias -- the handler runs with amqplib's `this`
    const queue = typeof queueArg === 'string' ? queueArg : '';
    const noAck = typeof consumeOptions === 'object' && consumeOptions !== null && Boolean((consumeOptions as { noAck?: unknown }).noAck);
    const traced = function tracedHandler(this: unknown, ...handlerArgs: unknown[]): unknown {
      const message = handlerArgs[0];
      const tracing = source();
      // null is the broker cancelling the consumer: nothing to trace.
      if (tracing === undefined || !isMessage(message)) return (handler as AnyMethod).apply(this, handlerArgs);
      let state: ChannelState | undefined;
      let process: ReturnType<typeof startProcess> | undefined;
      try {
        state = noAck ? undefined : channelState(channel);
        process = startProcess(tracing, channel, message, queue);
        // Known to the channel before the handler runs (it may ack synchronously), also when not traced, so that
        // a multi-message settle counts it.
        state?.track(message.fields.deliveryTag, {
          destination: process.destination,
          queue,
          ignored: process.started === undefined,
          process: process.started?.span,
        });
      } catch (error) {
        log.error('could not trace a delivery', error);
      }
      const started = process?.started;
      if (started === undefined) return (handler as AnyMethod).apply(this, handlerArgs);
      const { span } = started;
      // noAck: the broker settled it on delivery.
      if (noAck) span.setAttribute(ATTR_BROKERTRACE_MESSAGE_SETTLEMENT, 'auto_ack');
      let result: unknown;
      try {
        result = context.with(started.context, handler as AnyMethod, this, ...handlerArgs);
      } catch (error) {
        handlerDone(state, message, span);
        tracing.telemetry.end(span, error);
        throw error;
      }
      return endWhenDone(tracing, span, result, state, message);
    };
    tracedHandlers.add(traced);
    const tracedArgs = args.slice();
    tracedArgs[1] = traced;
    return original.apply(this, tracedArgs);
  };
}
