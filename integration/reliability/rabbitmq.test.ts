// RabbitMQ (amqplib): tracing never harms messages, and faults inside the tracing never change what the
// application sees. Against the harness's real RabbitMQ broker.
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { traceChannel } from '@brokertrace/amqplib';
import type { AmqplibTraceConfig } from '@brokertrace/amqplib';
import { FaultError, describeTracingFaults, ledgerProvider, telemetry } from './support';
import type { Fault } from './support';
import { amqpDiffs, amqpMessage, deliveryOf, namedConnection, sentPropertyDiffs, tempQueue } from './rabbitmq-support';
import type { AmqpDelivery } from './rabbitmq-support';

telemetry();

const N = 10_000;

let connection: ChannelModel;
beforeAll(async () => {
  connection = await namedConnection('reliability');
});
afterAll(async () => {
  await connection.close();
});

/** Publishes 0..n-1 (sendToQueue and publish alternately, waiting on back-pressure) and consumes them all. */
async function run(n: number, trace: AmqplibTraceConfig | undefined): Promise<AmqpDelivery[]> {
  const publisher = await connection.createChannel();
  const consumer = await connection.createChannel();
  if (trace) {
    traceChannel(publisher, trace);
    traceChannel(consumer, trace);
  }
  try {
    const queue = await tempQueue(publisher, trace ? 'traced' : 'plain');
    await consumer.prefetch(200);
    const deliveries: AmqpDelivery[] = [];
    let done!: () => void;
    const all = new Promise<void>((resolve) => (done = resolve));
    const { consumerTag } = await consumer.consume(queue, (m) => {
      if (m === null) return;
      deliveries.push(deliveryOf(m));
      consumer.ack(m);
      if (deliveries.length === n) done();
    });
    for (let i = 0; i < n; i++) {
      const { content, options } = amqpMessage(i);
      const ok = i % 2 === 0 ? publisher.sendToQueue(queue, content, options) : publisher.publish('', queue, content, options);
      if (!ok) await new Promise((resolve) => publisher.once('drain', resolve));
    }
    await all;
    await new Promise((resolve) => setTimeout(resolve, 300)); // anything delivered twice would show now
    await consumer.cancel(consumerTag);
    await publisher.deleteQueue(queue);
    return deliveries;
  } finally {
    await consumer.close();
    await publisher.close();
  }
}

describe(`no harm to messages: ${N} messages`, () => {
  test('instrumented and uninstrumented runs deliver every message exactly as sent, in order, with equal counts', async () => {
    const { provider, ledger } = ledgerProvider();
    const plain = await run(N, undefined);
    const traced = await run(N, { tracerProvider: provider });

    expect(plain.map((d) => d.index)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(traced.map((d) => d.index)).toEqual(plain.map((d) => d.index));
    expect(traced.length).toBe(plain.length);
    expect(plain.flatMap(sentPropertyDiffs).slice(0, 10)).toEqual([]);
    expect(traced.flatMap(sentPropertyDiffs).slice(0, 10)).toEqual([]);
    // Content bytes against what was sent; properties and every header against the uninstrumented delivery.
    expect(traced.flatMap((d) => amqpDiffs(d, plain[d.index])).slice(0, 10)).toEqual([]);
    expect(traced.every((d) => typeof d.properties.headers?.traceparent === 'string')).toBe(true);
    expect(ledger.endedNamed('process ')).toBe(N);
    expect(ledger.endedNamed('send ')).toBe(N);
    expect(ledger.openNames()).toEqual([]);
    await provider.shutdown();
  });
});

const FAULT_MESSAGES = 30;
const FAILING_INDEX = 7;

interface Observed {
  calls: number[];
  results: unknown[];
  errors: unknown[];
}

/** A recorder between amqplib and whatever handler reaches it (installed before tracing, so it sits below). */
function observeConsume(channel: Channel): Observed {
  const observed: Observed = { calls: [], results: [], errors: [] };
  const original = channel.consume.bind(channel);
  channel.consume = (queue, onMessage, options) =>
    original(
      queue,
      (m) => {
        if (m !== null) observed.calls.push(deliveryOf(m).index);
        let result: unknown;
        try {
          result = onMessage(m);
        } catch (err) {
          observed.errors.push(err);
          throw err;
        }
        observed.results.push(result);
        // amqplib ignores what a handler returns; a rejection is recorded here (no unhandled rejection).
        if (result instanceof Promise) result.catch((err: unknown) => observed.errors.push(err));
      },
      options,
    );
  return observed;
}

async function faultScenario(fault: Fault): Promise<void> {
  const config: AmqplibTraceConfig = { tracerProvider: fault.provider, publishHook: fault.hook, consumeHook: fault.hook, settleHook: fault.hook };
  const publisher = traceChannel(await connection.createChannel(), config);
  const consumer = await connection.createChannel();
  const observed = observeConsume(consumer);
  traceChannel(consumer, config);
  try {
    const queue = await tempQueue(publisher, 'fault');
    const handled: number[] = [];
    const thrown: unknown[] = [];
    const acked = new Set<number>();
    let done!: () => void;
    const all = new Promise<void>((resolve) => (done = resolve));
    const handler = async (m: ConsumeMessage | null): Promise<void> => {
      if (m === null) return;
      const d = deliveryOf(m);
      handled.push(d.index);
      await Promise.resolve();
      if (d.index === FAILING_INDEX && thrown.length === 0) {
        // The application's usual answer to a failure: requeue, and let its own error propagate.
        consumer.nack(m, false, true);
        const error = new FaultError(`handler of #${d.index}`);
        thrown.push(error);
        throw error;
      }
      expect(amqpDiffs(d, d).concat(sentPropertyDiffs(d))).toEqual([]);
      consumer.ack(m);
      acked.add(d.index);
      if (acked.size === FAULT_MESSAGES) done();
    };
    // Handed over as it is: the recorder below it sees the promise amqplib would get.
    // eslint-disable-next-line @typescript-eslint/no-misused-promises -- an async handler, as applications write them
    await consumer.consume(queue, handler);
    for (let i = 0; i < FAULT_MESSAGES; i++) {
      const { content, options } = amqpMessage(i);
      const ok = i % 2 === 0 ? publisher.sendToQueue(queue, content, options) : publisher.publish('', queue, content, options);
      expect(ok).toBe(true);
    }
    await all;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect([...acked].sort((a, b) => a - b)).toEqual(Array.from({ length: FAULT_MESSAGES }, (_, i) => i));
    // Once per delivery: every call amqplib made reached the handler once, and nothing else did.
    expect(handled).toEqual(observed.calls);
    expect(handled.filter((i) => i === FAILING_INDEX)).toHaveLength(2);
    // The handler's rejection reached amqplib's side as the very same error.
    expect(observed.errors).toEqual(thrown);
    expect(observed.errors[0]).toBe(thrown[0]);
    await publisher.deleteQueue(queue);
  } finally {
    await consumer.close();
    await publisher.close();
  }
}

describeTracingFaults('faults inside the tracing, during real publishes and consumes', 'publishes succeed, handlers run once per delivery, handler errors unchanged', faultScenario);
