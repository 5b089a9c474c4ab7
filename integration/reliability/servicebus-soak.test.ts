// Service Bus soak: the heap after forced GC at ten points of a long run through a traced client (arrays of
// messages sent, subscribe() with the automatic complete), with the per-message state bounded by configuration.
// One receiver for the whole run, subscribed anew for each step (a tenth of the run, at most 1,000 messages), which
// also shows that closed subscriptions leave nothing behind. CI runs 10,000 messages (44 s measured); the full soak is
//   BROKERTRACE_SOAK_MESSAGES=100000 scripts/pnpm exec jest integration/reliability/servicebus-soak --selectProjects integration
import { traceServiceBusClient } from '@brokertrace/service-bus';
import { expectBoundedHeap, ledgerProvider, soak, soakMessages, telemetry } from './support';
import { deliveryOf, drain, servicebusClient, servicebusMessage, subscribeUntil } from './servicebus-support';

telemetry();

const N = soakMessages(10_000);
/** A tenth of the run per step (one heap sample each), at most 1,000: a subscribe() each. */
const CHUNK = Math.min(1000, Math.ceil(N / 10));
const BOUND = 100;
const QUEUE = 'reliability-sb-soak';

test(`soak: ${N} messages through a traced Service Bus client, heap after GC bounded`, async () => {
  const { provider, ledger } = ledgerProvider();
  const client = traceServiceBusClient(await servicebusClient(), { tracerProvider: provider, policy: { duplicateWindow: { maxEntries: BOUND } } });
  let handled = 0;
  let outOfOrder = 0;
  let report;
  try {
    await drain(client, QUEUE);
    const sender = client.createSender(QUEUE);
    const receiver = client.createReceiver(QUEUE);
    report = await soak('servicebus soak (traced)', N, CHUNK, async (from, to) => {
      for (let i = from; i < to; i += 50) await sender.sendMessages(Array.from({ length: Math.min(50, to - i) }, (_, k) => servicebusMessage(i + k)));
      await subscribeUntil(
        receiver,
        (m) => {
          if (deliveryOf(m).index !== handled) outOfOrder++;
          handled++;
          return Promise.resolve();
        },
        () => handled >= to,
        120_000,
      );
    });
    await receiver.close();
    await sender.close();
  } finally {
    await client.close();
  }
  await provider.shutdown();

  expect(outOfOrder).toBe(0);
  expect(handled).toBe(N);
  expect(ledger.endedNamed('process ')).toBe(N);
  expect(ledger.openNames()).toEqual([]);
  expectBoundedHeap(report);
}, 3_600_000);
