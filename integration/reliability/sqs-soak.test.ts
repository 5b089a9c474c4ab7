// SQS soak: the heap after forced GC at ten points of a long run through a traced client (sqsTracing, send
// batches, ReceiveMessage, processMessage, DeleteMessageBatch), with the per-message state bounded by
// configuration. moto slows down with every message queued, so the queue is kept shallow (50 at a time), and it
// answers in 40 to 250 ms per call on the shared machine: CI runs 500 messages (20 to 40 s); the full soak is
//   BROKERTRACE_SOAK_MESSAGES=100000 scripts/pnpm exec jest integration/reliability/sqs-soak --selectProjects integration
import type { Message } from '@aws-sdk/client-sqs';
import { processMessage, sqsTracing } from '@brokertrace/sqs';
import { expectBoundedHeap, ledgerProvider, soak, soakMessages, telemetry } from './support';
import { deleteQueue, deliveryOf, receiveAll, sendRange, sqsClient, testQueue } from './sqs-support';

telemetry();

const N = soakMessages(500);
const CHUNK = 50;
/** Per-message state bounded by configuration, small enough to fill in the first tenth of a CI run. */
const BOUND = 50;

test(`soak: ${N} messages through a traced SQS client, heap after GC bounded`, async () => {
  const { provider, ledger } = ledgerProvider(); // counts spans, keeps none
  const client = await sqsClient();
  client.middlewareStack.use(sqsTracing({ tracerProvider: provider, policy: { duplicateWindow: { maxEntries: BOUND } } }));
  const url = await testQueue(client, 'soak', false);
  let handled = 0;
  let wrong = 0;
  const handle = (m: Message): void => {
    const d = deliveryOf(m);
    if (d.index < 0 || d.index >= N) wrong++;
    handled++;
  };
  let report;
  try {
    report = await soak('sqs soak (traced)', N, CHUNK, async (from, to) => {
      await sendRange(client, url, from, to, false);
      await receiveAll(client, url, to - from, (m) => processMessage(m, undefined, handle), 120_000);
    });
  } finally {
    await deleteQueue(client, url);
    client.destroy();
  }
  await provider.shutdown();

  expect(wrong).toBe(0);
  expect(handled).toBe(N);
  expect(ledger.endedNamed('process ')).toBe(N);
  expect(ledger.openNames()).toEqual([]);
  expectBoundedHeap(report);
}, 3_600_000);
