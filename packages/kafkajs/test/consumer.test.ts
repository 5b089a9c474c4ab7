import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { setupTestTelemetry } from '@brokertrace/testing';
import { traceBatchMessage, traceConsumer, untraceConsumer } from '../src/index';
import type { EachBatchPayload } from '../src/internal-types';
import { consumed, fakeConsumer } from './fakes';

const t = setupTestTelemetry();
beforeEach(() => t.reset());

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';
const traceparent = `00-${TRACE_ID}-${SPAN_ID}-01`;

async function running(config?: Parameters<typeof traceConsumer>[1]) {
  const fake = fakeConsumer();
  traceConsumer(fake.consumer, config);
  await fake.consumer.run({ eachMessage: () => Promise.resolve(), eachBatch: () => Promise.resolve() });
  fake.events.emit(fake.events.events.GROUP_JOIN, { groupId: 'billing' });
  return fake;
}

describe('eachMessage', () => {
  it('continues the producer trace from Buffer headers', async () => {
    const fake = fakeConsumer();
    traceConsumer(fake.consumer);
    let active: string | undefined;
    const eachMessage = () => {
      active = trace.getSpan(context.active())?.spanContext().spanId;
      return Promise.resolve();
    };
    const config = Object.freeze({ eachMessage, autoCommit: false });
    await fake.consumer.run(config);
    expect(config.eachMessage).toBe(eachMessage);
    expect(fake.runConfig()).toMatchObject({ autoCommit: false });
    fake.events.emit(fake.events.events.GROUP_JOIN, { groupId: 'billing' });

    const message = consumed({ traceparent: Buffer.from(traceparent) }, { key: Buffer.from('order-7') });
    await fake.deliver({ topic: 'orders', partition: 2, message });

    const [span] = t.spans();
    expect(span!.name).toBe('process orders');
    expect(span!.kind).toBe(SpanKind.CONSUMER);
    expect(span!.spanContext().traceId).toBe(TRACE_ID);
    expect(span!.parentSpanContext?.spanId).toBe(SPAN_ID);
    expect(active).toBe(span!.spanContext().spanId);
    expect(span!.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'orders',
      'messaging.destination.partition.id': '2',
      'messaging.kafka.offset': Number(message.offset),
      'messaging.kafka.message.key': 'order-7',
      'messaging.consumer.group.name': 'billing',
      'brokertrace.decision.relationship': 'child',
      'brokertrace.decision.reason': 'fresh',
      'brokertrace.message.delivery_count': 1,
    });
  });

  it('takes the first valid traceparent of a repeated header', async () => {
    const fake = await running();
    const message = consumed({ traceparent: [Buffer.from('garbage'), Buffer.from(traceparent), Buffer.from('00-x')] });
    await fake.deliver({ topic: 'orders', partition: 0, message });
    expect(t.spans()[0]!.spanContext().traceId).toBe(TRACE_ID);
  });

  it('counts re-seen offsets: children up to maxChildDeliveries, then a link', async () => {
    const fake = await running();
    const message = consumed({ traceparent: Buffer.from(traceparent) });
    // kafkajs hands the same offset over again (a fresh object each fetch) after a throw or a rebalance.
    for (let i = 0; i < 4; i++) await fake.deliver({ topic: 'orders', partition: 0, message: { ...message } });
    const spans = t.spans();
    expect(spans.map((s) => s.attributes['brokertrace.message.delivery_count'])).toEqual([1, 2, 3, 4]);
    expect(spans.map((s) => s.attributes['brokertrace.decision.relationship'])).toEqual(['child', 'child', 'child', 'link']);
    expect(spans[3]!.attributes['brokertrace.decision.reason']).toBe('redelivered');
    expect(spans[3]!.spanContext().traceId).not.toBe(TRACE_ID);
    expect(spans[3]!.links[0]!.context.spanId).toBe(SPAN_ID);
    // The count is the span's own: its link repeats no fact.
    expect(spans[3]!.links[0]!.attributes ?? {}).toEqual({});
  });

  it('adds retry-count headers to the delivery count and links dead-letter replays', async () => {
    const fake = await running({ retryCountHeaders: ['attempts'] });
    const int32 = Buffer.alloc(4);
    int32.writeInt32BE(5);
    await fake.deliver({ topic: 'orders.retry', partition: 0, message: consumed({ traceparent, attempts: int32 }) });
    await fake.deliver({ topic: 'orders.retry', partition: 0, message: consumed({ traceparent, attempts: '1' }) });
    await fake.deliver({ topic: 'orders.dlt', partition: 0, message: consumed({ traceparent, 'kafka_dlt-original-topic': Buffer.from('orders') }) });
    const spans = t.spans();
    expect(spans.map((s) => s.attributes['brokertrace.message.delivery_count'])).toEqual([6, 2, 1]);
    expect(spans.map((s) => s.attributes['brokertrace.decision.reason'])).toEqual(['redelivered', 'fresh', 'redelivered']);
  });

  it('links an old message with reason stale and records its age', async () => {
    const fake = await running();
    const hourAgo = String(Date.now() - 3600_000);
    await fake.deliver({ topic: 'orders', partition: 0, message: consumed({ traceparent }, { timestamp: hourAgo }) });
    const [span] = t.spans();
    expect(span!.attributes['brokertrace.decision.relationship']).toBe('link');
    expect(span!.attributes['brokertrace.decision.reason']).toBe('stale');
    expect(span!.attributes['brokertrace.message.queue_time']).toBeGreaterThanOrEqual(3600);
    expect(span!.attributes['brokertrace.message.queue_time']).toBeLessThan(3700); // seconds, not ms
  });

  it('starts a root span for a message without context, ignoring the context run() was called in', async () => {
    const fake = fakeConsumer();
    traceConsumer(fake.consumer);
    await t.withSpan('startup', () => fake.consumer.run({ eachMessage: () => Promise.resolve() }));
    await t.withSpan('startup', () => fake.deliver({ topic: 'orders', partition: 0, message: consumed() }));
    const span = t.spansNamed('process orders')[0]!;
    expect(span.parentSpanContext).toBeUndefined();
    expect(span.attributes['brokertrace.decision.reason']).toBe('no-context');
  });

  it('ends the span with the handler error and rethrows it unchanged', async () => {
    const fake = fakeConsumer();
    traceConsumer(fake.consumer);
    const failure = new RangeError('bad order');
    await fake.consumer.run({
      eachMessage: () => Promise.reject(failure),
    });
    await expect(fake.deliver({ topic: 'orders', partition: 0, message: consumed({ traceparent }) })).rejects.toBe(failure);
    const [span] = t.spans();
    expect(span!.status.code).toBe(SpanStatusCode.ERROR);
    expect(span!.attributes['error.type']).toBe('RangeError');
  });

  it('leaves ignored topics untraced', async () => {
    const fake = await running({ ignoreDestinations: ['orders'] });
    await fake.deliver({ topic: 'orders', partition: 0, message: consumed({ traceparent }) });
    expect(t.spans()).toHaveLength(0);
  });
});

