// RabbitMQ soak: heap measured after forced GC at ten points of a long run through instrumented channels.
// CI runs 10,000 messages; the full soak of issue 7 is
//   BROKERTRACE_SOAK_MESSAGES=100000 scripts/pnpm exec jest integration/reliability/rabbitmq-soak --selectProjects integration
import type { ChannelModel } from 'amqplib';
import { traceChannel } from '@brokertrace/amqplib';
import type { AmqplibTraceConfig } from '@brokertrace/amqplib';
import { MiB, formatHeap, heapUsedAfterGc, ledgerProvider, soakMessages, telemetry } from './support';
import { amqpMessage, deliveryOf, namedConnection, tempQueue } from './rabbitmq-support';

telemetry();

const N = soakMessages();
const SAMPLES = 10;
const BACKLOG = 1000;
/** The duplicate window (message ids), small enough to fill in the first tenth of a CI run. */
const BOUND = 500;

let connection: ChannelModel;
beforeAll(async () => {
  connection = await namedConnection('reliability-soak');
});
afterAll(async () => {
  await connection.close();
});

test(`soak: ${N} messages, heap after GC bounded once per-message state is full`, async () => {
  const { provider, ledger } = ledgerProvider(); // counts spans, keeps none
  const config: AmqplibTraceConfig = { tracerProvider: provider, policy: { duplicateWindow: { maxEntries: BOUND } } };
  const publisher = traceChannel(await connection.createChannel(), config);
  const consumer = traceChannel(await connection.createChannel(), config);
  const queue = await tempQueue(publisher, 'soak');
  await consumer.prefetch(200);
  const samples: number[] = [];
  let consumed = 0;
  let outOfOrder = 0;
  let wake: (() => void) | undefined;
  const { consumerTag } = await consumer.consume(queue, (m) => {
    if (m === null) return;
    if (deliveryOf(m).index !== consumed) outOfOrder++;
    consumer.ack(m);
    consumed++;
    if (consumed % (N / SAMPLES) === 0) samples.push(heapUsedAfterGc());
    wake?.();
  });
  const until = async (ok: () => boolean): Promise<void> => {
    while (!ok()) await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
  };
  for (let i = 0; i < N; i++) {
    const { content, options } = amqpMessage(i);
    if (!publisher.sendToQueue(queue, content, options)) await new Promise((resolve) => publisher.once('drain', resolve));
    // A bounded backlog at each sample: the heap then measures us, not the queue.
    if (i - consumed > BACKLOG) await until(() => i - consumed <= BACKLOG / 2);
  }
  await until(() => consumed === N);
  await consumer.cancel(consumerTag);
  await publisher.deleteQueue(queue);
  await consumer.close();
  await publisher.close();
  await provider.shutdown();

  expect(outOfOrder).toBe(0);
  expect(ledger.endedNamed('process ')).toBe(N);
  expect(ledger.endedNamed('send ')).toBe(N);
  expect(ledger.openNames()).toEqual([]);
  const mib = samples.map((b) => b / MiB);
  const growth = mib[mib.length - 1]! - mib[1]!;
  process.stdout.write(`${formatHeap({ label: 'rabbitmq soak (traced)', messages: N, samplesMiB: mib, growthMiB: growth })}\n`);
  expect(samples).toHaveLength(SAMPLES);
  expect(growth).toBeLessThan(8);
}, 600_000);
