// SQS (@aws-sdk/client-sqs + @brokertrace/sqs): tracing never harms messages, and faults inside the tracing
// never change what the application sees. Against the harness's SQS (moto), standard and FIFO queues.
import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import type { Message } from '@aws-sdk/client-sqs';
import { processMessage, sqsTracing } from '@brokertrace/sqs';
import type { SqsConfig } from '@brokertrace/sqs';
import { FaultError, describeTracingFaults, ledgerProvider, orderViolations, reliabilityMessages, telemetry } from './support';
import type { Fault } from './support';
import { SQS_CI_MESSAGES, SQS_FIFO_MESSAGES, deleteQueue, deliveryOf, flowRange, receiveAll, sendRange, sqsClient, sqsDiffs, testQueue, testQueues } from './sqs-support';
import type { SqsDelivery } from './sqs-support';

telemetry();

const N = reliabilityMessages(SQS_CI_MESSAGES);

/** Queues a standard run spreads its messages over (moto's cost grows with each queue's depth: flowRange). */
const QUEUES = 4;

/**
 * Sends 0..n-1 and receives them all, through clients traced with `config` (or plain): standard, in groups of
 * 10 over four queues (flowRange); FIFO, all sent to one queue first, then received (group order over a backlog).
 */
async function run(n: number, config: SqsConfig | undefined, fifo: boolean): Promise<SqsDelivery[]> {
  const producer = await sqsClient();
  const consumer = await sqsClient();
  if (config) {
    const plugin = sqsTracing(config);
    producer.middlewareStack.use(plugin);
    consumer.middlewareStack.use(plugin);
  }
  const urls = await testQueues(producer, config ? 'traced' : 'plain', fifo ? 1 : QUEUES, fifo);
  try {
    const deliveries: SqsDelivery[] = [];
    const handle = (m: Message): void => void deliveries.push(deliveryOf(m));
    const consume = config ? (m: Message) => processMessage(m, undefined, handle) : handle;
    if (fifo) {
      await sendRange(producer, urls[0]!, 0, n, true);
      await receiveAll(consumer, urls[0]!, n, consume);
    } else {
      await flowRange(producer, consumer, urls, 0, n, consume);
    }
    // anything left (a duplicate) would show now
    await Promise.all(urls.map((url) => receiveAll(consumer, url, 1, handle, 1500)));
    return deliveries;
  } finally {
    await Promise.all(urls.map((url) => deleteQueue(producer, url)));
    producer.destroy();
    consumer.destroy();
  }
}

describe.each([
  ['a standard queue', N, false],
  ['a FIFO queue (4 message groups)', SQS_FIFO_MESSAGES, true],
])('no harm to messages: %s, %i messages', (_queue, n, fifo) => {
  test('traced and untraced clients deliver every message exactly as sent, with equal counts (FIFO: in group order)', async () => {
    const { provider, ledger } = ledgerProvider();
    const plain = await run(n, undefined, fifo);
    const traced = await run(n, { tracerProvider: provider }, fifo);

    const all = Array.from({ length: n }, (_, i) => i);
    expect(plain.map((d) => d.index).sort((a, b) => a - b)).toEqual(all);
    expect(traced.map((d) => d.index).sort((a, b) => a - b)).toEqual(all);
    if (fifo) {
      expect(orderViolations(plain, (d) => d.group).slice(0, 5)).toEqual([]);
      expect(orderViolations(traced, (d) => d.group).slice(0, 5)).toEqual([]);
    }
    expect(plain.flatMap((d) => sqsDiffs(d, false, fifo)).slice(0, 10)).toEqual([]);
    expect(traced.flatMap((d) => sqsDiffs(d, true, fifo)).slice(0, 10)).toEqual([]);
    // The context travelled wherever the sender's attributes left room for it (SQS allows 10).
    expect(traced.filter((d) => d.index % 11 !== 10 && d.attributes.traceparent === undefined).map((d) => d.index).slice(0, 5)).toEqual([]);
    expect(ledger.endedNamed('process ')).toBe(n);
    expect(ledger.openNames()).toEqual([]);
    await provider.shutdown();
  }, 900_000);
});

const FAULT_MESSAGES = 30;
const FAILING_INDEX = 7;

async function faultScenario(fault: Fault): Promise<void> {
  const config: SqsConfig = { tracerProvider: fault.provider, producerHook: fault.hook, consumerHook: fault.hook, receiveHook: fault.hook };
  const plugin = sqsTracing(config);
  const producer = await sqsClient();
  const consumer = await sqsClient();
  producer.middlewareStack.use(plugin);
  consumer.middlewareStack.use(plugin);
  const url = await testQueue(producer, 'fault', false);
  try {
    await sendRange(producer, url, 0, FAULT_MESSAGES, false);
    const handled: number[] = [];
    const thrown: unknown[] = [];
    const seen: unknown[] = [];
    const handler = async (m: Message): Promise<number> => {
      const d = deliveryOf(m);
      handled.push(d.index);
      await Promise.resolve();
      if (d.index === FAILING_INDEX && thrown.length === 0) {
        const error = new FaultError(`handler of #${d.index}`);
        thrown.push(error);
        throw error;
      }
      expect(sqsDiffs(d, true, false)).toEqual([]);
      return d.index;
    };
    const results: unknown[] = [];
    const processed = await receiveAll(
      consumer,
      url,
      FAULT_MESSAGES,
      async (m) => {
        try {
          results.push(await processMessage(m, undefined, handler));
        } catch (error) {
          seen.push(error);
          // The application's usual answer: not deleted, and visible again at once.
          await consumer.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 }));
          throw error;
        }
      },
      120_000,
    );
    expect(processed).toBe(FAULT_MESSAGES);
    // The handler's own error reached the application as the same object; its value came back unchanged.
    expect(seen).toEqual(thrown);
    expect(seen[0]).toBe(thrown[0]);
    expect(results.slice().sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: FAULT_MESSAGES }, (_, i) => i));
    expect(handled.filter((i) => i === FAILING_INDEX)).toHaveLength(2);
  } finally {
    await deleteQueue(producer, url);
    producer.destroy();
    consumer.destroy();
  }
}

describeTracingFaults('faults inside the tracing', 'sends and receives are unchanged, the handler error passes through', faultScenario);
