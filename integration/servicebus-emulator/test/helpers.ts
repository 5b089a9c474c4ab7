// Shared by the emulator's tests: one client per file, and receiving with a deadline (never sleeping).
import { ServiceBusClient, type ServiceBusClientOptions, type ServiceBusReceivedMessage, type ServiceBusReceiver } from '@azure/service-bus';
import { servicebus } from '../../harness/index.js';

export async function connect(options?: ServiceBusClientOptions): Promise<ServiceBusClient> {
  return new ServiceBusClient((await servicebus()).connectionString, options);
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

export async function receiveOne(receiver: ServiceBusReceiver, timeoutMs = 10_000): Promise<ServiceBusReceivedMessage> {
  const [message] = await receive(receiver, 1, timeoutMs);
  if (!message) throw new Error(`no message from ${receiver.entityPath} within ${timeoutMs} ms`);
  return message;
}

export function seq(message: ServiceBusReceivedMessage): number {
  return Number(message.sequenceNumber?.toString());
}
