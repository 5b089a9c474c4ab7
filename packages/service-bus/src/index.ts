// @brokertrace/service-bus: one trace from Azure Service Bus senders (@azure/service-bus 7.8 and 7.9) to every receiver.
import { onUnpatch, unpatchMethods } from '@brokertrace/core';
import type { ReceiverLike, SenderLike, ServiceBusClientLike } from './internal-types.js';
import { ServiceBusTracing } from './tracing.js';
import type { ServiceBusConfig } from './types.js';
import { wrapClient, wrapReceiver, wrapSender } from './wrap.js';

export { ServiceBusInstrumentation, SUPPORTED_VERSIONS } from './instrumentation.js';
export { TESTED_SERVICEBUS_VERSIONS } from './version.js';
export { DEFAULT_WRITE_DIAGNOSTIC_ID } from './config.js';
export {
  ATTR_BROKERTRACE_SERVICEBUS_BATCH_REJECTED,
  ATTR_BROKERTRACE_SERVICEBUS_DEAD_LETTER_REASON,
  ATTR_BROKERTRACE_SERVICEBUS_LOCKED_UNTIL,
  ATTR_BROKERTRACE_SERVICEBUS_SEQUENCE_NUMBER,
  ATTR_BROKERTRACE_SERVICEBUS_SEQUENCE_NUMBERS,
} from './attributes.js';
export type {
  ApplicationPropertyValue,
  LongLike,
  ReceiveOperation,
  ReceivedMessageLike,
  SendOperation,
  ServiceBusConfig,
  ServiceBusConsumerHookInfo,
  ServiceBusInstrumentationConfig,
  ServiceBusMessageLike,
  ServiceBusProducerHookInfo,
  ServiceBusReceiveHookInfo,
  ServiceBusSendHookInfo,
  ServiceBusSettleHookInfo,
  SettleOperation,
} from './types.js';
export type { ReceiverLike, SenderLike, ServiceBusClientLike };

function traced<T extends object>(target: T, config: ServiceBusConfig | undefined, wrap: (target: T, tracing: ServiceBusTracing) => boolean): T {
  let on = true;
  if (wrap(target, new ServiceBusTracing(config, () => on))) onUnpatch(target, () => (on = false));
  return target;
}

// The wrappers take any object (the client's own classes are not exported, and its interfaces are stricter than
// the shapes we read): what is not a sender/receiver/client of the known shape is left untraced, with a diag warning.

/**
 * Traces a ServiceBusSender in place and returns it: `sendMessages` (one message, an array, or a batch from its
 * `createMessageBatch`, whose `tryAddMessage` puts each message's context in before the client encodes it),
 * `scheduleMessages` and `cancelScheduledMessages`. A sender already traced is returned as it is. Throws
 * `BrokerTraceConfigError` for a bad option, naming it.
 *
 * @example
 * const sender = traceSender(client.createSender('orders'));
 * await sender.sendMessages({ body: { id: 1 } });
 */
export function traceSender<S extends object>(sender: S, config?: ServiceBusConfig): S {
  return traced(sender, config, (s, tracing) => wrapSender(s as unknown as SenderLike, tracing));
}

/**
 * Traces a ServiceBusReceiver (or ServiceBusSessionReceiver) in place and returns it: a `process` span per
 * message handed to `subscribe()` handlers, `receive` / `peek` / `receive_deferred` spans for the pull APIs and
 * the message iterator, settle spans for complete/abandon/defer/deadLetter (also the automatic ones of
 * `subscribe()`) and lock renewal.
 *
 * @example
 * traceReceiver(client.createReceiver('orders')).subscribe({ processMessage: async (m) => handle(m), processError: async () => {} });
 */
export function traceReceiver<R extends object>(receiver: R, config?: ServiceBusConfig): R {
  return traced(receiver, config, (r, tracing) => wrapReceiver(r as unknown as ReceiverLike, tracing));
}

/**
 * Traces every sender and receiver a ServiceBusClient creates from now on (`createSender`, `createReceiver`,
 * `acceptSession`, `acceptNextSession`), all with one configuration.
 *
 * @example
 * const client = traceServiceBusClient(new ServiceBusClient(connectionString));
 */
export function traceServiceBusClient<C extends object>(client: C, config?: ServiceBusConfig): C {
  return traced(client, config, (c, tracing) => wrapClient(c as unknown as ServiceBusClientLike, tracing));
}

/** Restores a sender traced by {@link traceSender}; false if it was not traced. Batches already made stay traced but pass through. */
export function untraceSender(sender: object): boolean {
  return unpatchMethods(sender);
}

/** Restores a receiver traced by {@link traceReceiver}; false if it was not traced. */
export function untraceReceiver(receiver: object): boolean {
  return unpatchMethods(receiver);
}

/** Stops tracing what a client creates (senders and receivers already traced stay traced); false if it was not traced. */
export function untraceServiceBusClient(client: object): boolean {
  return unpatchMethods(client);
}
