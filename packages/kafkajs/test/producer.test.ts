import { SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import { setupTestTelemetry } from '@brokertrace/testing';
import { traceProducer, untraceProducer } from '../src/index';
import { fakeProducer } from './fakes';

const hrMs = ([s, ns]: [number, number]) => s * 1000 + ns / 1e6;

const t = setupTestTelemetry();
beforeEach(() => t.reset());

/** The span context a header carries, parsed the way a consumer would. */
function carried(headers: unknown) {
  const ctx = propagation.extract(context.active(), headers, {
    keys: (c) => Object.keys(c as object),
    get: (c, k) => (c as Record<string, string | undefined>)[k],
  });
  return trace.getSpanContext(ctx);
}

describe('send', () => {
  it('makes one send span and puts its context in a copy of the message', async () => {
    const { producer, sent } = fakeProducer();
    traceProducer(producer, { clientId: 'billing' });
    const message = { key: 'order-1', value: 'hello', headers: { app: 'x' } };
    const reply = await producer.send({ topic: 'orders', messages: [message] });

    expect(reply).toEqual([{ topicName: 'orders', partition: 0, baseOffset: '0', errorCode: 0 }]);
    const [span] = t.spans();
    expect(t.spans()).toHaveLength(1);
    expect(span!.name).toBe('send orders');
    expect(span!.kind).toBe(SpanKind.PRODUCER);
    expect(span!.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.operation.name': 'send',
      'messaging.operation.type': 'send',
      'messaging.destination.name': 'orders',
      'messaging.destination.partition.id': '0',
      'messaging.kafka.offset': 0,
      'messaging.kafka.message.key': 'order-1',
      'messaging.client.id': 'billing',
    });
    const out = sent[0]!.messages[0]!;
    expect(out).not.toBe(message);
    expect(out.headers).toMatchObject({ app: 'x' });
    expect(carried(out.headers)?.spanId).toBe(span!.spanContext().spanId);
    expect(carried(out.headers)?.traceId).toBe(span!.spanContext().traceId);
    // The caller's objects are untouched.
    expect(message).toEqual({ key: 'order-1', value: 'hello', headers: { app: 'x' } });
  });

  it('runs the client call in the context its message carries, built once', async () => {
    const { producer } = fakeProducer();
    const send = producer.send;
    let during: unknown;
    producer.send = (record) => ((during = context.active()), send(record));
    traceProducer(producer);
    const setSpan = jest.spyOn(trace, 'setSpan');
    const inject = jest.spyOn(propagation, 'inject');
    try {
      await producer.send({ topic: 'orders', messages: [{ value: 'a' }] });
      expect(setSpan).toHaveBeenCalledTimes(1);
      expect(inject).toHaveBeenCalledTimes(1);
      expect(during).toBe(inject.mock.calls[0]![0]);
    } finally {
      setSpan.mockRestore();
      inject.mockRestore();
    }
    expect(trace.getSpan(during as never)?.spanContext().spanId).toBe(t.spansNamed('send orders')[0]!.spanContext().spanId);
  });

  it('continues the active trace', async () => {
    const { producer } = fakeProducer();
    traceProducer(producer);
    const parent = await t.withSpan('checkout', (span) =>
      producer.send({ topic: 'orders', messages: [{ value: 'a' }] }).then(() => span),
    );
    const send = t.spansNamed('send orders')[0]!;
    expect(send.spanContext().traceId).toBe(parent.spanContext().traceId);
    expect(send.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
  });

  it('accepts deeply frozen input, and keeps a context the message already carries (linked from the send span)', async () => {
    const { producer, sent } = fakeProducer();
    traceProducer(producer);
    const own = '00-11111111111111111111111111111111-2222222222222222-01';
    const headers = Object.freeze({ traceparent: own });
    const message = Object.freeze({ value: 'v', headers });
    const record = Object.freeze({ topic: 'orders', messages: Object.freeze([message]) as never });
    await producer.send(record);
    // The conventions' rule: a custom creation context is not modified, and the send span links to it.
    expect(sent[0]!.messages[0]).toBe(message);
    const [send] = t.spans();
    expect(send!.links.map((l) => l.context.spanId)).toEqual(['2222222222222222']);
    expect(headers.traceparent).toBe(own);
  });

  it('a message that is a class instance, its value behind a getter on a private field: the client reads the same value', async () => {
    class OrderMessage {
      readonly #order: string;
      readonly key = 'order-1';
      constructor(order: string) {
        this.#order = order;
      }
      get value(): string {
        return JSON.stringify({ order: this.#order });
      }
    }
    const { producer, sent } = fakeProducer();
    traceProducer(producer);
    const message = new OrderMessage('o-1');
    await producer.send({ topic: 'orders', messages: [message] });
    // Read as kafkajs's encoder reads it: a spread (own fields only).
    const got = { ...sent[0]!.messages[0]! } as { value?: unknown; key?: unknown; headers?: Record<string, unknown> };
    expect(got.value).toBe('{"order":"o-1"}');
    expect(got.key).toBe('order-1');
    expect(String(got.headers!.traceparent)).toContain(t.spans()[0]!.spanContext().spanId);
    expect(Object.hasOwn(message, 'headers')).toBe(false);
  });

  it("with existingContext 'replace', gives a re-sent frozen input a fresh context each time", async () => {
    const { producer, sent } = fakeProducer();
    traceProducer(producer, { existingContext: 'replace' });
    const headers = Object.freeze({ traceparent: '00-11111111111111111111111111111111-2222222222222222-01' });
    const message = Object.freeze({ value: 'v', headers });
    const record = Object.freeze({ topic: 'orders', messages: Object.freeze([message]) as never });
    await producer.send(record);
    await producer.send(record);
    const [first, second] = sent.map((b) => carried(b.messages[0]!.headers));
    expect(first?.traceId).not.toBe('11111111111111111111111111111111');
    expect(first?.spanId).not.toBe(second?.spanId);
    expect(headers.traceparent).toBe('00-11111111111111111111111111111111-2222222222222222-01');
    // The stale key is replaced, not duplicated.
    expect(Object.keys(sent[0]!.messages[0]!.headers!).filter((k) => k === 'traceparent')).toHaveLength(1);
  });

  it('marks tombstones', async () => {
    const { producer } = fakeProducer();
    traceProducer(producer, { captureMessageKey: false });
    await producer.send({ topic: 'orders', messages: [{ key: 'k', value: null }] });
    const attributes = t.spans()[0]!.attributes;
    expect(attributes['messaging.kafka.message.tombstone']).toBe(true);
    expect(attributes['messaging.kafka.message.key']).toBeUndefined();
  });

  it('gives each message of a multi-message send a create span in the caller context, linked from a CLIENT send span', async () => {
    const { producer, sent } = fakeProducer();
    traceProducer(producer);
    const caller = await t.withSpan('checkout', (span) =>
      producer.send({ topic: 'orders', messages: [{ value: 'a' }, { value: 'b', key: Buffer.from('kb') }, { value: 'c' }] }).then(() => span),
    );

    const send = t.spansNamed('send orders')[0]!;
    const creates = t.spansNamed('create orders');
    expect(send.kind).toBe(SpanKind.CLIENT);
    expect(send.attributes['messaging.batch.message_count']).toBe(3);
    expect(creates).toHaveLength(3);
    const out = sent[0]!.messages;
    // What a trace viewer shows: each create under the caller's span, the send span linking to all of them.
    for (const create of creates) {
      expect(create.kind).toBe(SpanKind.PRODUCER);
      expect(create.parentSpanContext?.spanId).toBe(caller.spanContext().spanId);
    }
    expect(send.parentSpanContext?.spanId).toBe(caller.spanContext().spanId);
    expect(send.links.map((l) => l.context.spanId)).toEqual(out.map((m) => carried(m.headers)!.spanId));
    expect(new Set(send.links.map((l) => l.context.spanId))).toEqual(new Set(creates.map((c) => c.spanContext().spanId)));
    // Each create span ended once its context was in the message, before the broker answered.
    for (const create of creates) expect(hrMs(create.endTime)).toBeLessThanOrEqual(hrMs(send.startTime) + 1);
    const bySpanId = new Map(creates.map((c) => [c.spanContext().spanId, c]));
    expect(bySpanId.get(carried(out[1]!.headers)!.spanId)!.attributes['messaging.kafka.message.key']).toBe('kb');
    expect(send.attributes['messaging.destination.partition.id']).toBe('0');
  });

  it('puts the send span context in every message when create spans are off', async () => {
    const { producer, sent } = fakeProducer();
    traceProducer(producer, { createSpans: false });
    await producer.send({ topic: 'orders', messages: [{ value: 'a' }, { value: 'b' }] });
    const [send] = t.spans();
    expect(t.spans()).toHaveLength(1);
    expect(send!.kind).toBe(SpanKind.PRODUCER);
    for (const m of sent[0]!.messages) expect(carried(m.headers)?.spanId).toBe(send!.spanContext().spanId);
  });

  it('ends its spans with the error and rethrows the very error', async () => {
    const failure = new TypeError('broker said no');
    const { producer } = fakeProducer({ fail: failure });
    traceProducer(producer);
    await expect(producer.send({ topic: 'orders', messages: [{ value: 'a' }, { value: 'b' }] })).rejects.toBe(failure);
    expect(t.spans()).toHaveLength(3);
    const [send] = t.spansNamed('send orders');
    expect(send!.status.code).toBe(SpanStatusCode.ERROR);
    expect(send!.attributes['error.type']).toBe('TypeError');
    // The create spans ended when their messages were created, before the broker said no.
    for (const create of t.spansNamed('create orders')) expect(create.status.code).toBe(SpanStatusCode.UNSET);
    expect(t.openSpans()).toHaveLength(0);
  });

  /** A message whose `headers` getter throws from its `nth` read on (a hostile or broken message object). */
  function hostile(nth: number, failure: Error) {
    let reads = 0;
    return {
      value: 'b',
      get headers(): Record<string, string> {
        if (++reads >= nth) throw failure;
        return {};
      },
    };
  }

  it.each([
    ['a multi-message send', true],
    ['a single-message send', false],
  ])('ends the spans of %s it could not prepare with that error, counts nothing sent, and sends the record untraced', async (_, multi) => {
    const { producer, sent } = fakeProducer();
    traceProducer(producer);
    const failure = new Error('hostile headers getter');
    // The first read (the message's budget) works: the spans are started when the second one throws.
    const record = { topic: 'orders', messages: multi ? [{ value: 'a' }, hostile(2, failure)] : [hostile(2, failure)] };
    const reply = await producer.send(record);

    expect(reply).toEqual([{ topicName: 'orders', partition: 0, baseOffset: '0', errorCode: 0 }]);
    expect(sent[0]!.messages).toBe(record.messages);
    const [send] = t.spansNamed('send orders');
    expect(send!.status.code).toBe(SpanStatusCode.ERROR);
    expect(send!.attributes['error.type']).toBe('Error');
    expect(t.openSpans()).toHaveLength(0);
    // Nothing reached the client through the traced path: nothing counted as sent, not even as failed.
    expect((await t.metrics())['messaging.client.sent.messages'] ?? []).toEqual([]);
  });

  it('sends a message it cannot even read untraced, with no span and nothing counted', async () => {
    const { producer, sent } = fakeProducer();
    traceProducer(producer);
    const record = { topic: 'orders', messages: [hostile(1, new Error('no headers for you'))] };
    await producer.send(record);
    expect(sent[0]!.messages).toBe(record.messages);
    expect(t.spans()).toHaveLength(0);
    expect(t.openSpans()).toHaveLength(0);
    expect((await t.metrics())['messaging.client.sent.messages'] ?? []).toEqual([]);
  });

  it('passes through a reply whose then getter throws, without throwing into the caller', () => {
    const { producer } = fakeProducer();
    const odd = Object.defineProperty({}, 'then', { get: () => { throw new Error('then getter'); } });
    producer.send = (() => odd) as never;
    traceProducer(producer);
    expect(producer.send({ topic: 'orders', messages: [{ value: 'a' }] })).toBe(odd);
    expect(t.openSpans()).toHaveLength(0);
  });

  it('leaves ignored topics alone', async () => {
    const { producer, sent } = fakeProducer();
    traceProducer(producer, { ignoreDestinations: [/^internal\./] });
    const message = { value: 'a' };
    await producer.send({ topic: 'internal.audit', messages: [message] });
    expect(sent[0]!.messages[0]).toBe(message);
    expect(t.spans()).toHaveLength(0);
  });

  it('sends a message that leaves no room for the context unchanged and records what was dropped', async () => {
    const { producer, sent } = fakeProducer();
    traceProducer(producer, { maxRecordBytes: 1000 });
    const message = { value: 'x'.repeat(900) };
    await producer.send({ topic: 'orders', messages: [message] });
    expect(sent[0]!.messages[0]).toBe(message);
    expect(t.spans()[0]!.attributes['brokertrace.context.dropped_fields']).toEqual(['traceparent']);
  });

  it('counts existing headers, key and value against the record budget', async () => {
    const { producer, sent } = fakeProducer();
    traceProducer(producer, { maxRecordBytes: 1000 });
    // 1000 - 96 framing - 700 value - 2 key = 202 bytes; the old header takes 4 + 6 + 100 of them.
    await producer.send({ topic: 'orders', messages: [{ key: 'ab', value: 'x'.repeat(700), headers: { filler: 'y'.repeat(100) } }] });
    const headers = sent[0]!.messages[0]!.headers!;
    expect(headers.traceparent).toBeDefined();
    await producer.send({ topic: 'orders', messages: [{ key: 'ab', value: 'x'.repeat(700), headers: { filler: 'y'.repeat(140) } }] });
    expect(sent[1]!.messages[0]!.headers!.traceparent).toBeUndefined();
  });

  it('runs the producer hook with the outgoing message and survives a throwing hook', async () => {
    const { producer } = fakeProducer();
    const seen: string[] = [];
    traceProducer(producer, {
      producerHook: (span, { topic, message }) => {
        span.setAttribute('app.value', String(message.value));
        seen.push(`${topic}:${typeof message.headers?.traceparent}`);
        throw new Error('hook bug');
      },
    });
    await producer.send({ topic: 'orders', messages: [{ value: 'a' }] });
    expect(seen).toEqual(['orders:string']);
    expect(t.spans()[0]!.attributes['app.value']).toBe('a');
  });
});

describe('sendBatch', () => {
  it('makes one send span per topic and keeps the caller structure', async () => {
    const { producer, sent } = fakeProducer();
    traceProducer(producer);
    const topicMessages = [
      { topic: 'a', messages: [{ value: '1' }] },
      { topic: 'b', messages: [{ value: '2' }, { value: '3' }] },
      { topic: 'a', messages: [{ value: '4' }] },
    ];
    const frozen = Object.freeze(topicMessages.map((e) => Object.freeze({ ...e, messages: Object.freeze(e.messages) })));
    await producer.sendBatch({ topicMessages: frozen as never, acks: -1 } as never);

    expect(sent.map((s) => [s.topic, s.messages.map((m) => m.value)])).toEqual([
      ['a', ['1']],
      ['b', ['2', '3']],
      ['a', ['4']],
    ]);
    expect(t.spansNamed('send a')).toHaveLength(1);
    expect(t.spansNamed('send b')).toHaveLength(1);
    expect(t.spansNamed('send a')[0]!.attributes['messaging.batch.message_count']).toBe(2);
    expect(t.spansNamed('create a')).toHaveLength(2);
    expect(t.spansNamed('create b')).toHaveLength(2);
    // Every message went out with a context, none of the caller's objects changed.
    for (const batch of sent) for (const m of batch.messages) expect(carried(m.headers)).toBeDefined();
    expect(topicMessages[0]!.messages[0]).toEqual({ value: '1' });
  });
});

describe('transactions', () => {
  it('traces sends inside a transaction and makes commit and abort visible', async () => {
    const { producer, commits } = fakeProducer();
    traceProducer(producer);
    const txn = await producer.transaction();
    await txn.send({ topic: 'orders', messages: [{ value: 'a' }, { value: 'b' }] });
    await txn.commit();
    const aborted = await producer.transaction();
    await aborted.send({ topic: 'orders', messages: [{ value: 'c' }] });
    await aborted.abort();

    expect(commits).toEqual(['commit', 'abort']);
    const sends = t.spansNamed('send orders');
    expect(sends).toHaveLength(2);
    for (const s of sends) expect(s.attributes['brokertrace.kafka.transactional']).toBe(true);
    const [commit] = t.spansNamed('commit_transaction orders');
    const [abort] = t.spansNamed('abort_transaction orders');
    expect(commit!.attributes).toMatchObject({
      'messaging.operation.name': 'commit_transaction',
      'brokertrace.kafka.transaction.outcome': 'commit',
      'messaging.batch.message_count': 2,
    });
    expect(abort!.attributes).toMatchObject({ 'brokertrace.kafka.transaction.outcome': 'abort', 'messaging.batch.message_count': 1 });
    // Ending a transaction is no settlement of consumed messages: none of the conventions' operation types.
    for (const s of [commit!, abort!]) {
      expect(s.kind).toBe(SpanKind.CLIENT);
      expect(s.attributes).not.toHaveProperty(['messaging.operation.type']);
    }
    // Apart from a consumer's offset commit in the metrics too.
    const durations = (await t.metrics())['messaging.client.operation.duration'] ?? [];
    const names = durations.map((p) => p.attributes['messaging.operation.name']);
    expect(names).toEqual(expect.arrayContaining(['commit_transaction', 'abort_transaction']));
    expect(names).not.toContain('commit');
    const ending = durations.filter((p) => String(p.attributes['messaging.operation.name']).endsWith('_transaction'));
    expect(ending).toHaveLength(2);
    for (const p of ending) expect(p.attributes).not.toHaveProperty(['messaging.operation.type']);
  });
});

describe('transactions over several topics', () => {
  it('name no topic on the commit span: the span name is the operation and messaging.destination.name is left out', async () => {
    const { producer } = fakeProducer();
    traceProducer(producer);
    const txn = await producer.transaction();
    await txn.send({ topic: 'orders', messages: [{ value: 'a' }] });
    await txn.send({ topic: 'invoices', messages: [{ value: 'b' }] });
    await txn.commit();
    const [commit] = t.spansNamed('commit_transaction');
    expect(commit!.attributes).not.toHaveProperty(['messaging.destination.name']);
    expect(commit!.attributes).toMatchObject({ 'brokertrace.kafka.transaction.topics': ['invoices', 'orders'], 'messaging.batch.message_count': 2 });
    const [point] = ((await t.metrics())['messaging.client.operation.duration'] ?? []).filter((p) => p.attributes['messaging.operation.name'] === 'commit_transaction');
    expect(point!.attributes).not.toHaveProperty(['messaging.destination.name']);
  });
});

describe('wrapping', () => {
  it('does not double spans when wrapped twice, and untrace restores the original methods', async () => {
    const { producer } = fakeProducer();
    const originalSend = producer.send;
    expect(traceProducer(producer)).toBe(producer);
    traceProducer(producer);
    await producer.send({ topic: 'orders', messages: [{ value: 'a' }] });
    expect(t.spans()).toHaveLength(1);

    expect(untraceProducer(producer)).toBe(true);
    expect(producer.send).toBe(originalSend);
    await producer.send({ topic: 'orders', messages: [{ value: 'a' }] });
    expect(t.spans()).toHaveLength(1);
    expect(untraceProducer(producer)).toBe(false);
  });

  it('learns the client id from the first request event and stops listening', async () => {
    const { producer, events } = fakeProducer();
    traceProducer(producer);
    expect(events.listenerCount()).toBe(1);
    events.emit(events.events.REQUEST, { clientId: 'orders-service', broker: 'kafka-1.internal:9093', apiName: 'Metadata' });
    // Still listening for the first Produce request (its version says whether the broker takes headers).
    events.emit(events.events.REQUEST, { clientId: 'orders-service', broker: 'kafka-2.internal:9093', apiName: 'Produce', apiVersion: 7 });
    expect(events.listenerCount()).toBe(0);
    await producer.send({ topic: 'orders', messages: [{ value: 'a' }] });
    expect(t.spans()[0]!.attributes).toMatchObject({
      'messaging.client.id': 'orders-service',
      'server.address': 'kafka-1.internal',
      'server.port': 9093,
    });
  });

  it('leaves a frozen client untraced and working', async () => {
    const { producer, sent } = fakeProducer();
    Object.freeze(producer);
    expect(traceProducer(producer)).toBe(producer);
    await producer.send({ topic: 'orders', messages: [{ value: 'a' }] });
    expect(sent).toHaveLength(1);
    expect(t.spans()).toHaveLength(0);
  });
});
