// The consumer side: the pull APIs (receiveMessages, and so the message iterator; peekMessages;
// receiveDeferredMessages) as CLIENT spans with one link per message, and subscribe() with a process span per
// message by core's policy.
import { isThenable } from '@brokertrace/core';
import { ROOT_CONTEXT, context } from '@opentelemetry/api';
import type { Entity } from './destination.js';
import { log } from './diag.js';
import { addServiceBusLinkAttributes, messageAttributes, messageFacts } from './facts.js';
import type { MessageHandlersLike, ReceivedMessageLike } from './internal-types.js';
import { propertiesOf } from './carrier.js';
import type { ServiceBusTracing } from './tracing.js';
import type { ReceiveOperation } from './types.js';

type Method = (this: unknown, ...args: unknown[]) => unknown;

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object';
}

function finishPull(tracing: ServiceBusTracing, entity: Entity, operation: ReceiveOperation, startTime: number, parent: ReturnType<typeof context.active>, result: unknown, error?: unknown): void {
  const messages = Array.isArray(result) ? (result as unknown[]).filter(isObject) as ReceivedMessageLike[] : [];
  // An empty poll (the iterator polls in a loop) carries nothing to link to: no span, unless it failed.
  if (error === undefined && messages.length === 0) return;
  const telemetry = tracing.telemetry;
  const consumed = messages.map((m) => ({ facts: messageFacts(m, entity), carrier: propertiesOf(m) }));
  // The Service Bus attributes of each message (ids, delivery count, enqueued time): on the span when it received
  // one message, else on each message's link (the conventions' rule for per-message values of a batch).
  const only = messages.length === 1 ? messages[0]! : undefined;
  if (only === undefined) for (const m of consumed) addServiceBusLinkAttributes(m.facts);
  const { span } = telemetry.startBatch({
    destination: entity.destination,
    operationType: 'receive',
    operationName: operation,
    messages: consumed,
    metricAttributes: entity.metricAttributes,
    recordedAttributes: only !== undefined ? () => messageAttributes(only, consumed[0]!.facts) : undefined,
    parent,
    startTime,
  });
  telemetry.runHook(tracing.options.receiveHook, span, { destination: entity.destination, subscription: entity.subscription, operation, messages });
  telemetry.end(span, error);
}

/** A traced pull method (`receiveMessages`, `peekMessages`, `receiveDeferredMessages`) of one receiver. */
export function tracePull(tracing: ServiceBusTracing, entity: Entity, operation: ReceiveOperation, original: Method): Method {
  return function pull(this: unknown, ...args: unknown[]): unknown {
    if (!tracing.isActive() || tracing.telemetry.isIgnored(entity.destination)) return original.apply(this, args);
    // Called from user code: the caller's context is a legitimate parent for the receive span.
    const parent = context.active();
    const startTime = tracing.telemetry.now();
    const finish = (result: unknown, error?: unknown): void => {
      try {
        finishPull(tracing, entity, operation, startTime, parent, result, error);
      } catch (err) {
        log.error(`could not trace ${operation}`, err);
      }
    };
    let result: unknown;
    try {
      result = original.apply(this, args);
    } catch (err) {
      finish(undefined, err);
      throw err;
    }
    if (!isThenable(result)) {
      finish(result);
      return result;
    }
    return (result as Promise<unknown>).then(
      (messages) => {
        finish(messages);
        return messages;
      },
      (err: unknown) => {
        finish(undefined, err);
        throw err;
      },
    );
  };
}

/** The handler that runs the user's processMessage in a process span. */
function traceProcessMessage(tracing: ServiceBusTracing, entity: Entity, handlers: MessageHandlersLike): (message: ReceivedMessageLike) => Promise<void> {
  const original = Reflect.get(handlers, 'processMessage') as Method;
  return function processMessage(message: ReceivedMessageLike): Promise<void> {
    if (!tracing.isActive() || !isObject(message)) return original.call(handlers, message) as Promise<void>;
    const telemetry = tracing.telemetry;
    let started: ReturnType<typeof telemetry.startProcess> | undefined;
    try {
      const facts = messageFacts(message, entity);
      // The client calls handlers from the AMQP link's event callbacks (or inside Azure's own process span):
      // no ambient context is legitimate, so the policy sees the message's own context and a root.
      started = telemetry.startProcess({
        destination: entity.destination,
        facts,
        carrier: propertiesOf(message),
        attributes: messageAttributes(message, facts),
        metricAttributes: entity.metricAttributes,
        parent: ROOT_CONTEXT,
      });
      telemetry.runHook(tracing.options.consumerHook, started.span, { destination: entity.destination, subscription: entity.subscription, message });
      tracing.processed.set(message, started.context);
    } catch (err) {
      log.error('could not trace a message handed to subscribe(); the handler runs untraced', err);
    }
    if (started === undefined) return original.call(handlers, message) as Promise<void>;
    return telemetry.run(started.span, () => original.call(handlers, message) as Promise<void>, started.context);
  };
}

/** The traced `subscribe(handlers, options)` of one receiver; `afterSubscribe` hooks the link the client settles through. */
export function traceSubscribe(tracing: ServiceBusTracing, entity: Entity, original: Method, afterSubscribe: () => void): Method {
  return function subscribe(this: unknown, ...args: unknown[]): unknown {
    const handlers = args[0] as MessageHandlersLike | undefined;
    if (!tracing.isActive() || tracing.telemetry.isIgnored(entity.destination) || !isObject(handlers) || typeof handlers.processMessage !== 'function') {
      return original.apply(this, args);
    }
    // The user's object stays as it is: the client gets one that inherits from it with our processMessage.
    const wrapped = Object.create(handlers) as MessageHandlersLike;
    Object.defineProperty(wrapped, 'processMessage', { value: traceProcessMessage(tracing, entity, handlers), enumerable: true, writable: true, configurable: true });
    if (typeof handlers.processError === 'function') {
      const processError = Reflect.get(handlers, 'processError') as Method;
      Object.defineProperty(wrapped, 'processError', { value: (a: unknown) => processError.call(handlers, a), enumerable: true, writable: true, configurable: true });
    }
    const result = original.apply(this, [wrapped, ...args.slice(1)]);
    try {
      afterSubscribe();
    } catch (err) {
      log.debug('could not hook the automatic settlement of subscribe()', err);
    }
    return result;
  };
}
