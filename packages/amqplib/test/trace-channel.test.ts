import { SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import { setupTestTelemetry, startAttributesProvider } from '@brokertrace/testing';
import { BrokerTraceConfigError } from '@brokertrace/core';
import { traceChannel, traceConnection, untraceChannel } from '../src/index';
import { FakeChannel, FakeConfirmChannel } from './fake-channel';

const t = setupTestTelemetry();
beforeEach(() => t.reset());

function traceparentOf(headers: unknown): string {
  const value = (headers as Record<string, unknown> | undefined)?.traceparent;
  return typeof value === 'string' ? value : '';
}

describe('publish', () => {
  it('sends one span per publish and carries its context in a copy of the headers', () => {
    const ch = traceChannel(new FakeChannel());
    const headers = Object.freeze({ tenant: 'a' });
    const options = Object.freeze({ headers, messageId: 'm-1', correlationId: 'c-1', persistent: true });
    expect(ch.publish('orders', 'created', Buffer.from('hi'), options)).toBe(true);

    const [span] = t.spans();
    expect(span?.name).toBe('send orders');
    expect(span?.kind).toBe(SpanKind.PRODUCER);
    expect(span?.attributes).toMatchObject({
      'messaging.system': 'rabbitmq',
      'messaging.operation.type': 'send',
      'messaging.destination.name': 'orders:created',
      'messaging.destination.template': 'orders',
      'messaging.rabbitmq.destination.routing_key': 'created',
      'messaging.message.id': 'm-1',
      'messaging.message.conversation_id': 'c-1',
    });
    const sent = ch.sent[0]!;
    expect(traceparentOf(sent.options?.headers)).toBe(`00-${span!.spanContext().traceId}-${span!.spanContext().spanId}-01`);
    expect(sent.options).toMatchObject({ persistent: true, messageId: 'm-1', headers: { tenant: 'a' } });
    expect(sent.options).not.toBe(options);
    expect(headers).toEqual({ tenant: 'a' }); // never mutated (and frozen: it would have thrown)
  });

  it('sends a plain options object as a copy amqplib reads exactly as it would the original', () => {
    const ch = traceChannel(new FakeChannel());
    let reads = 0;
    const options = Object.freeze({
      contentType: 'text/plain',
      get priority(): number {
        reads++;
        return 3;
      },
    });
    ch.publish('', 'q', Buffer.from('x'), options);
    const sent = ch.sent[0]!.options!;
    expect(sent).toMatchObject({ contentType: 'text/plain', priority: 3 });
    expect(reads).toBe(1); // read once, as amqplib would
    expect(traceparentOf(sent.headers)).toContain(t.spans()[0]!.spanContext().spanId);
    // An own `__proto__` key (JSON.parse makes them) stays a value: it never turns into inherited options.
    const parsed = JSON.parse('{"__proto__": {"persistent": true}, "contentType": "application/json"}') as Record<string, unknown>;
    ch.publish('', 'q', Buffer.from('x'), parsed);
    const fromJson = ch.sent[1]!.options!;
    expect(fromJson.persistent).toBe(parsed.persistent); // undefined on both
    expect(fromJson.contentType).toBe('application/json');
    expect(Object.getOwnPropertyDescriptor(fromJson, '__proto__')?.value).toEqual({ persistent: true });
  });

  it('gives samplers the destination, routing key and server at the start; ids and the peer only to spans that record', () => {
    const { provider, seen } = startAttributesProvider();
    const fake = new FakeChannel();
    fake.connection = { frameMax: 131072, stream: { remoteAddress: '10.0.0.7', remotePort: 5672, _host: 'rabbit.local' } };
    const ch = traceChannel(fake, { tracerProvider: provider });
    ch.publish('orders', 'created', Buffer.from('x'), { messageId: 'm-1', correlationId: 'c-1' });
    expect(seen).toEqual([
      {
        'messaging.system': 'rabbitmq',
        'messaging.operation.name': 'send',
        'messaging.operation.type': 'send',
        'messaging.destination.name': 'orders:created',
        'messaging.destination.template': 'orders',
        'messaging.rabbitmq.destination.routing_key': 'created',
        'server.address': 'rabbit.local',
        'server.port': 5672,
      },
    ]);
    // A span that records gets the rest (the global test provider samples everything).
    const recorded = new FakeChannel();
    recorded.connection = fake.connection;
    traceChannel(recorded).publish('orders', 'created', Buffer.from('x'), { messageId: 'm-2', correlationId: 'c-2' });
    expect(t.spans()[0]!.attributes).toMatchObject({
      'messaging.message.id': 'm-2',
      'messaging.message.conversation_id': 'c-2',
      'network.peer.address': '10.0.0.7',
      'network.peer.port': 5672,
      'server.address': 'rabbit.local',
    });
  });

  it('re-sending the same options object carries the new context, not the first one', () => {
    const ch = traceChannel(new FakeChannel());
    const options = { headers: {} };
    ch.publish('', 'q', Buffer.from('1'), options);
    ch.publish('', 'q', Buffer.from('2'), options);
    expect(options.headers).toEqual({});
    const [a, b] = ch.sent.map((s) => traceparentOf(s.options?.headers));
    expect(a).not.toBe(b);
    expect(b).toContain(t.spans()[1]!.spanContext().spanId);
  });

  it('keeps a context the caller put in the headers (existingContext keep): the send span links to it', () => {
    const ch = traceChannel(new FakeChannel());
    const custom = '00-11111111111111111111111111111111-2222222222222222-01';
    const inherited = Object.create({ fromProto: 'yes' }) as Record<string, unknown>;
    inherited.traceparent = custom;
    const options = { headers: inherited };
    ch.sendToQueue('work', Buffer.from('x'), options);
    const [send] = t.spans();
    expect(send!.name).toBe('send work');
    expect(send!.links.map((l) => l.context.spanId)).toEqual(['2222222222222222']);
    // Sent as the caller built it: inherited keys included, the custom context unchanged.
    expect(ch.sent[0]!.options).toBe(options);
    expect(traceparentOf(ch.sent[0]!.options!.headers)).toBe(custom);
  });

  it('with existingContext replace, puts its own context in a copy and keeps inherited header keys', () => {
    const ch = traceChannel(new FakeChannel(), { existingContext: 'replace' });
    const inherited = Object.create({ fromProto: 'yes' }) as Record<string, unknown>;
    inherited.traceparent = '00-11111111111111111111111111111111-2222222222222222-01';
    ch.sendToQueue('work', Buffer.from('x'), { headers: inherited });
    const sentHeaders = ch.sent[0]!.options!.headers!;
    expect(sentHeaders.fromProto).toBe('yes');
    expect(traceparentOf(sentHeaders)).toContain(t.spans()[0]!.spanContext().traceId);
    expect(inherited.traceparent).toBe('00-11111111111111111111111111111111-2222222222222222-01');
  });

  it("sends options that keep what the caller's options inherit (class getters included)", () => {
    class PublishOptions {
      contentType = 'application/json';
      get persistent(): boolean {
        return true;
      }
    }
    const ch = traceChannel(new FakeChannel());
    const options = Object.freeze(new PublishOptions());
    ch.publish('ex', 'rk', Buffer.from('{}'), options);
    const sent = ch.sent[0]!.options!;
    expect(sent.persistent).toBe(true);
    expect(sent.contentType).toBe('application/json');
    expect(traceparentOf(sent.headers)).toContain(t.spans()[0]!.spanContext().spanId);
    expect(Object.keys(options)).toEqual(['contentType']);
  });

  it('names a publish to the default exchange without routing key amq.default', () => {
    const ch = traceChannel(new FakeChannel());
    ch.publish('', '', Buffer.from('x'));
    expect(t.spans()[0]!.name).toBe('send amq.default');
  });

  it('ends the span with the error and rethrows it unchanged when amqplib throws', () => {
    const ch = traceChannel(new FakeChannel());
    const failure = new TypeError('content is not a buffer');
    ch.failPublish = failure;
    expect(() => ch.publish('ex', 'rk', Buffer.from('x'))).toThrow(failure);
    const [span] = t.spans();
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(span?.attributes['error.type']).toBe('TypeError');
    expect(t.openSpans()).toHaveLength(0);
  });

  it('on a confirm channel ends the span on the broker confirm, as an error on nack, and still calls back', () => {
    const ch = traceChannel(new FakeConfirmChannel());
    const calls: unknown[][] = [];
    ch.publish('ex', 'ok', Buffer.from('1'), {}, (...args: unknown[]) => calls.push(args));
    ch.publish('ex', 'bad', Buffer.from('2'), {});
    expect(t.spans()).toHaveLength(0);
    expect(t.openSpans()).toHaveLength(2);

    ch.confirms[0]!(null);
    ch.confirms[1]!(new Error('message nacked'));
    expect(calls).toEqual([[null]]);
    const byName = Object.fromEntries(t.spans().map((s) => [String(s.attributes['messaging.destination.name']), s]));
    expect(byName['ex:ok']!.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(byName['ex:bad']!.status.code).toBe(SpanStatusCode.ERROR);
    expect(t.openSpans()).toHaveLength(0);
  });

  it('leaves ignored destinations alone', () => {
    const ch = traceChannel(new FakeChannel(), { ignoreDestinations: ['audit:log'] });
    const options = { headers: { a: 1 } };
    ch.publish('audit', 'log', Buffer.from('x'), options);
    expect(t.spans()).toHaveLength(0);
    expect(ch.sent[0]!.options).toBe(options);
  });

  it('runs the publish hook, and a throwing hook never reaches the caller', () => {
    const ch = traceChannel(new FakeChannel(), {
      publishHook: (span, info) => {
        span.setAttribute('app.size', info.content.length);
        throw new Error('hook bug');
      },
    });
    expect(() => ch.publish('ex', 'rk', Buffer.from('abc'))).not.toThrow();
    expect(t.spans()[0]!.attributes['app.size']).toBe(3);
  });
});

/** Publishes through a traced channel and hands back the headers that reached the broker. */
function producedHeaders(): { headers: Record<string, unknown>; traceId: string; spanId: string } {
  const producer = traceChannel(new FakeChannel());
  producer.sendToQueue('work', Buffer.from('x'), { messageId: 'id-' + Math.random() });
  const send = t.spans().find((s) => s.name === 'send work')!;
  return { headers: producer.sent[0]!.options!.headers!, ...send.spanContext() };
}

describe('consume', () => {
  it('runs the handler in a process span, child of the producer, ended when the handler returns', async () => {
    const produced = producedHeaders();
    const ch = traceChannel(new FakeChannel());
    let active: string | undefined;
    await ch.consume('work', () => {
      active = trace.getSpan(context.active())?.spanContext().spanId;
    });
    ch.deliver('work', { headers: produced.headers });
    const process = t.spansNamed('process work')[0]!;
    expect(t.openSpans()).toHaveLength(0);
    expect(process.kind).toBe(SpanKind.CONSUMER);
    expect(process.spanContext().traceId).toBe(produced.traceId);
    expect(process.parentSpanContext?.spanId).toBe(produced.spanId);
    expect(active).toBe(process.spanContext().spanId);
    expect(process.attributes).toMatchObject({
      'brokertrace.decision.relationship': 'child',
      'brokertrace.decision.reason': 'fresh',
      'brokertrace.message.delivery_count': 1,
      'messaging.rabbitmq.message.delivery_tag': 1,
      'messaging.client.id': 'ctag-work',
    });
    // Not settled inside the handler: no disposition on the process span.
    expect(process.attributes['brokertrace.message.settlement']).toBeUndefined();
  });

  it('an ack inside the handler is an `ack` settle span under the process span, which keeps the disposition', async () => {
    const ch = traceChannel(new FakeChannel());
    await ch.consume('work', (msg) => ch.ack(msg));
    ch.deliver('work', { headers: producedHeaders().headers });
    const process = t.spansNamed('process work')[0]!;
    const ack = t.spansNamed('ack work')[0]!;
    expect(ack.kind).toBe(SpanKind.CLIENT);
    expect(ack.parentSpanContext?.spanId).toBe(process.spanContext().spanId);
    expect(ack.attributes).toMatchObject({
      'messaging.operation.type': 'settle',
      'messaging.operation.name': 'ack',
      'messaging.destination.name': 'work',
      'messaging.rabbitmq.message.delivery_tag': 1,
      'brokertrace.message.settlement': 'ack',
    });
    expect(ack.attributes['messaging.batch.message_count']).toBeUndefined();
    expect(process.attributes['brokertrace.message.settlement']).toBe('ack');
    expect(ch.settled).toHaveLength(1); // amqplib's ack still ran
  });

  it('a settlement after the handler returned is a settle span of its own; the process span never waits for it', async () => {
    const ch = traceChannel(new FakeChannel());
    await ch.consume('work', () => undefined);
    const { msg } = ch.deliver('work', { headers: producedHeaders().headers });
    expect(t.openSpans()).toHaveLength(0);
    ch.nack(msg, false, false);
    expect(t.spansNamed('process work')[0]!.attributes['brokertrace.message.settlement']).toBeUndefined();
    expect(t.spansNamed('nack work')[0]!.attributes).toMatchObject({ 'brokertrace.message.settlement': 'nack', 'messaging.rabbitmq.message.delivery_tag': 1 });
  });

  it('records each settlement outcome on its settle span', async () => {
    const ch = traceChannel(new FakeChannel());
    await ch.consume('work', () => undefined);
    const m = [1, 2, 3, 4].map(() => ch.deliver('work').msg);
    ch.nack(m[0]); // amqplib default: requeue
    ch.reject(m[1], false);
    ch.reject(m[2]);
    ch.ack(m[3]);
    const settles = t.spans().filter((s) => s.attributes['messaging.operation.type'] === 'settle');
    expect(settles.map((s) => [s.name, s.attributes['brokertrace.message.settlement'], s.attributes['messaging.rabbitmq.message.delivery_tag']])).toEqual([
      ['nack work', 'nack_requeue', 1],
      ['reject work', 'reject', 2],
      ['reject work', 'reject_requeue', 3],
      ['ack work', 'ack', 4],
    ]);
  });

  it('allUpTo, ackAll and nackAll are batch settle spans counting the deliveries they covered', async () => {
    const ch = traceChannel(new FakeChannel());
    await ch.consume('work', () => undefined);
    const m = [1, 2, 3, 4, 5].map(() => ch.deliver('work').msg);
    ch.ack(m[2], true);
    ch.nackAll(false);
    ch.deliver('work');
    ch.ackAll();
    ch.ackAll(); // nothing left
    const settles = t.spans().filter((s) => s.attributes['messaging.operation.type'] === 'settle');
    expect(settles.map((s) => [s.name, s.attributes['messaging.batch.message_count'], s.attributes['messaging.rabbitmq.message.delivery_tag']])).toEqual([
      ['ack work', 3, 3],
      ['nack work', 2, undefined],
      ['ack work', 1, undefined],
      ['ack', 0, undefined],
    ]);
    // Covering nothing, it names no destination: the attribute is left out rather than empty.
    expect(settles[3]!.attributes).not.toHaveProperty(['messaging.destination.name']);
    expect(t.openSpans()).toHaveLength(0);
  });

  it('settling out of order: each call covers exactly the deliveries still unsettled up to its tag', async () => {
    const ch = traceChannel(new FakeChannel());
    await ch.consume('work', () => undefined);
    const m = [1, 2, 3].map(() => ch.deliver('work').msg);
    ch.ack(m[2]); // the latest delivery first
    ch.ack(m[0]);
    ch.ack(m[1], true); // only 2 is left up to it
    const [m4, m5] = [ch.deliver('work').msg, ch.deliver('work').msg];
    ch.ack(m4, true); // 4, not the later 5
    ch.ackAll(); // 5
    ch.ack(m5); // settled already: covers nothing known, still one message
    const settles = t.spans().filter((s) => s.attributes['messaging.operation.type'] === 'settle');
    expect(settles.map((s) => [s.attributes['messaging.rabbitmq.message.delivery_tag'], s.attributes['messaging.batch.message_count']])).toEqual([
      [3, undefined],
      [1, undefined],
      [2, 1],
      [4, 1],
      [undefined, 1],
      [5, undefined],
    ]);
    expect(t.openSpans()).toHaveLength(0);
  });

  it('a channel closing while a handler runs marks its process span channel_closed and forgets the unsettled', async () => {
    const ch = traceChannel(new FakeChannel());
    let release!: () => void;
     
    await ch.consume('work', () => new Promise<void>((resolve) => (release = resolve)));
    ch.deliver('work');
    ch.emit('close');
    release();
    await new Promise((r) => setImmediate(r));
    expect(t.spansNamed('process work')[0]!.attributes['brokertrace.message.settlement']).toBe('channel_closed');
    ch.ackAll();
    expect(t.spansNamed('ack')[0]!.attributes['messaging.batch.message_count']).toBe(0);
  });

  it('for noAck consumers ends the span when the handler promise settles, marked auto_ack', async () => {
    const ch = traceChannel(new FakeChannel());
    let release!: () => void;
    await ch.consume(
      'work',
      () =>
        new Promise<void>((resolve) => {
          release = resolve;
        }),
      { noAck: true },
    );
    const { result } = ch.deliver('work');
    expect(t.openSpans()).toHaveLength(1);
    release();
    await result;
    await new Promise((r) => setImmediate(r));
    expect(t.openSpans()).toHaveLength(0);
    expect(t.spans()[0]!.attributes['brokertrace.message.settlement']).toBe('auto_ack');
  });

  it('a handler that throws gets its error rethrown, and its span ends with it at once', async () => {
    const ch = traceChannel(new FakeChannel());
    const failure = new RangeError('bad message');
    await ch.consume('work', () => {
      throw failure;
    });
    expect(() => ch.deliver('work')).toThrow(failure);
    const [span] = t.spans();
    expect(t.openSpans()).toHaveLength(0);
    expect(span?.attributes['error.type']).toBe('RangeError');
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('an async handler that rejects: its result is returned as it is, the rejection is observed but rethrown', async () => {
    const ch = traceChannel(new FakeChannel());
    const failure = new TypeError('async failure');
    // A thenable that lets the test play the rejection: what our observer does with it is visible.
    const observers: Array<(error: unknown) => unknown> = [];
    const handlerResult = { then: (_: unknown, onRejected: (error: unknown) => unknown) => void observers.push(onRejected) };
    await ch.consume('work', () => handlerResult);
    const { result } = ch.deliver('work');
    expect(result).toBe(handlerResult);
    expect(observers).toHaveLength(1);
    // Our observer rethrows: the branch it belongs to rejects with the same reason, so nothing is swallowed.
    expect(() => observers[0]!(failure)).toThrow(failure);
    const [span] = t.spans();
    expect(span?.attributes['error.type']).toBe('TypeError');
    expect(t.openSpans()).toHaveLength(0);
  });

  it("an async handler's promise comes back as an equivalent one: same value, same rejection reason", async () => {
    const ch = traceChannel(new FakeChannel());
    const failure = new TypeError('async failure');
    await ch.consume('ok', () => Promise.resolve('value'));
    await ch.consume('bad', () => Promise.reject(failure));
    await expect(ch.deliver('ok').result).resolves.toBe('value');
    // The caller (amqplib, or a wrapper below us) handles what it got: nothing is left unhandled.
    await expect(ch.deliver('bad').result).rejects.toBe(failure);
    expect(t.spansNamed('process bad')[0]!.attributes['error.type']).toBe('TypeError');
    expect(t.spansNamed('process ok')[0]!.status.code).not.toBe(SpanStatusCode.ERROR);
  });

  it('passes the broker cancel notification (null) straight through', async () => {
    const ch = traceChannel(new FakeChannel());
    const seen: unknown[] = [];
    await ch.consume('work', (msg) => seen.push(msg));
    ch.consumers.get('ctag-work')!(null);
    expect(seen).toEqual([null]);
    expect(t.spans()).toHaveLength(0);
  });

  it('never takes the context the delivery arrives in as parent or baggage (amqplib delivers in the socket context)', async () => {
    const ch = traceChannel(new FakeChannel());
    const seen: Array<string | undefined> = [];
    await ch.consume('work', () => {
      seen.push(propagation.getBaggage(context.active())?.getEntry('tenant')?.value);
    });
    const produced = producedHeaders();
    const startup = propagation.setBaggage(context.active(), propagation.createBaggage({ tenant: { value: 'acme' } }));
    context.with(startup, () =>
      t.withSpan('startup', () => {
        ch.deliver('work'); // no context in the message
        ch.deliver('work', { headers: produced.headers });
      }),
    );
    const startupSpan = t.spansNamed('startup')[0]!;
    const processes = t.spansNamed('process work');
    expect(processes).toHaveLength(2);
    for (const p of processes) {
      expect(p.parentSpanContext?.spanId).not.toBe(startupSpan.spanContext().spanId);
      expect(p.links.map((l) => l.context.spanId)).not.toContain(startupSpan.spanContext().spanId);
    }
    expect(processes[0]!.parentSpanContext).toBeUndefined();
    expect(seen).toEqual([undefined, undefined]);
  });

  it('links a redelivered message above maxChildDeliveries and counts it', async () => {
    const produced = producedHeaders();
    const ch = traceChannel(new FakeChannel(), { policy: { maxChildDeliveries: 1 } });
    await ch.consume('work', (msg) => ch.ack(msg));
    ch.deliver('work', { headers: produced.headers, redelivered: true });
    const process = t.spansNamed('process work')[0]!;
    expect(process.attributes).toMatchObject({
      'brokertrace.decision.relationship': 'link',
      'brokertrace.decision.reason': 'redelivered',
      'brokertrace.message.delivery_count': 2,
    });
    expect(process.spanContext().traceId).not.toBe(produced.traceId);
    expect(process.links[0]?.context.spanId).toBe(produced.spanId);
  });

  it('keeps a queue the channel declared exclusive out of span names, marked temporary', async () => {
    const ch = traceChannel(new FakeChannel());
    await ch.assertQueue('', { exclusive: true });
    await ch.consume(ch.lastDeclared, () => undefined);
    ch.deliver(ch.lastDeclared);
    const [process] = t.spans();
    expect(process!.name).toBe('process amq.default');
    expect(process!.attributes).toMatchObject({ 'messaging.destination.temporary': true, 'messaging.destination.anonymous': true });
  });

  it("settleSpans 'outside-handler': an ack inside the handler goes on the process span only; one after it keeps its settle span", async () => {
    const config = { settleSpans: 'outside-handler' as const };
    const ch = traceChannel(new FakeChannel(), config);
    const later: unknown[] = [];
    await ch.consume('work', (msg) => {
      if ((msg as { fields: { deliveryTag: number } }).fields.deliveryTag === 1) ch.nack(msg, false, false);
      else later.push(msg);
    });
    ch.deliver('work', { headers: producedHeaders().headers });
    ch.deliver('work', { headers: producedHeaders().headers });
    ch.ack(later[0]);
    const [inside, after] = t.spansNamed('process work');
    expect(inside!.attributes['brokertrace.message.settlement']).toBe('nack');
    expect(t.spansNamed('nack work')).toHaveLength(0);
    // Settled after its handler returned: no span covers it but its own.
    expect(after!.attributes['brokertrace.message.settlement']).toBeUndefined();
    expect(t.spansNamed('ack work')).toHaveLength(1);
    expect(ch.settled.map((s) => s.op)).toEqual(['nack', 'ack']);
    expect(t.openSpans()).toHaveLength(0);
    expect(() => traceChannel(new FakeChannel(), { settleSpans: 'never' as never })).toThrow(/settleSpans/);
  });

  it('a queue declared temporary after its first deliveries is temporary from then on (destinations are remembered per connection)', async () => {
    const ch = traceChannel(new FakeChannel());
    await ch.consume('jobs', () => undefined);
    ch.deliver('jobs');
    await ch.assertQueue('jobs', { exclusive: true });
    ch.deliver('jobs');
    const [before, after] = t.spans();
    expect(before!.name).toBe('process jobs');
    expect(before!.attributes['messaging.destination.temporary']).toBeUndefined();
    expect(after!.name).toBe('process amq.default');
    expect(after!.attributes['messaging.destination.temporary']).toBe(true);
  });

  it('a span that does not record costs no per-message attributes: the message ids and tags are not even read', async () => {
    const notSampled = { getTracer: () => ({ startSpan: () => trace.wrapSpanContext({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 0 }) }) };
    const ch = traceChannel(new FakeChannel(), { tracerProvider: notSampled as never });
    await ch.consume('work', (msg) => ch.ack(msg));
    let reads = 0;
    const message = () => ({
      fields: { deliveryTag: 1, redelivered: false, exchange: '', routingKey: 'work', consumerTag: 'ctag-work' },
      properties: {
        headers: producedHeaders().headers,
        get correlationId() {
          reads++;
          return 'c-1';
        },
      },
      content: Buffer.from('x'),
    });
    ch.consumers.get('ctag-work')!(message());
    expect(reads).toBe(0);
    expect(ch.settled).toHaveLength(1);
    // The same message on a span that records has them.
    const sampled = traceChannel(new FakeChannel());
    await sampled.consume('work', () => undefined);
    sampled.consumers.get('ctag-work')!(message());
    expect(reads).toBe(1);
    expect(t.spansNamed('process work')[0]!.attributes['messaging.message.conversation_id']).toBe('c-1');
  });
});

describe('get', () => {
  const reply = (headers: Record<string, unknown>, deliveryTag = 7) => ({
    fields: { deliveryTag, redelivered: false, exchange: '', routingKey: 'work', messageCount: 0 },
    properties: { headers },
    content: Buffer.from('x'),
  });

  it('gives a receive span, child of the ambient span, linked to the message, without a batch count', async () => {
    const produced = producedHeaders();
    const ch = traceChannel(new FakeChannel());
    ch.getReply = reply(produced.headers);
    const got = await t.withSpan('job', async () => ch.get('work'));
    expect(got).toBe(ch.getReply);
    const receive = t.spansNamed('receive work')[0]!;
    const job = t.spansNamed('job')[0]!;
    expect(receive.kind).toBe(SpanKind.CLIENT);
    expect(receive.parentSpanContext?.spanId).toBe(job.spanContext().spanId);
    expect(receive.links.map((l) => l.context.spanId)).toEqual([produced.spanId]);
    expect(receive.attributes['messaging.rabbitmq.message.delivery_tag']).toBe(7);
    // get is a single-message API (semconv: no messaging.batch.message_count).
    expect(receive.attributes['messaging.batch.message_count']).toBeUndefined();
  });

  it('gives a receive span for an empty queue too: no link, no batch count', async () => {
    const ch = traceChannel(new FakeChannel());
    await expect(ch.get('empty')).resolves.toBe(false);
    const [receive] = t.spansNamed('receive empty');
    expect(receive?.links).toEqual([]);
    expect(receive?.attributes['messaging.batch.message_count']).toBeUndefined();
  });

  it('dates the receive span from the call, on the same clock as its end', async () => {
    const slow = new FakeChannel();
    slow.get = () => new Promise((resolve) => setTimeout(() => resolve(false), 30));
    const ch = traceChannel(slow);
    await ch.get('slow');
    const [receive] = t.spansNamed('receive slow');
    const ms = receive!.duration[0] * 1000 + receive!.duration[1] / 1e6;
    expect(ms).toBeGreaterThanOrEqual(25);
  });

  it('a message got without noAck is settled later by a multi-message ack that counts it', async () => {
    const ch = traceChannel(new FakeChannel());
    ch.getReply = reply({}, 1);
    const first = (await ch.get('work')) as never;
    ch.getReply = reply({}, 2);
    await ch.get('work');
    ch.ack(first);
    ch.ackAll();
    const settles = t.spans().filter((s) => s.attributes['messaging.operation.type'] === 'settle');
    expect(settles.map((s) => [s.name, s.attributes['messaging.batch.message_count']])).toEqual([
      ['ack work', undefined],
      ['ack work', 1],
    ]);
  });
});

describe('wrapping', () => {
  it('tracing a channel twice does not double spans', async () => {
    const ch = traceChannel(traceChannel(new FakeChannel()));
    ch.publish('ex', 'rk', Buffer.from('x'));
    await ch.consume('work', (msg) => ch.ack(msg));
    ch.deliver('work');
    expect(t.spans().map((s) => s.name)).toEqual(['send ex', 'ack work', 'process work']);
  });

  it('untraceChannel gives amqplib its methods back and forgets what it held for the channel', async () => {
    const ch = new FakeChannel();
    const original = ch.publish;
    traceChannel(ch);
    let release!: () => void;
     
    await ch.consume('work', () => new Promise<void>((resolve) => (release = resolve)));
    ch.deliver('work');
    expect(ch.listenerCount('close')).toBe(1);
    untraceChannel(ch);
    expect(ch.publish).toBe(original);
    expect(ch.listenerCount('close')).toBe(0);
    // The handler still running ends its span as usual.
    release();
    await new Promise((r) => setImmediate(r));
    expect(t.openSpans()).toHaveLength(0);
    ch.publish('ex', 'rk', Buffer.from('x'));
    ch.ackAll();
    expect(t.spans().map((s) => s.name)).toEqual(['process work']);
  });

  it('traceConnection traces channels from promise and callback connections', async () => {
    const promiseConnection = traceConnection({
      createChannel: () => Promise.resolve(new FakeChannel()),
      createConfirmChannel: () => Promise.resolve(new FakeConfirmChannel()),
    });
    const a = await promiseConnection.createChannel();
    a.publish('a', 'rk', Buffer.from('x'));

    const callbackConnection = traceConnection({
      createChannel(cb: (err: unknown, ch?: FakeChannel) => void) {
        const ch = new FakeChannel();
        setImmediate(() => cb(null, ch));
        return ch;
      },
      createConfirmChannel: () => undefined,
    });
    const b = await new Promise<FakeChannel>((resolve) => callbackConnection.createChannel((_err: unknown, ch?: FakeChannel) => resolve(ch!)));
    b.publish('b', 'rk', Buffer.from('x'));
    expect(t.spans().map((s) => s.attributes['messaging.destination.name'])).toEqual(['a:rk', 'b:rk']);
  });

  it('a channel whose methods cannot be replaced (sealed) is returned untraced and keeps working', () => {
    const ch = Object.seal(new FakeChannel());
    expect(traceChannel(ch)).toBe(ch);
    expect(ch.publish('ex', 'rk', Buffer.from('x'))).toBe(true);
    expect(t.spans()).toHaveLength(0);
  });

  it('rejects bad options at construction, naming the option, unknown keys included', () => {
    expect(() => traceChannel(new FakeChannel(), { publishHook: 'nope' as never })).toThrow(BrokerTraceConfigError);
    expect(() => traceChannel(new FakeChannel(), { deadLetterIsReplay: 'yes' as never })).toThrow(/deadLetterIsReplay/);
    expect(() => traceChannel(new FakeChannel(), { redeliveryTracking: { maxEntries: 0 } })).toThrow(/redeliveryTracking\.maxEntries/);
    expect(() => traceChannel(new FakeChannel(), { policy: { maxChildAgeMs: -5 } })).toThrow(/policy\.maxChildAgeMs/);
    expect(() => traceChannel(new FakeChannel(), { ignoreDestination: ['x'] } as never)).toThrow(/ignoreDestination/);
    expect(() => traceChannel(new FakeChannel(), { publishHook: () => undefined, enabled: true } as never)).not.toThrow();
  });
});
