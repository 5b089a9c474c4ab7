// SQS soak: the heap after forced GC at ten points of a long run through a traced client (sqsTracing, send
// batches, ReceiveMessage, processMessage, DeleteMessageBatch), with the per-message state bounded by
// configuration. moto's cost per message grows with the depth of the queue (sqs-support.ts, flowRange), so the
// messages flow in groups of 10 through four queues at once, none deeper than 10. CI runs 10,000 messages; the
// full soak of issue 19 is
//   BROKERTRACE_SOAK_MESSAGES=100000 scripts/pnpm exec jest integration/reliability/sqs-soak --selectProjects integration
import type { Message } from '@aws-sdk/client-sqs';
import { processMessage, sqsTracing } from '@brokertrace/sqs';
import { expectBoundedHeap, ledgerProvider, soak, soakMessages, telemetry } from './support';
import { deleteQueue, deliveryOf, flowRange, receiveAll, sqsClient, testQueues } from './sqs-support';

telemetry();

const N = soakMessages(10_000);
/** Messages between two looks at the heap's progress (ten samples need at least ten steps). */
const CHUNK = Math.min(1000, Math.ceil(N / 100) * 10);
const QUEUES = 4;
/** Per-message state bounded by configuration, small enough to fill in the first tenth of a CI run. */
const BOUND = 500;

test(`soak: ${N} messages through a traced SQS client, heap after GC bounded`, async () => {
  const { provider, ledger } = ledgerProvider(); // counts spans, keeps none
  const client = await sqsClient();
  client.middlewareStack.use(sqsTracing({ tracerProvider: provider, policy: { duplicateWindow: { maxEntries: BOUND } } }));
  const urls = await testQueues(client, 'soak', QUEUES, false);
  let handled = 0;
  let wrong = 0;
  const seen = new Uint8Array(N);
  const handle = (m: Message): void => {
    const d = deliveryOf(m);
    if (!(d.index >= 0 && d.index < N) || seen[d.index]) wrong++;
    else seen[d.index] = 1;
    handled++;
  };
  let report;
  let leftover = 0;
  try {
    report = await soak('sqs soak (traced)', N, CHUNK, async (from, to) => {
      await flowRange(client, client, urls, from, to, (m) => processMessage(m, undefined, handle));
    });
    for (const url of urls) leftover += await receiveAll(client, url, 1, handle, 1000);
  } finally {
    await Promise.all(urls.map((url) => deleteQueue(client, url)));
    client.destroy();
  }
  await provider.shutdown();

  expect(wrong).toBe(0);
  expect(leftover).toBe(0);
  expect(handled).toBe(N);
  expect(ledger.endedNamed('process ')).toBe(N);
  expect(ledger.openNames()).toEqual([]);
  expectBoundedHeap(report);
}, 3_600_000);