describe('eachBatch', () => {
  it('makes one process span over the handler linked to every message, with the per-message spans under it', async () => {
    const fake = fakeConsumer();
    traceConsumer(fake.consumer);
    const processed: string[] = [];
    await fake.consumer.run({
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          await traceBatchMessage(batch, message, () => {
            processed.push(trace.getSpan(context.active())!.spanContext().spanId);
            return Promise.resolve();
          });
        }
      },
    });
    fake.events.emit(fake.events.events.GROUP_JOIN, { groupId: 'billing' });
    const other = '11111111111111111111111111111111';
    const messages = [
      consumed({ traceparent }),
      consumed({ traceparent: `00-${other}-2222222222222222-01` }),
      consumed(),
    ];
    await fake.deliverBatch({ batch: { topic: 'orders', partition: 1, messages } });

    const processes = t.spansNamed('process orders');
    expect(processes).toHaveLength(4);
    const batchSpan = processes.find((p) => p.attributes['messaging.batch.message_count'] !== undefined)!;
    const perMessage = processes.filter((p) => p !== batchSpan);
    // A push API: CONSUMER `process`, one link per message that carries a context, named by partition and offset.
    expect(batchSpan.kind).toBe(SpanKind.CONSUMER);
    expect(batchSpan.parentSpanContext).toBeUndefined();
    expect(batchSpan.attributes).toMatchObject({
      'messaging.operation.type': 'process',
      'messaging.batch.message_count': 3,
      'messaging.destination.partition.id': '1',
      'messaging.consumer.group.name': 'billing',
    });
    expect(batchSpan.links.map((l) => l.context.traceId)).toEqual([TRACE_ID, other]);
    expect(batchSpan.links[0]!.attributes).toMatchObject({
      'messaging.kafka.offset': Number(messages[0]!.offset),
      'brokertrace.message.delivery_count': 1,
    });
    // The batch is one partition's: the batch span says which, no link repeats it.
    expect(batchSpan.links.every((l) => l.attributes?.['messaging.destination.partition.id'] === undefined)).toBe(true);
    expect(batchSpan.links[0]!.attributes?.['messaging.message.id']).toBeUndefined();

    // Each per-message span: a child of the batch span, linked to its own creation context.
    expect(processed).toEqual(perMessage.map((p) => p.spanContext().spanId));
    for (const p of perMessage) expect(p.parentSpanContext?.spanId).toBe(batchSpan.spanContext().spanId);
    expect(perMessage[0]!.links[0]!.context.traceId).toBe(TRACE_ID);
    expect(perMessage[1]!.links[0]!.context.traceId).toBe(other);
    expect(perMessage.map((p) => p.attributes['brokertrace.message.delivery_count'])).toEqual([1, 1, 1]);

    // Each message counted once as consumed and once as a decision, by the batch span.
    const metrics = await t.metrics();
    const total = (name: string) => (metrics[name] ?? []).reduce((sum, p) => sum + (p.kind === 'sum' ? p.value : 0), 0);
    expect(total('messaging.client.consumed.messages')).toBe(3);
    expect(total('brokertrace.decisions')).toBe(3);
    // The handler's time is processing time.
    const processDuration = metrics['messaging.process.duration'] ?? [];
    expect(processDuration.some((p) => p.attributes['messaging.consumer.group.name'] === 'billing' && p.attributes['messaging.destination.partition.id'] === '1')).toBe(true);
    expect((metrics['messaging.client.operation.duration'] ?? []).filter((p) => p.attributes['messaging.operation.type'] === 'receive')).toEqual([]);
  });

  /** A consumer whose eachBatch handler is `handler`; delivers `messages` of orders/0 as kafkajs would. */
  async function batchConsumer(handler: (payload: EachBatchPayload & { resolveOffset(o: string): void }) => Promise<void>, runConfig: object = {}) {
    const fake = fakeConsumer();
    traceConsumer(fake.consumer);
    await fake.consumer.run({ ...runConfig, eachBatch: handler });
    const resolved: string[] = [];
    const deliver = (messages: ReturnType<typeof consumed>[]) =>
      fake.deliverBatch({ batch: { topic: 'orders', partition: 0, messages }, resolveOffset: (o: string) => void resolved.push(o) } as never);
    return { deliver, resolved };
  }

  const counts = () => t.spansNamed('process orders').filter((p) => p.attributes['messaging.batch.message_count'] === undefined)
    .map((p) => p.attributes['brokertrace.message.delivery_count']);

  it('does not count the unresolved tail of a batch as delivered (eachBatchAutoResolve: false)', async () => {
    let calls = 0;
    const { deliver, resolved } = await batchConsumer(async ({ batch, resolveOffset }) => {
      // The first time, only half the batch is processed and resolved (e.g. a rebalance is coming).
      const take = calls++ === 0 ? batch.messages.slice(0, 2) : batch.messages;
      for (const m of take) {
        await traceBatchMessage(batch, m, () => Promise.resolve());
        resolveOffset(m.offset);
      }
    }, { eachBatchAutoResolve: false });
    const messages = [0, 1, 2, 3].map((i) => consumed({ traceparent }, { offset: String(500 + i) }));
    await deliver(messages);
    // kafkajs fetches again from the last resolved offset: the tail comes back, handed over for the first time.
    await deliver(messages.slice(2).map((m) => ({ ...m })));
    expect(resolved).toEqual(['500', '501', '502', '503']);
    expect(counts()).toEqual([1, 1, 1, 1]);
  });

  it('counts resolved offsets as delivered even without traceBatchMessage', async () => {
    let calls = 0;
    const { deliver } = await batchConsumer(async ({ batch, resolveOffset }) => {
      if (calls++ === 0) {
        resolveOffset(batch.messages[1]!.offset);
        throw new Error('crashed after resolving two');
      }
      for (const m of batch.messages) await traceBatchMessage(batch, m, () => Promise.resolve());
    });
    const messages = [0, 1, 2].map((i) => consumed({ traceparent }, { offset: String(600 + i) }));
    await expect(deliver(messages)).rejects.toThrow('crashed');
    // A seek back to the start: the two resolved messages are redeliveries, the third is new.
    await deliver(messages.map((m) => ({ ...m })));
    expect(counts()).toEqual([2, 2, 1]);
  });

  it('counts a batch whose handler succeeded as delivered (kafkajs resolves it all)', async () => {
    const { deliver } = await batchConsumer(() => Promise.resolve());
    const messages = [0, 1].map((i) => consumed({ traceparent }, { offset: String(700 + i) }));
    await deliver(messages);
    await deliver(messages.map((m) => ({ ...m })));
    const batches = t.spansNamed('process orders');
    expect(batches.map((b) => b.links.map((l) => l.attributes?.['brokertrace.message.delivery_count']))).toEqual([[1, 1], [2, 2]]);
  });

  it('finds a batch traced by another copy of the package (state shared through a global symbol)', async () => {
    const fake = fakeConsumer();
    traceConsumer(fake.consumer);
    let inside: string | undefined;
    let copies = 0;
    await fake.consumer.run({
      eachBatch: async ({ batch }) => {
        // What a second copy (the ESM build next to the CJS one) does: a fresh instance of the module.
        let copy: typeof import('../src/consumer') | undefined;
        jest.isolateModules(() => {
          // eslint-disable-next-line @typescript-eslint/no-require-imports -- a second module instance, as a second build would be
          copy = require('../src/consumer') as typeof import('../src/consumer');
        });
        if (copy!.traceBatchMessage !== traceBatchMessage) copies++;
        await copy!.traceBatchMessage(batch, batch.messages[0]!, () => {
          inside = trace.getSpan(context.active())?.spanContext().spanId;
          return Promise.resolve();
        });
      },
    });
    await fake.deliverBatch({ batch: { topic: 'orders', partition: 0, messages: [consumed({ traceparent })] } });
    expect(copies).toBe(1);
    const perMessage = t.spansNamed('process orders').filter((p) => p.attributes['messaging.batch.message_count'] === undefined);
    expect(perMessage).toHaveLength(1);
    expect(inside).toBe(perMessage[0]!.spanContext().spanId);
  });

  it('runs the helper untraced for a batch that is not traced', async () => {
    const result = await traceBatchMessage({ topic: 'x', partition: 0 }, consumed(), () => Promise.resolve(42));
    expect(result).toBe(42);
    expect(t.spans()).toHaveLength(0);
  });
});

