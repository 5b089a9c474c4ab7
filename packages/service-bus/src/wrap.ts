// Tracing one client object in place (shared by the explicit wrappers and the instrumentation): a sender,
// a receiver (session receivers too), a ServiceBusClient (every sender and receiver it creates from then on).
import { isPatched, isThenable, onUnpatch, patchMethods, unpatchMethods } from '@brokertrace/core';
import { entityOf, serverOf } from './destination.js';
import { log } from './diag.js';
import type { ReceiverLike, SenderLike, ServiceBusClientLike } from './internal-types.js';
import { tracePull, traceSubscribe } from './receive.js';
import { traceCancelScheduled, traceCreateMessageBatch, traceScheduleMessages, traceSendMessages } from './send.js';
import { hookLinkSettlement, traceSettle } from './settle.js';
import type { ServiceBusTracing } from './tracing.js';

type Method = (this: unknown, ...args: unknown[]) => unknown;

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object';
}

function alreadyTraced(target: object): boolean {
  if (!isPatched(target)) return false;
  log.debug('object already traced, left as it is');
  return true;
}

function entityPathOf(target: { entityPath?: unknown }): string | undefined {
  try {
    const path = target.entityPath;
    return typeof path === 'string' && path !== '' ? path : undefined;
  } catch {
    return undefined;
  }
}

/** Traces `sender` in place; false when it was already traced or cannot be changed. */
export function wrapSender(sender: SenderLike, tracing: ServiceBusTracing, host?: string): boolean {
  if (!isObject(sender) || alreadyTraced(sender)) return false;
  const path = entityPathOf(sender);
  if (path === undefined) {
    log.warn('this sender has no entityPath (an untested @azure/service-bus version?); left untraced');
    return false;
  }
  const entity = entityOf(path, serverOf(sender._context, host));
  return patchMethods(sender, {
    sendMessages: (original) => traceSendMessages(tracing, entity, original),
    createMessageBatch: (original) => traceCreateMessageBatch(tracing, entity, original),
    scheduleMessages: (original) => traceScheduleMessages(tracing, entity, original),
    cancelScheduledMessages: (original) => traceCancelScheduled(tracing, entity, original),
  });
}

/** Traces `receiver` (or a session receiver) in place; false when it was already traced or cannot be changed. */
export function wrapReceiver(receiver: ReceiverLike, tracing: ServiceBusTracing, host?: string): boolean {
  if (!isObject(receiver) || alreadyTraced(receiver)) return false;
  const path = entityPathOf(receiver);
  if (path === undefined) {
    log.warn('this receiver has no entityPath (an untested @azure/service-bus version?); left untraced');
    return false;
  }
  const entity = entityOf(path, serverOf(receiver._context, host));
  const hookLinks = (): void => {
    // subscribe() creates the StreamingReceiver; a session receiver has its MessageSession from the start.
    hookLinkSettlement(tracing, entity, receiver._streamingReceiver);
    hookLinkSettlement(tracing, entity, receiver._messageSession);
  };
  const patched = patchMethods(receiver, {
    receiveMessages: (original) => tracePull(tracing, entity, 'receive', original),
    peekMessages: (original) => tracePull(tracing, entity, 'peek', original),
    receiveDeferredMessages: (original) => tracePull(tracing, entity, 'receive_deferred', original),
    subscribe: (original) => traceSubscribe(tracing, entity, original, hookLinks),
    completeMessage: (original) => traceSettle(tracing, entity, 'complete', original),
    abandonMessage: (original) => traceSettle(tracing, entity, 'abandon', original),
    deferMessage: (original) => traceSettle(tracing, entity, 'defer', original),
    deadLetterMessage: (original) => traceSettle(tracing, entity, 'dead_letter', original),
    renewMessageLock: (original) => traceSettle(tracing, entity, 'renew_message_lock', original),
  });
  if (patched) {
    try {
      hookLinks();
    } catch (err) {
      log.debug('could not hook the session link', err);
    }
    onUnpatch(receiver, () => {
      for (const link of [receiver._streamingReceiver, receiver._messageSession]) if (isObject(link)) unpatchMethods(link);
    });
  }
  return patched;
}

/** Traces what the client made; never throws into the caller. */
export function traceMade(made: unknown, kind: 'sender' | 'receiver', tracing: ServiceBusTracing, host?: string): void {
  if (!tracing.isActive() || !isObject(made)) return;
  try {
    if (kind === 'sender') wrapSender(made as unknown as SenderLike, tracing, host);
    else wrapReceiver(made as unknown as ReceiverLike, tracing, host);
  } catch (err) {
    log.error(`${kind} left untraced`, err);
  }
}

function namespaceOf(client: ServiceBusClientLike): string | undefined {
  try {
    const ns = client.fullyQualifiedNamespace;
    return typeof ns === 'string' && ns !== '' ? ns : undefined;
  } catch {
    return undefined;
  }
}

/** The factory methods of a ServiceBusClient, traced: what they return (or resolve to) is traced. */
export function clientFactories(tracing: ServiceBusTracing, hostOf: (client: unknown) => string | undefined): Record<string, (original: Method) => Method> {
  const sync = (kind: 'sender' | 'receiver') => (original: Method) =>
    function factory(this: unknown, ...args: unknown[]): unknown {
      const made = original.apply(this, args);
      traceMade(made, kind, tracing, hostOf(this));
      return made;
    };
  const session = (original: Method) =>
    function acceptSession(this: unknown, ...args: unknown[]): unknown {
      const result = original.apply(this, args);
      if (!isThenable(result)) return result;
      return (result as Promise<unknown>).then((receiver) => {
        traceMade(receiver, 'receiver', tracing, hostOf(this));
        return receiver;
      });
    };
  return { createSender: sync('sender'), createReceiver: sync('receiver'), acceptSession: session, acceptNextSession: session };
}

/** Traces every sender and receiver `client` creates from now on (session receivers too). */
export function wrapClient(client: ServiceBusClientLike, tracing: ServiceBusTracing): boolean {
  if (!isObject(client) || alreadyTraced(client)) return false;
  const host = namespaceOf(client);
  return patchMethods(client, clientFactories(tracing, () => host));
}

export { namespaceOf };
