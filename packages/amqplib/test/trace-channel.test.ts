import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { setupTestTelemetry } from '@brokertrace/testing';
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
    expect(span?.name).toBe('send orders:created');
    expect(span?.kind).toBe(SpanKind.PRODUCER);
    expect(span?.attributes).toMatchObject({
      'messaging.system': 'rabbitmq',
      'messaging.operation.type': 'send',
      'messaging.destination.name': 'orders:created',
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

  it('replaces a stale traceparent the caller left in the headers and keeps inherited header keys', () => {
    const ch = traceChannel(new FakeChannel());
    const inherited = Object.create({ fromProto: 'yes' }) as Record<string, unknown>;
    inherited.traceparent = '00-11111111111111111111111111111111-2222222222222222-01';
    ch.sendToQueue('work', Buffer.from('x'), { headers: inherited });
    const sentHeaders = ch.sent[0]!.options!.headers!;
    expect(sentHeaders.fromProto).toBe('yes');
    expect(traceparentOf(sentHeaders)).toContain(t.spans()[0]!.spanContext().traceId);
    expect(t.spans()[0]!.name).toBe('send work');
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
    const byName = Object.fromEntries(t.spans().map((s) => [s.name, s]));
    expect(byName['send ex:ok']!.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(byName['send ex:bad']!.status.code).toBe(SpanStatusCode.ERROR);
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
  it('runs the handler in a process span, child of the producer, ended by ack', async () => {
    const produced = producedHeaders();
    const ch = traceChannel(new FakeChannel());
    let active: string | undefined;
    await ch.consume('work', (msg) => {
      active = trace.getSpan(context.active())?.spanContext().spanId;
      ch.ack(msg);
    });
    ch.deliver('work', { headers: produced.headers });
    const process = t.spans().find((s) => s.name === 'process work')!;
    expect(process.kind).toBe(SpanKind.CONSUMER);
    expect(process.spanContext().traceId).toBe(produced.traceId);
    expect(process.parentSpanContext?.spanId).toBe(produced.spanId);
    expect(active).toBe(process.spanContext().spanId);
    expect(process.attributes).toMatchObject({
      'brokertrace.decision': 'child',
      'brokertrace.decision.reason': 'fresh',
      'brokertrace.message.delivery_count': 1,
      'brokertrace.message.settlement': 'ack',
      'messaging.rabbitmq.message.delivery_tag': 1,
    });
    expect(ch.settled).toHaveLength(1); // amqplib's ack still ran
  });

  it('keeps the span open until the message is settled, whenever that is', async () => {
    const ch = traceChannel(new FakeChannel());
    await ch.consume('work', () => undefined);
    const { msg } = ch.deliver('work', { headers: producedHeaders().headers });
    expect(t.openSpans().map((s) => s.name)).toEqual(['process work']);
    ch.nack(msg, false, false);
    expect(t.openSpans()).toHaveLength(0);
    expect(t.spansNamed('process work')[0]!.attributes['brokertrace.message.settlement']).toBe('nack');
  });

  it('records each settlement outcome', async () => {
    const ch = traceChannel(new FakeChannel());
    await ch.consume('work', () => undefined);
    const m = [1, 2, 3, 4].map(() => ch.deliver('work').msg);
    ch.nack(m[0]); // amqplib default: requeue
    ch.reject(m[1], false);
    ch.reject(m[2]);
    ch.ack(m[3]);
    expect(t.spansNamed('process work').map((s) => s.attributes['brokertrace.message.settlement'])).toEqual([
      'nack_requeue',
      'reject',
      'reject_requeue',
      'ack',
    ]);
  });

  it('ack with allUpTo ends every span up to that tag, ackAll and nackAll end the rest', async () => {
    const ch = traceChannel(new FakeChannel());
    await ch.consume('work', () => undefined);
    const m = [1, 2, 3, 4, 5].map(() => ch.deliver('work').msg);
    ch.ack(m[2], true);
    expect(t.spans()).toHaveLength(3);
    expect(t.openSpans()).toHaveLength(2);
    ch.nackAll(false);
    expect(t.openSpans()).toHaveLength(0);
    expect(t.spans().slice(3).map((s) => s.attributes['brokertrace.message.settlement'])).toEqual(['nack', 'nack']);
    ch.deliver('work');
    ch.ackAll();
    expect(t.openSpans()).toHaveLength(0);
  });

  it('ends every unsettled span when the channel closes, marked channel_closed', async () => {
    const ch = traceChannel(new FakeChannel());
    await ch.consume('work', () => undefined);
    ch.deliver('work');
    ch.deliver('work');
    ch.emit('close');
    expect(t.openSpans()).toHaveLength(0);
    expect(t.spans().map((s) => s.attributes['brokertrace.message.settlement'])).toEqual(['channel_closed', 'channel_closed']);
  });

  it('for noAck consumers ends the span when the handler promise settles, with its error', async () => {
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
    expect(t.openSpans()).toHaveLength(0);
    expect(t.spans()[0]!.attributes['brokertrace.message.settlement']).toBe('auto_ack');

    const failing = new Error('handler failed');
    await ch.consume('other', () => Promise.reject(failing), { noAck: true });
    await expect(ch.deliver('other').result).rejects.toBe(failing);
    expect(t.spansNamed('process other')[0]!.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('a handler that throws gets its error rethrown; the span ends with it once settled', async () => {
    const ch = traceChannel(new FakeChannel());
    const failure = new RangeError('bad message');
    await ch.consume('work', () => {
      throw failure;
    });
    expect(() => ch.deliver('work')).toThrow(failure);
    ch.emit('close');
    const [span] = t.spans();
    expect(span?.attributes['error.type']).toBe('RangeError');
    expect(span?.attributes['brokertrace.message.settlement']).toBe('channel_closed');
  });

  it('an async handler that rejects: its result is returned as it is and the span gets the error', async () => {
    const ch = traceChannel(new FakeChannel());
    const failure = new TypeError('async failure');
    // A thenable that lets the test play the rejection: what our observer does with it is visible.
    const observers: Array<(error: unknown) => unknown> = [];
    const handlerResult = { then: (_: unknown, onRejected: (error: unknown) => unknown) => void observers.push(onRejected) };
    await ch.consume('work', () => handlerResult);
    const { result } = ch.deliver('work');
    expect(result).toBe(handlerResult);
    expect(observers).toHaveLength(1);
    // Our observer only notes the error: it adds no rejection of its own.
    expect(observers[0]!(failure)).toBeUndefined();
    ch.emit('close');
    const [span] = t.spans();
    expect(span?.attributes['error.type']).toBe('TypeError');
    expect(span?.attributes['brokertrace.message.settlement']).toBe('channel_closed');
  });

  it('passes the broker cancel notification (null) straight through', async () => {
    const ch = traceChannel(new FakeChannel());
    const seen: unknown[] = [];
    await ch.consume('work', (msg) => seen.push(msg));
    ch.consumers.get('ctag-work')!(null);
    expect(seen).toEqual([null]);
    expect(t.spans()).toHaveLength(0);
  });

  it('links a redelivered message above maxChildDeliveries and counts it', async () => {
    const produced = producedHeaders();
    const ch = traceChannel(new FakeChannel(), { policy: { maxChildDeliveries: 1 } });
    await ch.consume('work', (msg) => ch.ack(msg));
    ch.deliver('work', { headers: produced.headers, redelivered: true });
    const process = t.spansNamed('process work')[0]!;
    expect(process.attributes).toMatchObject({ 'brokertrace.decision': 'link', 'brokertrace.decision.reason': 'redelivered', 'brokertrace.message.delivery_count': 2 });
    expect(process.spanContext().traceId).not.toBe(produced.traceId);
    expect(process.links[0]?.context.spanId).toBe(produced.spanId);
  });
});

describe('get', () => {
  it('gives a receive span, child of the ambient span, linked to the message', async () => {
    const produced = producedHeaders();
    const ch = traceChannel(new FakeChannel());
    ch.getReply = {
      fields: { deliveryTag: 7, redelivered: false, exchange: '', routingKey: 'work', messageCount: 0 },
      properties: { headers: produced.headers },
      content: Buffer.from('x'),
    };
    const reply = await t.withSpan('job', async () => ch.get('work'));
    expect(reply).toBe(ch.getReply);
    const receive = t.spansNamed('receive work')[0]!;
    const job = t.spansNamed('job')[0]!;
    expect(receive.kind).toBe(SpanKind.CLIENT);
    expect(receive.parentSpanContext?.spanId).toBe(job.spanContext().spanId);
    expect(receive.links.map((l) => l.context.spanId)).toEqual([produced.spanId]);
    expect(receive.attributes['messaging.rabbitmq.message.delivery_tag']).toBe(7);
  });

  it('gives a receive span for an empty queue too', async () => {
    const ch = traceChannel(new FakeChannel());
    await expect(ch.get('empty')).resolves.toBe(false);
    expect(t.spansNamed('receive empty')).toHaveLength(1);
  });
});

describe('wrapping', () => {
  it('tracing a channel twice does not double spans', async () => {
    const ch = traceChannel(traceChannel(new FakeChannel()));
    ch.publish('ex', 'rk', Buffer.from('x'));
    await ch.consume('work', (msg) => ch.ack(msg));
    ch.deliver('work');
    expect(t.spans().map((s) => s.name)).toEqual(['send ex:rk', 'process work']);
  });

  it('untraceChannel gives amqplib its methods back', () => {
    const ch = new FakeChannel();
    const original = ch.publish;
    traceChannel(ch);
    expect(ch.publish).not.toBe(original);
    untraceChannel(ch);
    expect(ch.publish).toBe(original);
    ch.publish('ex', 'rk', Buffer.from('x'));
    expect(t.spans()).toHaveLength(0);
  });

  it('traceConnection traces channels from promise and callback connections', async () => {
    const promiseConnection = traceConnection({
      createChannel: () => Promise.resolve(new FakeChannel()),
      createConfirmChannel: () => Promise.resolve(new FakeConfirmChannel()),
    });
    const a = (await promiseConnection.createChannel());
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
    expect(t.spans().map((s) => s.name)).toEqual(['send a:rk', 'send b:rk']);
  });

  it('a channel whose methods cannot be replaced (sealed) is returned untraced and keeps working', () => {
    const ch = Object.seal(new FakeChannel());
    expect(traceChannel(ch)).toBe(ch);
    expect(ch.publish('ex', 'rk', Buffer.from('x'))).toBe(true);
    expect(t.spans()).toHaveLength(0);
  });

  it('rejects bad options at construction, naming the option', () => {
    expect(() => traceChannel(new FakeChannel(), { publishHook: 'nope' as never })).toThrow(BrokerTraceConfigError);
    expect(() => traceChannel(new FakeChannel(), { deadLetterIsReplay: 'yes' as never })).toThrow(/deadLetterIsReplay/);
    expect(() => traceChannel(new FakeChannel(), { policy: { maxChildAgeMs: -5 } })).toThrow(/policy\.maxChildAgeMs/);
  });
});
