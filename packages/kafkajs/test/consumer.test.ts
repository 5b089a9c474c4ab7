import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { setupTestTelemetry } from '@brokertrace/testing';
import { traceBatchMessage, traceConsumer, untraceConsumer } from '../src/index';
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
    expect(spans[3]!.links[0]!.attributes?.['brokertrace.message.delivery_count']).toBe(4);
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
    expect(span!.attributes['brokertrace.message.age_ms']).toBeGreaterThanOrEqual(3600_000);
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
  it('makes a receive span linked to every message, and per-message process spans through the helper', async () => {
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
    const other = '11111111111111111111111111111111';
    const messages = [
      consumed({ traceparent }),
      consumed({ traceparent: `00-${other}-2222222222222222-01` }),
      consumed(),
    ];
    await fake.deliverBatch({ batch: { topic: 'orders', partition: 1, messages } });

    const receive = t.spansNamed('receive orders')[0]!;
    expect(receive.kind).toBe(SpanKind.CLIENT);
    expect(receive.attributes['messaging.batch.message_count']).toBe(3);
    expect(receive.links.map((l) => l.context.traceId)).toEqual([TRACE_ID, other]);
    expect(receive.links[0]!.attributes?.['messaging.message.id']).toBe(`orders/1/${messages[0]!.offset}`);

    const processes = t.spansNamed('process orders');
    expect(processes).toHaveLength(3);
    expect(processed).toEqual(processes.map((p) => p.spanContext().spanId));
    expect(processes[0]!.spanContext().traceId).toBe(TRACE_ID);
    expect(processes[1]!.spanContext().traceId).toBe(other);
    // The receive span stays reachable from each process span (kept as a link, or the parent without context).
    expect(processes[0]!.links.map((l) => l.context.spanId)).toContain(receive.spanContext().spanId);
    expect(processes[2]!.parentSpanContext?.spanId).toBe(receive.spanContext().spanId);
    // Delivery counted once per batch delivery, not again by the helper.
    expect(processes.map((p) => p.attributes['brokertrace.message.delivery_count'])).toEqual([1, 1, 1]);
    // Each message counted as consumed once: by the receive span, not again by its process span.
    const consumedPoints = (await t.metrics())['messaging.client.consumed.messages'] ?? [];
    expect(consumedPoints.reduce((sum, point) => sum + (point.kind === 'sum' ? point.value : 0), 0)).toBe(3);
  });

  it('runs the helper untraced for a batch that is not traced', async () => {
    const result = await traceBatchMessage({ topic: 'x', partition: 0 }, consumed(), () => Promise.resolve(42));
    expect(result).toBe(42);
    expect(t.spans()).toHaveLength(0);
  });
});

describe('commitOffsets', () => {
  it('makes a settle span per topic', async () => {
    const fake = await running();
    await fake.consumer.commitOffsets([
      { topic: 'orders', partition: 0, offset: '5' },
      { topic: 'orders', partition: 1, offset: '7' },
      { topic: 'refunds', partition: 0, offset: '1' },
    ]);
    expect(fake.committed).toHaveLength(1);
    const names = t.spans().map((s) => s.name).sort();
    expect(names).toEqual(['commit orders', 'commit refunds']);
    expect(t.spans()[0]!.attributes).toMatchObject({ 'messaging.operation.type': 'settle', 'messaging.consumer.group.name': 'billing' });
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
