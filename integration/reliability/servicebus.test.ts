// Service Bus (@azure/service-bus + @brokertrace/service-bus): tracing never harms messages, and faults inside
// the tracing never change what the application sees. Against the harness's Service Bus (our emulator), on
// this file's queues of integration/servicebus-emulator/config.json.
import type { ServiceBusClient, ServiceBusReceivedMessage, ServiceBusReceiver, SubscribeOptions, MessageHandlers } from '@azure/service-bus';
import { traceReceiver, traceSender, traceServiceBusClient } from '@brokertrace/service-bus';
import type { ServiceBusConfig } from '@brokertrace/service-bus';
import { FaultError, describeTracingFaults, ledgerProvider, orderViolations, reliabilityMessages, telemetry } from './support';
import type { Fault } from './support';
import { SERVICEBUS_CI_MESSAGES, deliveryOf, drain, sendRange, servicebusClient, servicebusDiffs, servicebusMessage, servicebusRunDiffs, subscribeUntil } from './servicebus-support';
import type { ServiceBusDelivery } from './servicebus-support';

telemetry();

const N = reliabilityMessages(SERVICEBUS_CI_MESSAGES);
const QUEUE = 'reliability-sb';
const FAULT_QUEUE = 'reliability-sb-faults';
/** Sends 0..n-1 and receives them all through subscribe(), with a client traced with `config` (or plain). */
async function run(n: number, config: ServiceBusConfig | undefined): Promise<{ deliveries: ServiceBusDelivery[]; unchangedInputs: boolean; leftOver: number }> {
  const client = await servicebusClient();
  if (config) traceServiceBusClient(client, config);
  try {
    await drain(client, QUEUE);
    const sender = client.createSender(QUEUE);
    // One receiver for the whole run, however many messages.
    const receiver = client.createReceiver(QUEUE);
    const deliveries: ServiceBusDelivery[] = [];
    let sendError: unknown;
    const sending = sendRange(sender, 0, n).catch((error: unknown) => void (sendError = error));
    const errors: Error[] = [];
    await subscribeUntil(
      receiver,
      (m) => Promise.resolve(void deliveries.push(deliveryOf(m))),
      () => deliveries.length >= n || sendError !== undefined,
      300_000,
      (error) => errors.push(error),
      () => `${deliveries.length} of ${n} delivered; processError: ${errors.map(String).join('; ').slice(0, 300)}`,
    );
    const sent = await sending;
    if (sent === undefined) throw sendError;
    // Nothing left behind, nothing delivered twice (a duplicate would be waiting now).
    const leftOver = (await receiver.receiveMessages(10, { maxWaitTimeInMs: 300 })).length;
    // The caller's messages are as they were built (no context written into them).
    const unchangedInputs = sent.every((m, i) => JSON.stringify(m) === JSON.stringify(servicebusMessage(i)));
    await receiver.close();
    await sender.close();
    return { deliveries, unchangedInputs, leftOver };
  } finally {
    await client.close();
  }
}

describe(`no harm to messages: ${N} messages`, () => {
  test('traced and untraced clients deliver every message exactly as sent, once each, in send order', async () => {
    const { provider, ledger } = ledgerProvider();
    const plain = await run(N, undefined);
    const traced = await run(N, { tracerProvider: provider });

    for (const r of [plain, traced]) {
      expect(r.deliveries.map((d) => d.index).sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i));
      // One queue, one receiver, one message at a time: the emulator hands them over in sequence-number order.
      expect(orderViolations(r.deliveries).slice(0, 5)).toEqual([]);
      expect(r.leftOver).toBe(0);
      expect(r.unchangedInputs).toBe(true);
    }
    expect(plain.deliveries.flatMap((d) => servicebusDiffs(d, false)).slice(0, 10)).toEqual([]);
    expect(traced.deliveries.flatMap((d) => servicebusDiffs(d, true)).slice(0, 10)).toEqual([]);
    // Whatever the client decoded (types of numbers and dates included) is the same traced and untraced.
    expect(plain.deliveries.flatMap((d, i) => servicebusRunDiffs(d, traced.deliveries[i]!)).slice(0, 10)).toEqual([]);
    // The context travelled with every message, except those with a Diagnostic-Id of their own (an Azure SDK's
    // context, kept as the message's: the diffs above checked it arrived unchanged).
    const carried = (d: ServiceBusDelivery): boolean => typeof d.message.applicationProperties?.traceparent === 'string' || d.index % 17 === 0;
    expect(traced.deliveries.filter((d) => !carried(d)).map((d) => d.index).slice(0, 5)).toEqual([]);
    expect(ledger.endedNamed('process ')).toBe(N);
    expect(ledger.endedNamed('complete ')).toBe(N);
    expect(ledger.openNames()).toEqual([]);
    await provider.shutdown();
  }, 900_000);
});

