// Kafka soak, kafkajs and Confluent's KafkaJS-compatible client: heap measured after forced GC at ten points of a
// long run through an instrumented producer and consumer. CI runs 10,000 messages per client; the full soak of
// issues 7 and 19 is
//   BROKERTRACE_SOAK_MESSAGES=100000 scripts/pnpm exec jest integration/reliability/kafka-soak --selectProjects integration
import type { Kafka } from 'kafkajs';
import { traceConsumer, traceProducer } from '@brokertrace/kafkajs';
import type { KafkaJsConfig } from '@brokertrace/kafkajs';
import { MiB, formatHeap, heapUsedAfterGc, ledgerProvider, soakMessages, telemetry } from './support';
import { createTopic, deliveryOf, kafkaClient, kafkaMessage } from './kafka-support';
import { uniqueName } from '../harness/index';
import { CLIENTS } from '../kafkajs/helpers';
import type { ClientLibrary } from '../kafkajs/helpers';

telemetry();

/** Confluent's CI count (`BROKERTRACE_SOAK_MESSAGES` sets both): 10,000 took 12.0 s here, heap flat (-2.1 MiB). */
const CONFLUENT_CI_MESSAGES = 10_000;
const COUNTS: Record<ClientLibrary['name'], number> = { kafkajs: soakMessages(), confluent: soakMessages(CONFLUENT_CI_MESSAGES) };
const CHUNK = 500;
const SAMPLES = 10;
/** Per-message state bounded by configuration, small enough to fill in the first tenth of a CI run. */
const BOUND = 500;

/** The admin client that creates topics, for either library. */
let client: Kafka;
beforeAll(async () => {
  client = await kafkaClient('reliability-soak');
});

describe.each(CLIENTS)('$name', (lib: ClientLibrary) => {
  const N = COUNTS[lib.name];
  test(`soak: ${N} messages, heap after GC bounded once per-message state is full`, async () => {
    const { provider, ledger } = ledgerProvider(); // counts spans, keeps none
    const config: KafkaJsConfig = {
      tracerProvider: provider,
      deliveryTracking: { maxEntries: BOUND },
      policy: { duplicateWindow: { maxEntries: BOUND } },
    };
    const topic = await createTopic(client, 'soak', 1);
    const producer = traceProducer(await lib.producer(`soak-${lib.name}`), config);
    const consumer = traceConsumer(await lib.consumer(`soak-${lib.name}`, [topic], { groupId: uniqueName('soak') }), config);
    const samples: number[] = [];
    let consumed = 0;
    let failures = 0;
    let caughtUp: (() => void) | undefined;
    let target = 0;
    await producer.connect();
    try {
      await consumer.run({
        eachMessage: async (p) => {
          if (deliveryOf(p).index !== consumed) failures++;
          consumed++;
          if (consumed % (N / SAMPLES) === 0) samples.push(heapUsedAfterGc());
          if (consumed >= target && caughtUp) caughtUp();
          await Promise.resolve();
        },
      });
      for (let start = 0; start < N; start += CHUNK) {
        await producer.send({ topic, messages: Array.from({ length: Math.min(CHUNK, N - start) }, (_, j) => kafkaMessage(start + j)) });
        // Keep the consumer within two chunks of the producer: the heap holds a bounded backlog at each sample.
        target = start + CHUNK - 2 * CHUNK;
        if (consumed < target) await new Promise<void>((resolve) => (caughtUp = resolve));
      }
      target = N;
      if (consumed < N) await new Promise<void>((resolve) => (caughtUp = resolve));
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
    }
    await provider.shutdown();

    expect(failures).toBe(0);
    expect(consumed).toBe(N);
    expect(ledger.endedNamed('process ')).toBe(N);
    expect(ledger.openNames()).toEqual([]);
    // Growth between the second sample (state full, clients warm) and the last one.
    const mib = samples.map((b) => b / MiB);
    const growth = mib[mib.length - 1]! - mib[1]!;
    process.stdout.write(`${formatHeap({ label: `kafka soak, ${lib.name} (traced)`, messages: N, samplesMiB: mib, growthMiB: growth })}\n`);
    expect(samples).toHaveLength(SAMPLES);
    expect(growth).toBeLessThan(8);
  }, 600_000);
});
