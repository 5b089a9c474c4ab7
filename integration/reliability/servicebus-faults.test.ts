// Service Bus faults on the harness's emulator, traced and untraced side by side: the client's connection dropped
// at the socket while a handler runs (the client reconnects; sends and the subscription go on), and a message
// lock lost mid-handler (a 5 s lock, a slower handler: its complete fails with MessageLockLost and the message
// comes back). The application sees the same thing either way: the same errors, as the client's own objects,
// the same deliveries; in the traced run no span is left open and the failed settle's span says why.
// Each test touches only its own queue (reliability-sb-drop, reliability-sb-lock).
import type { ServiceBusClient, ServiceBusReceivedMessage, ServiceBusReceiver } from '@azure/service-bus';
import { ATTR_ERROR_TYPE } from '@brokertrace/core';
import { traceReceiver, traceSender } from '@brokertrace/service-bus';
import { dropServicebusConnections } from '../harness/index';
import { quietDiag, telemetry, waitUntil } from './support';
import { deliveryOf, drain, sendRange, servicebusClient, servicebusDiffs } from './servicebus-support';

const t = telemetry();
const DROP_QUEUE = 'reliability-sb-drop';
const LOCK_QUEUE = 'reliability-sb-lock';

let restoreDiag: () => void;
beforeEach(async () => {
  restoreDiag = quietDiag();
  await t.reset();
});
afterEach(() => restoreDiag());

/** What the application saw of a failure: the client's error, by its fields. */
function described(error: unknown): Record<string, unknown> {
  const e = error as { name?: unknown; code?: unknown; message?: unknown; retryable?: unknown };
  return { name: e.name, code: e.code, retryable: e.retryable, message: typeof e.message === 'string' ? e.message.replace(/[0-9a-f-]{36}/g, '<uuid>') : e.message };
}

/** A recorder below the wrapper (installed before tracing): what the client's own method threw. */
function recordThrows(receiver: ServiceBusReceiver, method: 'completeMessage'): Set<unknown> {
  const thrown = new Set<unknown>();
  const original = receiver[method].bind(receiver);
  receiver[method] = async (m: ServiceBusReceivedMessage) => {
    try {
      await original(m);
    } catch (error) {
      thrown.add(error);
      throw error;
    }
  };
  return thrown;
}

describe('connection dropped while a handler runs', () => {
  const BEFORE = 20;
  const AFTER = 20;
  const HELD = 10; // the message whose handler is running when the connection goes

  interface Outcome {
    handled: number[];
    errors: Record<string, unknown>[];
    diffs: string[];
    dropped: number;
  }

  async function scenario(traced: boolean): Promise<Outcome> {
    const client: ServiceBusClient = await servicebusClient({ retryOptions: { maxRetries: 5, retryDelayInMs: 200, timeoutInMs: 10_000 } });
    try {
      await drain(client, DROP_QUEUE);
      const sender = client.createSender(DROP_QUEUE);
      const receiver = client.createReceiver(DROP_QUEUE, { maxAutoLockRenewalDurationInMs: 0 });
      if (traced) {
        traceSender(sender);
        traceReceiver(receiver);
      }
      const outcome: Outcome = { handled: [], errors: [], diffs: [], dropped: 0 };
      const distinct = new Set<number>();
      let dropDone: Promise<void> | undefined;
      const subscription = receiver.subscribe(
        {
          processMessage: async (m) => {
            const d = deliveryOf(m);
            outcome.handled.push(d.index);
            outcome.diffs.push(...servicebusDiffs(d, traced));
            if (d.index === HELD && dropDone === undefined) {
              // the connection goes while this handler runs; the client settles it afterwards
              dropDone = dropServicebusConnections(DROP_QUEUE).then((n) => void (outcome.dropped = n));
              await dropDone;
            }
            distinct.add(d.index);
          },
          processError: (args) => Promise.resolve(void outcome.errors.push({ source: args.errorSource, ...described(args.error) })),
        },
        { maxConcurrentCalls: 1 },
      );
      try {
        await sendRange(sender, 0, BEFORE);
        await waitUntil(() => dropDone !== undefined, 30_000, () => `${distinct.size} handled before the drop`);
        await dropDone;
        // Sending goes on through the dropped connection: the client reconnects.
        await sendRange(sender, BEFORE, BEFORE + AFTER);
        await waitUntil(() => distinct.size >= BEFORE + AFTER, 120_000, () => `${distinct.size} of ${BEFORE + AFTER} handled after the drop`);
      } finally {
        await subscription.close();
        await receiver.close();
        await sender.close();
      }
      return outcome;
    } finally {
      await client.close();
    }
  }

  test('traced and untraced: the client reconnects, every message is handled, the same errors reach processError; no span open', async () => {
    const plain = await scenario(false);
    await t.reset();
    const traced = await scenario(true);

    for (const o of [plain, traced]) {
      expect(o.dropped).toBeGreaterThanOrEqual(1);
      expect([...new Set(o.handled)].sort((a, b) => a - b)).toEqual(Array.from({ length: BEFORE + AFTER }, (_, i) => i));
      expect(o.diffs.slice(0, 5)).toEqual([]);
    }
    process.stdout.write(`servicebus connection drop: handler calls plain ${plain.handled.length}, traced ${traced.handled.length}; processError plain ${JSON.stringify(plain.errors)}, traced ${JSON.stringify(traced.errors)}\n`);
    expect(traced.handled).toEqual(plain.handled);
    expect(traced.errors).toEqual(plain.errors);

    await waitUntil(() => t.openSpans().length === 0, 10_000, () => `open: ${t.openSpans().map((s) => s.name).join(', ')}`);
    expect(t.spans().filter((s) => s.name.startsWith('process ')).length).toBe(traced.handled.length);
  }, 300_000);
});