const FAULT_MESSAGES = 30;
const FAILING_INDEX = 7;

interface Observed {
  /** Index of each message the client handed to the handler it was given (ours, when traced). */
  calls: number[];
  /** What that handler threw back to the client. */
  thrownToClient: unknown[];
  /** What the client passed to processError. */
  errors: unknown[];
}

/** A recorder between the client and whatever handlers reach it (installed before tracing, so it sits below). */
function observeSubscribe(receiver: ServiceBusReceiver): Observed {
  const observed: Observed = { calls: [], thrownToClient: [], errors: [] };
  const original = receiver.subscribe.bind(receiver);
  receiver.subscribe = (handlers: MessageHandlers, options?: SubscribeOptions) =>
    original(
      {
        processMessage: async (m: ServiceBusReceivedMessage) => {
          observed.calls.push(deliveryOf(m).index);
          try {
            await handlers.processMessage(m);
          } catch (error) {
            observed.thrownToClient.push(error);
            throw error;
          }
        },
        processError: async (args) => {
          observed.errors.push(args.error);
          await handlers.processError(args);
        },
      },
      options,
    );
  return observed;
}

let faultClient: ServiceBusClient;
beforeAll(async () => {
  faultClient = await servicebusClient();
});
afterAll(() => faultClient.close());

async function faultScenario(fault: Fault): Promise<void> {
  const hook = fault.hook;
  const config: ServiceBusConfig = { tracerProvider: fault.provider, producerHook: hook, sendHook: hook, consumerHook: hook, receiveHook: hook, settleHook: hook };
  await drain(faultClient, FAULT_QUEUE);
  const sender = traceSender(faultClient.createSender(FAULT_QUEUE), config);
  const receiver = faultClient.createReceiver(FAULT_QUEUE);
  const observed = observeSubscribe(receiver);
  traceReceiver(receiver, config);
  try {
    await sendRange(sender, 0, FAULT_MESSAGES);
    const handled: number[] = [];
    const thrown: unknown[] = [];
    const errors: unknown[] = [];
    const completed = new Set<number>();
    await subscribeUntil(
      receiver,
      async (m) => {
        const d = deliveryOf(m);
        handled.push(d.index);
        await Promise.resolve();
        if (d.index === FAILING_INDEX && thrown.length === 0) {
          const error = new FaultError(`handler of #${d.index}`);
          thrown.push(error);
          throw error; // the client abandons it and calls processError
        }
        expect(servicebusDiffs(d, true)).toEqual([]);
        completed.add(d.index);
      },
      () => completed.size >= FAULT_MESSAGES,
      30_000, // below the test's timeout, so that a failure says how far it got
      (error) => errors.push(error),
      () => `${completed.size} of ${FAULT_MESSAGES} completed; handler calls ${handled.join(',')}; errors to the client ${observed.thrownToClient.length}`,
    );
    // Every delivery reached the handler once, the failed one twice (abandoned, redelivered).
    expect(observed.calls.slice().sort((a, b) => a - b)).toEqual(handled.slice().sort((a, b) => a - b));
    expect(handled.filter((i) => i === FAILING_INDEX)).toHaveLength(2);
    // The handler's error reached the client, and the application's processError, as the same object.
    expect(observed.thrownToClient).toHaveLength(1);
    expect(observed.thrownToClient[0]).toBe(thrown[0]);
    expect(errors).toContain(thrown[0]);
    expect(observed.errors).toEqual(errors);
    expect((await receiver.receiveMessages(5, { maxWaitTimeInMs: 300 })).length).toBe(0);
  } finally {
    await receiver.close();
    await sender.close();
  }
}

describeTracingFaults('faults inside the tracing', 'sends and deliveries are unchanged, the handler error passes through', faultScenario);
