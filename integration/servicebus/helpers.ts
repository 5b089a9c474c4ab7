// Shared pieces of the service-bus integration tests: a client on the harness's Service Bus, draining a queue
// before a test, and receiving with a deadline (never sleeping).
import { ServiceBusClient } from '@azure/service-bus';
import type { ServiceBusClientOptions, ServiceBusReceivedMessage, ServiceBusReceiver } from '@azure/service-bus';
import { servicebus } from '../harness/index.js';
export { Countdown } from '../harness/countdown.js';

export async function connect(options?: ServiceBusClientOptions): Promise<ServiceBusClient> {
  return new ServiceBusClient((await servicebus()).connectionString, options);
}

/** Removes whatever an earlier run left in `queue` (the emulator keeps messages in memory for the whole run). */
export async function drain(client: ServiceBusClient, queue: string, subscription?: string): Promise<void> {
  const receiver = subscription === undefined
    ? client.createReceiver(queue, { receiveMode: 'receiveAndDelete' })
    : client.createReceiver(queue, subscription, { receiveMode: 'receiveAndDelete' });
  while ((await receiver.receiveMessages(100, { maxWaitTimeInMs: 200 })).length > 0);
  await receiver.close();
}

/** Receives until `count` messages arrived or `timeoutMs` passed; returns what arrived (not settled). */
export async function receive(receiver: ServiceBusReceiver, count: number, timeoutMs = 10_000): Promise<ServiceBusReceivedMessage[]> {
  const out: ServiceBusReceivedMessage[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < count && Date.now() < deadline) {
    const wait = Math.max(1, Math.min(2000, deadline - Date.now()));
    out.push(...(await receiver.receiveMessages(count - out.length, { maxWaitTimeInMs: wait })));
  }
  return out;
}

export function spanIdOf(traceparent: unknown): string | undefined {
  return typeof traceparent === 'string' ? traceparent.split('-')[2] : undefined;
}

export function traceIdOf(traceparent: unknown): string | undefined {
  return typeof traceparent === 'string' ? traceparent.split('-')[1] : undefined;
}