describe('lock lost mid-handler', () => {
  const SLOW = 0; // its handler outlasts the 5 s lock
  const COUNT = 3;

  interface Outcome {
    completeErrors: Record<string, unknown>[];
    /** The error the application caught is the object the client's completeMessage threw. */
    sameObject: boolean[];
    deliveries: Array<[number, number | undefined]>;
  }

  async function scenario(traced: boolean): Promise<Outcome> {
    const client = await servicebusClient();
    try {
      await drain(client, LOCK_QUEUE);
      const sender = client.createSender(LOCK_QUEUE);
      // No automatic lock renewal: the lock ends after the queue's LockDuration (PT5S).
      const receiver = client.createReceiver(LOCK_QUEUE, { maxAutoLockRenewalDurationInMs: 0 });
      const thrown = recordThrows(receiver, 'completeMessage');
      if (traced) {
        traceSender(sender);
        traceReceiver(receiver);
      }
      const outcome: Outcome = { completeErrors: [], sameObject: [], deliveries: [] };
      const completed = new Set<number>();
      const subscription = receiver.subscribe(
        {
          processMessage: async (m) => {
            const d = deliveryOf(m);
            outcome.deliveries.push([d.index, m.deliveryCount]);
            if (d.index === SLOW && m.deliveryCount === 0) {
              const lockedUntil = m.lockedUntilUtc?.getTime() ?? Date.now();
              await new Promise((resolve) => setTimeout(resolve, Math.max(0, lockedUntil - Date.now()) + 1500));
            }
            try {
              await receiver.completeMessage(m);
              completed.add(d.index);
            } catch (error) {
              outcome.completeErrors.push(described(error));
              outcome.sameObject.push(thrown.has(error));
            }
          },
          processError: () => Promise.resolve(),
        },
        { maxConcurrentCalls: 1, autoCompleteMessages: false },
      );
      try {
        await sendRange(sender, 0, COUNT);
        await waitUntil(() => completed.size >= COUNT, 60_000, () => `${completed.size} of ${COUNT} completed`);
      } finally {
        await subscription.close();
        await receiver.close();
        await sender.close();
      }
      return outcome;
    } finally {
      await client.close();
    }
  }

  test('traced and untraced: complete fails with MessageLockLost (the client error, unchanged), the message comes back and is completed; no span open', async () => {
    const plain = await scenario(false);
    await t.reset();
    const traced = await scenario(true);

    expect(plain.completeErrors).toEqual([expect.objectContaining({ code: 'MessageLockLost' })]);
    expect(traced.completeErrors).toEqual(plain.completeErrors);
    expect(plain.sameObject).toEqual([true]);
    expect(traced.sameObject).toEqual([true]);
    // The slow message came back with its delivery count raised, after the others or among them.
    for (const o of [plain, traced]) expect(o.deliveries.filter(([i]) => i === SLOW).map(([, count]) => count)).toEqual([0, 1]);

    await waitUntil(() => t.openSpans().length === 0, 10_000, () => `open: ${t.openSpans().map((s) => s.name).join(', ')}`);
    const completes = t.spans().filter((s) => s.name.startsWith('complete '));
    expect(completes.filter((s) => s.attributes[ATTR_ERROR_TYPE] !== undefined).map((s) => s.attributes[ATTR_ERROR_TYPE])).toEqual(['MessageLockLost']);
    expect(completes.length).toBe(COUNT + 1);
    expect(t.spans().filter((s) => s.name.startsWith('process ')).length).toBe(COUNT + 1);
  }, 120_000);
});
