// Settlement as CLIENT spans with `messaging.servicebus.disposition_status`: the receiver's public
// completeMessage / abandonMessage / deferMessage / deadLetterMessage, lock renewal, and the settlements
// subscribe() makes by itself (auto-complete after the handler, abandon after a throwing one), which call the
// client's internal functions, not the public methods: we see those at the link they go through.
import { ATTR_MESSAGING_SERVICEBUS_DISPOSITION_STATUS, isPatched, isThenable, patchMethods } from '@brokertrace/core';
import { context, trace } from '@opentelemetry/api';
import type { Attributes, Context, Span } from '@opentelemetry/api';
import { ATTR_BROKERTRACE_SERVICEBUS_LOCKED_UNTIL, DISPOSITIONS } from './attributes.js';
import type { Entity } from './destination.js';
import { log } from './diag.js';
import { messageAttributes, messageFacts } from './facts.js';
import type { LinkReceiverLike, ReceivedMessageLike } from './internal-types.js';
import type { ServiceBusTracing } from './tracing.js';
import type { SettleOperation } from './types.js';

type Method = (this: unknown, ...args: unknown[]) => unknown;

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object';
}

function startSettleSpan(tracing: ServiceBusTracing, entity: Entity, operation: SettleOperation, message: ReceivedMessageLike, parent: Context | undefined, automatic: boolean): Span {
  const attributes: Attributes = messageAttributes(message, messageFacts(message, entity));
  if (operation !== 'renew_message_lock') attributes[ATTR_MESSAGING_SERVICEBUS_DISPOSITION_STATUS] = operation;
  const start = { destination: entity.destination, operationName: operation, attributes, metricAttributes: entity.metricAttributes, parent };
  // A lock renewal settles nothing: a client operation of no conventional type.
  const span = operation === 'renew_message_lock' ? tracing.telemetry.startClientOperation(start) : tracing.telemetry.startSettle(start);
  tracing.telemetry.runHook(tracing.options.settleHook, span, { destination: entity.destination, subscription: entity.subscription, operation, message, automatic });
  return span;
}

/** A traced public settle method (`completeMessage`, ...) of one receiver. */
export function traceSettle(tracing: ServiceBusTracing, entity: Entity, operation: SettleOperation, original: Method): Method {
  return function settle(this: unknown, ...args: unknown[]): unknown {
    const message = args[0];
    if (!tracing.isActive() || tracing.telemetry.isIgnored(entity.destination) || !isObject(message)) return original.apply(this, args);
    let span: Span | undefined;
    try {
      span = startSettleSpan(tracing, entity, operation, message, undefined, false);
    } catch (err) {
      log.error(`could not trace ${operation}`, err);
    }
    if (span === undefined) return original.apply(this, args);
    const telemetry = tracing.telemetry;
    const ctx = trace.setSpan(context.active(), span);
    tracing.settlingExplicitly.add(message);
    const done = (): void => {
      tracing.settlingExplicitly.delete(message);
    };
    let result: unknown;
    try {
      result = context.with(ctx, () => original.apply(this, args));
    } catch (err) {
      done();
      telemetry.end(span, err);
      throw err;
    }
    if (!isThenable(result)) {
      done();
      telemetry.end(span);
      return result;
    }
    const s = span;
    return (result as Promise<unknown>).then(
      (value) => {
        done();
        if (operation === 'renew_message_lock' && value instanceof Date && s.isRecording()) s.setAttribute(ATTR_BROKERTRACE_SERVICEBUS_LOCKED_UNTIL, value.getTime());
        telemetry.end(s);
        return value;
      },
      (err: unknown) => {
        done();
        telemetry.end(s, err);
        throw err;
      },
    );
  };
}

/**
 * Hooks `settleMessage(message, operation, options)` of the link a subscribe() receives on (StreamingReceiver,
 * or a session's MessageSession): every settlement of that link passes there; those that did not come through
 * a traced public method are the client's automatic ones. Their span's parent is the message's process span.
 */
export function hookLinkSettlement(tracing: ServiceBusTracing, entity: Entity, link: LinkReceiverLike | undefined): void {
  if (!isObject(link) || typeof link.settleMessage !== 'function' || isPatched(link)) return;
  patchMethods(link, {
    settleMessage: (original) =>
      function settleMessage(this: unknown, ...args: unknown[]): unknown {
        const message = args[0];
        const operation = typeof args[1] === 'string' ? DISPOSITIONS[args[1]] : undefined;
        if (!tracing.isActive() || operation === undefined || !isObject(message) || tracing.settlingExplicitly.has(message) || tracing.telemetry.isIgnored(entity.destination)) {
          return original.apply(this, args);
        }
        let span: Span | undefined;
        const parent = tracing.processed.get(message) ?? context.active();
        try {
          span = startSettleSpan(tracing, entity, operation, message, parent, true);
        } catch (err) {
          log.error(`could not trace the automatic ${operation}`, err);
        }
        if (span === undefined) return original.apply(this, args);
        return tracing.telemetry.run(span, () => original.apply(this, args), trace.setSpan(parent, span));
      },
  });
}