describe('commits', () => {
  it('makes a settle span per topic of an explicit commitOffsets, with partition, offset and count', async () => {
    const fake = await running();
    await fake.consumer.commitOffsets([
      { topic: 'orders', partition: 0, offset: '5' },
      { topic: 'orders', partition: 1, offset: '7' },
      { topic: 'refunds', partition: 0, offset: '1' },
    ]);
    expect(fake.committed).toHaveLength(1);
    const spans = t.spans();
    expect(spans.map((s) => s.name).sort()).toEqual(['commit orders', 'commit refunds']);
    const orders = t.spansNamed('commit orders')[0]!;
    const refunds = t.spansNamed('commit refunds')[0]!;
    expect(orders.kind).toBe(SpanKind.CLIENT);
    expect(orders.attributes).toMatchObject({ 'messaging.operation.type': 'settle', 'messaging.consumer.group.name': 'billing', 'brokertrace.kafka.commit.partitions': 2 });
    // A count of partitions is no count of messages: messaging.batch.message_count stays off commit spans.
    expect(orders.attributes).not.toHaveProperty(['messaging.batch.message_count']);
    expect(orders.attributes['messaging.kafka.offset']).toBeUndefined();
    expect(refunds.attributes).toMatchObject({ 'messaging.destination.partition.id': '0', 'messaging.kafka.offset': 1 });
  });

  it('offsets whose fields throw when read: the commit still reaches kafkajs, untraced, and no span is left open', async () => {
    const fake = await running();
    const hostile = {
      toString(): string {
        throw new Error('hostile partition');
      },
    };
    const offsets = [
      { topic: 'orders', partition: 0, offset: '10' },
      { topic: 'refunds', partition: hostile as unknown as number, offset: '5' },
    ];
    await expect(fake.consumer.commitOffsets(offsets)).resolves.toBeUndefined();
    expect(fake.committed).toEqual([offsets]);
    // Untraced means no span at all: none for the readable topic either (it would claim a commit it never saw end).
    expect(t.spans().filter((s) => s.name.startsWith('commit '))).toHaveLength(0);
    expect(t.openSpans()).toHaveLength(0);
  });

  it('adds no second span for the commit event of an explicit commit', async () => {
    const fake = fakeConsumer();
    // kafkajs emits COMMIT_OFFSETS from inside commitOffsets, once the broker said yes.
    fake.consumer.commitOffsets = async (offsets: unknown) => {
      await Promise.resolve();
      fake.events.emit(fake.events.events.COMMIT_OFFSETS, { groupId: 'billing', topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: '5' }] }] });
      fake.committed.push(offsets);
    };
    traceConsumer(fake.consumer);
    await fake.consumer.commitOffsets([{ topic: 'orders', partition: 0, offset: '5' }]);
    expect(fake.committed).toHaveLength(1);
    expect(t.spansNamed('commit orders')).toHaveLength(1);
  });

  it('makes a settle span for each topic of a commit kafkajs makes on its own, timed from its request', async () => {
    const fake = await running();
    const createdAt = Date.now() - 40;
    fake.events.emit(fake.events.events.REQUEST, { apiName: 'OffsetCommit', createdAt, duration: 40, broker: 'b:9092' });
    t.withSpan('unrelated', () =>
      fake.events.emit(fake.events.events.COMMIT_OFFSETS, {
        groupId: 'billing',
        topics: [
          { topic: 'orders', partitions: [{ partition: 3, offset: '42' }] },
          { topic: 'refunds', partitions: [{ partition: 0, offset: '8' }, { partition: 1, offset: '9' }] },
        ],
      }),
    );
    const orders = t.spansNamed('commit orders')[0]!;
    const refunds = t.spansNamed('commit refunds')[0]!;
    expect(orders.parentSpanContext).toBeUndefined();
    expect(orders.attributes).toMatchObject({
      'messaging.operation.name': 'commit',
      'messaging.operation.type': 'settle',
      'messaging.destination.partition.id': '3',
      'messaging.kafka.offset': 42,
      'messaging.consumer.group.name': 'billing',
      'server.address': 'b',
      'server.port': 9092,
    });
    expect(refunds.attributes['brokertrace.kafka.commit.partitions']).toBe(2);
    expect(refunds.attributes).not.toHaveProperty(['messaging.batch.message_count']);
    const ms = (hr: [number, number]) => hr[0] * 1000 + hr[1] / 1e6;
    expect(ms(orders.endTime) - ms(orders.startTime)).toBeGreaterThanOrEqual(35);
    const settle = ((await t.metrics())['messaging.client.operation.duration'] ?? []).filter((p) => p.attributes['messaging.operation.name'] === 'commit');
    expect(settle.map((p) => p.attributes['messaging.consumer.group.name'])).toContain('billing');
  });
});

describe('untraceConsumer', () => {
  it('restores run and silences the handlers a running consumer holds', async () => {
    const fake = fakeConsumer();
    const originalRun = fake.consumer.run;
    traceConsumer(fake.consumer);
    await fake.consumer.run({ eachMessage: () => Promise.resolve() });
    expect(untraceConsumer(fake.consumer)).toBe(true);
    expect(fake.consumer.run).toBe(originalRun);
    expect(fake.events.listenerCount()).toBe(0);
    await fake.deliver({ topic: 'orders', partition: 0, message: consumed({ traceparent }) });
    expect(t.spans()).toHaveLength(0);
  });
});
