import { SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import { setupTestTelemetry } from '@brokertrace/testing';
import { traceTopic, untraceTopic } from '../src/index';
import { fakeTopic } from './fakes';

const t = setupTestTelemetry();
beforeEach(() => t.reset());

function carried(attributes: Record<string, string> | undefined) {
  return trace.getSpanContext(propagation.extract(context.active(), attributes ?? {}));
}

describe('publish', () => {
  it('a create span per message in the caller context, a send span per batch RPC linking to them', async () => {
    const { topic, batches } = fakeTopic();
    traceTopic(topic);
    const [id1, id2] = await t.withSpan('caller', () =>
      Promise.all([topic.publishMessage({ data: Buffer.from('a') }), topic.publishMessage({ data: Buffer.from('b'), attributes: { app: 'x' } })]),
    );
    const caller = t.spansNamed('caller')[0]!;
    const creates = t.spansNamed('create orders');
    expect(creates).toHaveLength(2);
    for (const c of creates) {
      expect(c.kind).toBe(SpanKind.PRODUCER);
      expect(c.parentSpanContext?.spanId).toBe(caller.spanContext().spanId);
      expect(c.attributes['messaging.system']).toBe('gcp_pubsub');
      expect(c.attributes['messaging.operation.type']).toBe('create');
    }
    expect(creates.map((c) => c.attributes['messaging.message.id']).sort()).toEqual([id1, id2].sort());
    // one RPC with both messages, each carrying its own create span's context
    expect(batches).toHaveLength(1);
    const sent = batches[0]!.messages;
    expect(sent.map((m) => carried(m.attributes)?.spanId).sort()).toEqual(creates.map((c) => c.spanContext().spanId).sort());
    expect(sent[1]!.attributes!.app).toBe('x');
    const [send] = t.spansNamed('send orders');
    expect(send!.kind).toBe(SpanKind.CLIENT);
    expect(send!.parentSpanContext).toBeUndefined();
    expect(send!.attributes['messaging.batch.message_count']).toBe(2);
    expect(send!.links.map((l) => l.context.spanId).sort()).toEqual(creates.map((c) => c.spanContext().spanId).sort());
    expect(t.openSpans()).toHaveLength(0);
  });

  it('a message that cannot be copied (a Proxy whose keys throw) is published untraced, and its span is ended', async () => {
    const { topic, batches } = fakeTopic();
    traceTopic(topic);
    const plain = { data: Buffer.from('hostile') };
    const message = new Proxy(plain, {
      ownKeys() {
        throw new Error('no keys');
      },
    });
    // Straight to the Publisher (Topic#publishMessage copies the message itself, which such a Proxy refuses too).
    await expect(topic.publisher.publishMessage(message)).resolves.toMatch(/^id-/);
    expect(batches.flatMap((b) => b.messages.map((m) => m.data?.toString()))).toEqual(['hostile']);
    expect(t.openSpans()).toHaveLength(0);
  });

  it('a message that is a class instance, its data behind a getter on a private field: the RPC carries the same data', async () => {
    class Event {
      readonly #payload: string;
      constructor(payload: string) {
        this.#payload = payload;
      }
      get data(): Buffer {
        return Buffer.from(this.#payload);
      }
    }
    const { topic, batches } = fakeTopic();
    traceTopic(topic);
    // Straight to the Publisher (Topic#publishMessage makes a plain copy of its own first).
    await topic.publisher.publishMessage(new Event('payload-1'));
    const [sent] = batches[0]!.messages;
    expect(sent!.data?.toString()).toBe('payload-1');
    expect(carried(sent!.attributes)?.spanId).toBe(t.spansNamed('create orders')[0]!.spanContext().spanId);
  });

  it('never mutates the caller message or attributes; frozen inputs work', async () => {
    const { topic, batches } = fakeTopic();
    traceTopic(topic);
    const attributes = Object.freeze({ app: 'x' });
    const message = Object.freeze({ data: Buffer.from('a'), attributes });
    await topic.publishMessage(message);
    await topic.publish(Buffer.from('b'), attributes);
    await topic.publishJSON({ n: 1 }, attributes);
    expect(attributes).toEqual({ app: 'x' });
    expect(Object.keys(message)).toEqual(['data', 'attributes']);
    expect(batches.flatMap((b) => b.messages).every((m) => m.attributes!.traceparent !== undefined && m.attributes!.app === 'x')).toBe(true);
  });

  it('flowControlled() is traced, and the size the client cached is recomputed with our attributes', async () => {
    const { topic, batches } = fakeTopic('orders', { batching: { maxMessages: 10, maxMilliseconds: 10_000 } });
    traceTopic(topic);
    const flow = topic.flowControlled();
    const message = { data: Buffer.from('x'.repeat(10)) } as { data: Buffer; calculatedSize?: number };
    const wait = flow.publish(message);
    // the client cached the size on the caller's object before publishing (before our attributes)...
    expect(message.calculatedSize).toBe(10);
    // ...and the batch counts the copy it holds, our traceparent included
    const batch = (topic.publisher as unknown as { queue: { batch: { bytes: number } } }).queue.batch;
    expect(batch.bytes).toBe(10 + Buffer.byteLength('traceparent') + 55);
    await wait;
    await topic.flush();
    const ids = await flow.all();
    expect(ids).toHaveLength(1);
    expect(t.spansNamed('create orders')[0]!.attributes['messaging.message.id']).toBe(ids[0]);
    expect(batches[0]!.messages[0]!.attributes!.traceparent).toMatch(/^00-/);
  });

  it('counts our attributes in the batch size the client uses', async () => {
    const { topic } = fakeTopic('orders', { batching: { maxMessages: 100, maxMilliseconds: 1000 } });
    traceTopic(topic);
    const publisher = topic.publisher as unknown as { queue: { batch: { bytes: number } } };
    const p = topic.publishMessage({ data: Buffer.from('abc') });
    const expected = 3 + Buffer.byteLength('traceparent' + '00-' + '0'.repeat(32) + '-' + '0'.repeat(16) + '-01');
    expect(publisher.queue.batch.bytes).toBe(expected);
    await topic.flush();
    await p;
  });

  it('a failed batch fails every message in it, and the send span', async () => {
    const { topic, failNext } = fakeTopic();
    traceTopic(topic);
    const error = Object.assign(new Error('3 INVALID_ARGUMENT: bad'), { code: 3 });
    failNext(error);
    const results = await Promise.allSettled([topic.publishMessage({ data: Buffer.from('a') }), topic.publishMessage({ data: Buffer.from('b') })]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    for (const r of results) expect((r as PromiseRejectedResult).reason).toBe(error);
    const spans = [...t.spansNamed('create orders'), ...t.spansNamed('send orders')];
    expect(spans).toHaveLength(3);
    for (const s of spans) {
      expect(s.status.code).toBe(SpanStatusCode.ERROR);
      expect(s.attributes['error.type']).toBe('INVALID_ARGUMENT');
    }
  });

  it('callback style: the callback gets the id, the span ends with it', async () => {
    const { topic } = fakeTopic();
    traceTopic(topic);
    const id = await new Promise<string>((resolve, reject) =>
      topic.publishMessage({ data: Buffer.from('a') }, (err, messageId) => (err ? reject(err) : resolve(messageId!))),
    );
    expect(t.spansNamed('create orders')[0]!.attributes['messaging.message.id']).toBe(id);
  });

  it('the client rejecting a message (its own checks) ends its span with the error, passed on unchanged', async () => {
    const { topic, batches } = fakeTopic();
    traceTopic(topic);
    await expect(topic.publishMessage({ data: Buffer.from('a'), attributes: { n: 1 as unknown as string } })).rejects.toThrow(TypeError);
    expect(batches).toHaveLength(0);
    const [create] = t.spansNamed('create orders');
    expect(create!.status.code).toBe(SpanStatusCode.ERROR);
    expect(t.openSpans()).toHaveLength(0);
  });

  it('ordering keys: each ordered batch is one RPC span with the key', async () => {
    const { topic, batches } = fakeTopic('orders', { messageOrdering: true });
    traceTopic(topic);
    await Promise.all([1, 2, 3].map((i) => topic.publishMessage({ data: Buffer.from(String(i)), orderingKey: 'k' })));
    expect(batches.flatMap((b) => b.messages.map((m) => m.data!.toString()))).toEqual(['1', '2', '3']);
    for (const c of t.spansNamed('create orders')) expect(c.attributes['messaging.gcp_pubsub.message.ordering_key']).toBe('k');
    const sends = t.spansNamed('send orders');
    expect(sends.reduce((n, s) => n + (s.attributes['messaging.batch.message_count'] as number), 0)).toBe(3);
    expect(sends[0]!.attributes['messaging.gcp_pubsub.message.ordering_key']).toBe('k');
  });

  it('a message that carries its own context keeps it; the send span links to it', async () => {
    const { topic, batches } = fakeTopic();
    traceTopic(topic);
    const own = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await topic.publishMessage({ data: Buffer.from('a'), attributes: { traceparent: own } });
    expect(t.spansNamed('create orders')).toHaveLength(0);
    expect(batches[0]!.messages[0]!.attributes!.traceparent).toBe(own);
    expect(t.spansNamed('send orders')[0]!.links[0]!.context.spanId).toBe('00f067aa0ba902b7');
  });

  it('a googclient_traceparent from Google client libraries counts as a carried context', async () => {
    const { topic, batches } = fakeTopic();
    traceTopic(topic);
    const own = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await topic.publishMessage({ data: Buffer.from('a'), attributes: { googclient_traceparent: own } });
    expect(batches[0]!.messages[0]!.attributes).toEqual({ googclient_traceparent: own });
  });

  it("existingContext 'replace' overwrites both traceparent and a stale googclient_traceparent", async () => {
    const { topic, batches } = fakeTopic();
    traceTopic(topic, { existingContext: 'replace' });
    const old = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await topic.publishMessage({ data: Buffer.from('a'), attributes: { traceparent: old, googclient_traceparent: old } });
    const sent = batches[0]!.messages[0]!.attributes!;
    const create = t.spansNamed('create orders')[0]!;
    expect(sent.traceparent).toContain(create.spanContext().spanId);
    expect(sent.googclient_traceparent).toBe(sent.traceparent);
  });

  it('the configuration is read once, validated: changing the caller\'s object afterwards changes nothing', async () => {
    const { topic, batches } = fakeTopic();
    const config: { existingContext?: 'keep' | 'replace' } = { existingContext: 'replace' };
    traceTopic(topic, config);
    config.existingContext = 'keep';
    const old = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await topic.publishMessage({ data: Buffer.from('a'), attributes: { googclient_traceparent: old } });
    // Still 'replace', as validated: a create span of ours, its context in both keys.
    const create = t.spansNamed('create orders')[0]!;
    const sent = batches[0]!.messages[0]!.attributes!;
    expect(sent.googclient_traceparent).toContain(create.spanContext().spanId);
  });

  it('writeGoogclientTraceparent adds the googclient_ copy', async () => {
    const { topic, batches } = fakeTopic();
    traceTopic(topic, { writeGoogclientTraceparent: true });
    await topic.publishMessage({ data: Buffer.from('a') });
    const sent = batches[0]!.messages[0]!.attributes!;
    expect(sent.googclient_traceparent).toBe(sent.traceparent);
  });

  it('99 user attributes: traceparent only, the rest recorded as dropped', async () => {
    const { topic, batches } = fakeTopic();
    traceTopic(topic, { writeGoogclientTraceparent: true });
    const attributes: Record<string, string> = {};
    for (let i = 0; i < 99; i++) attributes[`k${i}`] = 'v';
    const withBaggage = propagation.setBaggage(context.active(), propagation.createBaggage({ user: { value: 'u' } }));
    await context.with(withBaggage, () => t.withSpan('caller', () => topic.publishMessage({ data: Buffer.from('a'), attributes })));
    const sent = batches[0]!.messages[0]!.attributes!;
    expect(Object.keys(sent)).toHaveLength(100);
    expect(sent.traceparent).toBeDefined();
    expect(sent.baggage).toBeUndefined();
    expect(t.spansNamed('create orders')[0]!.attributes['brokertrace.context.dropped_fields']).toEqual(['baggage', 'googclient_traceparent']);
  });

  it('drops keys the service rejects (goog*) that a propagator writes', async () => {
    const { topic, batches } = fakeTopic();
    traceTopic(topic);
    const extra = {
      inject: (_: unknown, carrier: Record<string, string>) => {
        carrier['googclient_x-cloud-trace-context'] = 'abc';
        carrier['GOOG-thing'] = 'x';
        carrier['x-cloud-trace-context'] = 'ok';
      },
      extract: (ctx: unknown) => ctx,
      fields: () => [],
    };
    const { CompositePropagator, W3CTraceContextPropagator } = await import('@opentelemetry/core');
    propagation.disable();
    propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), extra as never] }));
    try {
      await topic.publishMessage({ data: Buffer.from('a') });
    } finally {
      const { W3CBaggagePropagator } = await import('@opentelemetry/core');
      propagation.disable();
      propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
    }
    const sent = batches[0]!.messages[0]!.attributes!;
    expect(Object.keys(sent).sort()).toEqual(['traceparent', 'x-cloud-trace-context']);
    expect(t.spansNamed('create orders')[0]!.attributes['brokertrace.context.dropped_fields']).toEqual(['googclient_x-cloud-trace-context', 'GOOG-thing']);
  });

  it("drops for Pub/Sub's own rules reach core's dropped counter (goog* keys, a googclient_ copy without room)", async () => {
    const { topic } = fakeTopic();
    traceTopic(topic, { writeGoogclientTraceparent: true });
    const attributes: Record<string, string> = {};
    for (let i = 0; i < 99; i++) attributes[`k${i}`] = 'v';
    const extra = {
      inject: (_: unknown, carrier: Record<string, string>) => {
        carrier['GOOG-thing'] = 'x';
      },
      extract: (ctx: unknown) => ctx,
      fields: () => [],
    };
    const { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } = await import('@opentelemetry/core');
    propagation.disable();
    propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), extra as never] }));
    try {
      await topic.publishMessage({ data: Buffer.from('a'), attributes });
    } finally {
      propagation.disable();
      propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
    }
    expect(t.spansNamed('create orders')[0]!.attributes['brokertrace.context.dropped_fields']).toEqual(['GOOG-thing', 'googclient_traceparent']);
    const m = await t.metrics();
    const byField = Object.fromEntries((m['brokertrace.context.dropped'] ?? []).map((p) => [p.attributes['brokertrace.context.field'], p.kind === 'sum' ? p.value : NaN]));
    expect(byField).toEqual({ 'GOOG-thing': 1, googclient_traceparent: 1 });
  });

  it('with no propagator registered the batch RPC span is still CLIENT and links to every create span', async () => {
    const { topic, batches } = fakeTopic();
    traceTopic(topic);
    const { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } = await import('@opentelemetry/core');
    propagation.disable();
    try {
      await Promise.all([topic.publishMessage({ data: Buffer.from('a') }), topic.publishMessage({ data: Buffer.from('b') })]);
    } finally {
      propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
    }
    // nothing written into the messages...
    expect(batches[0]!.messages.every((m) => m.attributes === undefined || Object.keys(m.attributes).length === 0)).toBe(true);
    // ...but the conventions' shape stands: create spans are the creation contexts, the send span links to them
    const creates = t.spansNamed('create orders');
    expect(creates).toHaveLength(2);
    const [send] = t.spansNamed('send orders');
    expect(send!.kind).toBe(SpanKind.CLIENT);
    expect(send!.attributes['messaging.batch.message_count']).toBe(2);
    expect(send!.links.map((l) => l.context.spanId).sort()).toEqual(creates.map((c) => c.spanContext().spanId).sort());
    const m = await t.metrics();
    expect(m['messaging.client.sent.messages']).toEqual([expect.objectContaining({ value: 2 })]);
  });

  it('createSpans: false and a message with its own context: a CLIENT send span linked to it, nothing added', async () => {
    const { topic, batches } = fakeTopic();
    traceTopic(topic, { createSpans: false });
    const own = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await topic.publishMessage({ data: Buffer.from('a'), attributes: { traceparent: own } });
    expect(batches[0]!.messages[0]!.attributes).toEqual({ traceparent: own });
    const spans = t.spans();
    expect(spans.map((s) => s.name)).toEqual(['send orders']);
    expect(spans[0]!.kind).toBe(SpanKind.CLIENT);
    expect(spans[0]!.links.map((l) => l.context.spanId)).toEqual(['00f067aa0ba902b7']);
  });

  it('createSpans: false puts a per-message send span in each message and makes no RPC span', async () => {
    const { topic, batches } = fakeTopic();
    traceTopic(topic, { createSpans: false });
    const id = await topic.publishMessage({ data: Buffer.from('a') });
    const spans = t.spans();
    expect(spans.map((s) => s.name)).toEqual(['send orders']);
    expect(spans[0]!.kind).toBe(SpanKind.PRODUCER);
    expect(spans[0]!.attributes['messaging.message.id']).toBe(id);
    expect(carried(batches[0]!.messages[0]!.attributes)?.spanId).toBe(spans[0]!.spanContext().spanId);
  });

  it('ignoreDestinations leaves the topic untouched', async () => {
    const { topic, batches } = fakeTopic();
    traceTopic(topic, { ignoreDestinations: ['orders'] });
    await topic.publishMessage({ data: Buffer.from('a'), attributes: { app: 'x' } });
    expect(t.spans()).toHaveLength(0);
    expect(batches[0]!.messages[0]!.attributes).toEqual({ app: 'x' });
  });

  it('tracing twice does not double spans; untraceTopic restores the topic', async () => {
    const { topic, batches } = fakeTopic();
    const publishMessage = topic.publisher.publishMessage;
    traceTopic(topic);
    traceTopic(topic);
    await topic.publishMessage({ data: Buffer.from('a') });
    expect(t.spansNamed('create orders')).toHaveLength(1);
    expect(untraceTopic(topic)).toBe(true);
    expect(topic.publisher.publishMessage).toBe(publishMessage);
    await topic.publishMessage({ data: Buffer.from('b') });
    expect(t.spans()).toHaveLength(2);
    expect(batches[1]!.messages[0]!.attributes).toBeUndefined();
  });

  it('hooks add attributes; a throwing hook is ignored', async () => {
    const { topic } = fakeTopic();
    traceTopic(topic, {
      publishHook: (span, info) => span.setAttribute('app.topic', info.topic),
      sendHook: () => {
        throw new Error('hook');
      },
    });
    await topic.publishMessage({ data: Buffer.from('a') });
    expect(t.spansNamed('create orders')[0]!.attributes['app.topic']).toBe('orders');
    expect(t.spansNamed('send orders')).toHaveLength(1);
  });

  it('metrics: sent messages per batch RPC, on the topic', async () => {
    const { topic } = fakeTopic();
    traceTopic(topic);
    await Promise.all([topic.publishMessage({ data: Buffer.from('a') }), topic.publishMessage({ data: Buffer.from('b') })]);
    const m = await t.metrics();
    expect(m['messaging.client.sent.messages']).toEqual([
      expect.objectContaining({ value: 2, attributes: expect.objectContaining({ 'messaging.destination.name': 'orders', 'messaging.system': 'gcp_pubsub' }) }),
    ]);
  });
});
