// Tracing one client object in place (shared by the explicit wrappers and the instrumentation): a sender,
// a receiver (session receivers too), a ServiceBusClient (every sender and receiver it creates from then on).
import { isPatched, isThenable, onUnpatch, patchMethods, unpatchMethods } from '@brokertrace/core';
import { entityOf, serverOf } from './destination.js';
import { log, warnOnce } from './diag.js';
import type { ReceiverLike, SenderLike, ServiceBusClientLike } from './internal-types.js';
import { tracePull, traceSubscribe } from './receive.js';
import { traceCancelScheduled, traceCreateMessageBatch, traceScheduleMessages, traceSendMessages } from './send.js';
import { hookLinkSettlement, traceSettle } from './settle.js';
import type { ServiceBusTracing } from './tracing.js';

type Method = (this: unknown, ...args: unknown[]) => unknown;
// What each wrapper needs at the least; the other methods are traced when present.
const SENDER_METHODS = ['sendMessages', 'createMessageBatch'] as const;
const RECEIVER_METHODS = ['receiveMessages', 'subscribe', 'completeMessage'] as const;
const CLIENT_METHODS = ['createSender', 'createReceiver'] as const;

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object';
}

/**
 * True when `value` is an object with every method named (what the wrappers rely on) and, for senders and
 * receivers, a string `entityPath`; otherwise says so once per kind through `diag.warn` (an untested
 * @azure/service-bus version, or not a client object at all), and the caller returns it untraced.
 */
export function recognised(value: unknown, kind: 'sender' | 'receiver' | 'ServiceBusClient', methods: readonly string[]): value is Record<string, unknown> {
  let missing: string[];
  try {
    missing = isObject(value) ? methods.filter((m) => typeof value[m] !== 'function') : [...methods];
    if (missing.length === 0 && kind !== 'ServiceBusClient' && entityPathOf(value as { entityPath?: unknown }) === undefined) missing = ['entityPath'];
  } catch {
    missing = [...methods];
  }
  if (missing.length === 0) return true;
  const what = value === null ? 'null' : isObject(value) ? `an object without ${missing.join(', ')}` : typeof value;
  warnOnce(`unrecognised:${kind}`, `expected an @azure/service-bus ${kind} (with ${methods.join(', ')}${kind === 'ServiceBusClient' ? '' : ', entityPath'}), got ${what}; returned untraced (an untested @azure/service-bus version?)`);
  return false;
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
  if (!recognised(sender, 'sender', SENDER_METHODS) || alreadyTraced(sender)) return false;
  const path = entityPathOf(sender)!;
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
  if (!recognised(receiver, 'receiver', RECEIVER_METHODS) || alreadyTraced(receiver)) return false;
  const path = entityPathOf(receiver)!;
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
  if (!recognised(client, 'ServiceBusClient', CLIENT_METHODS) || alreadyTraced(client)) return false;
  const host = namespaceOf(client);
  return patchMethods(client, clientFactories(tracing, () => host));
}

export { namespaceOf };
