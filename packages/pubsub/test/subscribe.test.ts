import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { setupTestTelemetry, startAttributesProvider } from '@brokertrace/testing';
import { traceSubscription, untraceSubscription } from '../src/index';
import { Message } from '@google-cloud/pubsub';
import { FakeSubscriber, FakeSubscription, receivedMessage } from './fakes';

const t = setupTestTelemetry();
beforeEach(() => t.reset());

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

/** Runs fixtures/rejecting-listener.ts in a Node process of its own (unhandled rejections are per process). */
function runRejectingListener(traced: boolean, capture: boolean) {
  return JSON.parse(
    execFileSync(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures', 'rejecting-listener.ts')], {
      cwd: join(__dirname, '..', '..', '..'),
      env: { ...process.env, TRACED: traced ? '1' : '0', CAPTURE: capture ? '1' : '0' },
      encoding: 'utf8',
    }),
  ) as { reasons: string[]; handled: string[]; spans: Array<{ name: string; status: number; type: string }> };
}

function setup(config?: Parameters<typeof traceSubscription>[1]) {
  const subscriber = new FakeSubscriber();
  const subscription = traceSubscription(new FakeSubscription(), config);
  return { subscriber, subscription };
}

describe('subscribe', () => {
  it('a subscription whose client cannot be read (a throwing getter): every message still reaches the listener, untraced', () => {
    const raw = new FakeSubscription();
    Object.defineProperty(raw, 'pubsub', {
      get() {
        throw new Error('no client');
      },
    });
    const subscription = traceSubscription(raw);
    const subscriber = new FakeSubscriber();
    const seen: string[] = [];
    subscription.on('message', (m: Message) => seen.push(m.id));
    expect(() => subscription.emit('message', receivedMessage(subscriber, { id: 'm-1' }))).not.toThrow();
    expect(seen).toEqual(['m-1']);
    expect(t.openSpans()).toHaveLength(0);
  });

  it('a traced message gains no property of its own, stays a Message, and its settle methods are traced', () => {
    const { subscriber, subscription } = setup();
    const untraced = receivedMessage(subscriber, { id: 'm0' });
    const message = receivedMessage(subscriber, { id: 'm1', attributes: { traceparent: PARENT } });
    const own = (m: object) => [...Object.getOwnPropertyNames(m), ...Object.getOwnPropertySymbols(m).map(String)].sort();
    const before = own(message);
    subscription.on('message', (m) => void (m as Message).nack());
    subscription.emit('message', message);
    expect(own(message)).toEqual(before);
    expect(own(message)).toEqual(own(untraced));
    expect(message).toBeInstanceOf(Message);
    expect(t.spansNamed('nack billing')).toHaveLength(1);
    expect(subscriber.nacks).toEqual(['m1']);
    // Later calls on the message still reach the client, once: the message was settled already.
    message.ack();
    expect(subscriber.acks).toEqual([]);
    expect(t.spansNamed('ack billing')).toHaveLength(0);
  });

  it('a process span per message, child of the message context, never of the active one', () => {
    const { subscriber, subscription } = setup();
    const seen: string[] = [];
    subscription.on('message', (m) => {
      seen.push(trace.getActiveSpan()!.spanContext().traceId);
      (m as { ack(): void }).ack();
    });
    // The client dispatches inside whatever context acked the previous message.
    t.withSpan('previous message', () => subscription.emit('message', receivedMessage(subscriber, { id: 'm1', attributes: { traceparent: PARENT } })));
    const [span] = t.spansNamed('subscribe billing');
    expect(span!.kind).toBe(SpanKind.CONSUMER);
    expect(span!.spanContext().traceId).toBe(TRACE_ID);
    expect(span!.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(seen).toEqual([TRACE_ID]);
    expect(span!.attributes).toMatchObject({
      'messaging.system': 'gcp_pubsub',
      'messaging.operation.name': 'subscribe',
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'billing',
      'messaging.destination.subscription.name': 'billing',
      'messaging.message.id': 'm1',
      'brokertrace.decision.relationship': 'child',
      'brokertrace.decision.reason': 'fresh',
    });
    const [ack] = t.spansNamed('ack billing');
    expect(ack!.kind).toBe(SpanKind.CLIENT);
    expect(ack!.parentSpanContext?.spanId).toBe(span!.spanContext().spanId);
    expect(subscriber.acks).toEqual(['m1']);
  });

  it('samplers see the destination, subscription and decision; id, ordering key and delivery attempt only spans that record', () => {
    const { provider, seen } = startAttributesProvider();
    const subscriber = new FakeSubscriber();
    const subscription = traceSubscription(new FakeSubscription(), { tracerProvider: provider });
    subscription.on('message', () => undefined);
    subscription.emit('message', receivedMessage(subscriber, { id: 'm1', attributes: { traceparent: PARENT }, deliveryAttempt: 2, orderingKey: 'k' }));
    const process = seen.find((a) => a['messaging.operation.type'] === 'process')!;
    expect(process).toMatchObject({ 'messaging.destination.subscription.name': 'billing', 'brokertrace.decision.reason': 'fresh' });
    for (const key of ['messaging.message.id', 'messaging.gcp_pubsub.message.ordering_key', 'messaging.gcp_pubsub.message.delivery_attempt']) {
      expect(process).not.toHaveProperty([key]);
    }
  });

  it('a message without context starts a root, even inside an active span', () => {
    const { subscriber, subscription } = setup();
    subscription.on('message', () => undefined);
    t.withSpan('ambient', () => subscription.emit('message', receivedMessage(subscriber)));
    const [span] = t.spansNamed('subscribe billing');
    expect(span!.parentSpanContext).toBeUndefined();
    expect(span!.attributes['brokertrace.decision.reason']).toBe('no-context');
  });

  it('reads googclient_traceparent written by Google client libraries', () => {
    const { subscriber, subscription } = setup();
    subscription.on('message', () => undefined);
    subscription.emit('message', receivedMessage(subscriber, { attributes: { googclient_traceparent: PARENT } }));
    expect(t.spansNamed('subscribe billing')[0]!.spanContext().traceId).toBe(TRACE_ID);
  });

  it('facts: deliveryAttempt (0 = unknown), orderingKey, publishTime age, dead-letter source', () => {
    const { subscriber, subscription } = setup({ policy: { maxChildDeliveries: 3 } });
    subscription.on('message', () => undefined);
    subscription.emit('message', receivedMessage(subscriber, { id: 'a', attributes: { traceparent: PARENT }, deliveryAttempt: 0, orderingKey: 'k' }));
    subscription.emit('message', receivedMessage(subscriber, { id: 'b', attributes: { traceparent: PARENT }, deliveryAttempt: 4 }));
    subscription.emit('message', receivedMessage(subscriber, { id: 'c', attributes: { traceparent: PARENT }, publishTimeMs: Date.now() - 10 * 60_000 }));
    subscription.emit(
      'message',
      receivedMessage(subscriber, {
        id: 'd',
        attributes: { traceparent: PARENT, CloudPubSubDeadLetterSourceSubscription: 'orders-sub', CloudPubSubDeadLetterSourceDeliveryCount: '5' },
        deliveryAttempt: 1,
      }),
    );
    const byId = Object.fromEntries(t.spansNamed('subscribe billing').map((s) => [s.attributes['messaging.message.id'], s]));
    expect(byId.a!.attributes['messaging.gcp_pubsub.message.delivery_attempt']).toBeUndefined();
    expect(byId.a!.attributes['brokertrace.message.delivery_count']).toBeUndefined();
    expect(byId.a!.attributes['messaging.gcp_pubsub.message.ordering_key']).toBe('k');
    expect(byId.a!.attributes['brokertrace.decision.reason']).toBe('fresh');
    expect(byId.b!.attributes).toMatchObject({ 'messaging.gcp_pubsub.message.delivery_attempt': 4, 'brokertrace.decision.reason': 'redelivered' });
    expect(byId.c!.attributes['brokertrace.decision.reason']).toBe('stale');
    expect(byId.d!.attributes).toMatchObject({
      'brokertrace.decision.reason': 'redelivered',
      'brokertrace.gcp_pubsub.dead_letter.source_subscription': 'orders-sub',
      'brokertrace.gcp_pubsub.dead_letter.source_delivery_count': 5,
    });
    expect(byId.d!.parentSpanContext).toBeUndefined();
    expect(byId.d!.links[0]!.context.traceId).toBe(TRACE_ID);
  });

  it('an async listener: the span ends when its promise settles, or at ack if that comes first', async () => {
    const { subscriber, subscription } = setup();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // eslint-disable-next-line @typescript-eslint/no-misused-promises -- the listener's promise is the case under test
    subscription.on('message', async () => {
      await gate;
    });
    subscription.emit('message', receivedMessage(subscriber, { id: 'x' }));
    expect(t.openSpans().map((s) => s.name)).toEqual(['subscribe billing']);
    release();
    await new Promise((r) => setImmediate(r));
    expect(t.openSpans()).toHaveLength(0);

    const m = receivedMessage(subscriber, { id: 'y' });
    // eslint-disable-next-line @typescript-eslint/no-misused-promises -- never settles
    subscription.on('message', () => new Promise<void>(() => undefined));
    subscription.removeAllListeners('message');
    // eslint-disable-next-line @typescript-eslint/no-misused-promises -- never settles
    subscription.on('message', () => new Promise<void>(() => undefined));
    subscription.emit('message', m);
    expect(t.openSpans()).toHaveLength(1);
    m.nack();
    expect(t.openSpans()).toHaveLength(0);
    expect(t.spansNamed('nack billing')).toHaveLength(1);
    expect(subscriber.nacks).toEqual(['y']);
  });

  it('a listener that throws: error recorded, the same error thrown', () => {
    const { subscriber, subscription } = setup();
    const error = new Error('handler failed');
    subscription.on('message', () => {
      throw error;
    });
    expect(() => subscription.emit('message', receivedMessage(subscriber))).toThrow(error);
    const [span] = t.spansNamed('subscribe billing');
    expect(span!.status.code).toBe(SpanStatusCode.ERROR);
    expect(span!.attributes['error.type']).toBe('Error');
  });

  it('a listener that rejects: recorded, and the rejection stays unhandled exactly as untraced', () => {
    const span = { name: 'subscribe billing', status: SpanStatusCode.ERROR, type: 'Error' };
    expect(runRejectingListener(false, false)).toEqual({ reasons: ['same error'], handled: [], spans: [] });
    expect(runRejectingListener(true, false)).toEqual({ reasons: ['same error'], handled: [], spans: [span] });
  });

  it('a rejection that a layer below handles (captureRejections) stays handled: no unhandled rejection of ours', () => {
    const span = { name: 'subscribe billing', status: SpanStatusCode.ERROR, type: 'Error' };
    expect(runRejectingListener(false, true)).toEqual({ reasons: [], handled: ['same error'], spans: [] });
    expect(runRejectingListener(true, true)).toEqual({ reasons: [], handled: ['same error'], spans: [span] });
  });

  it('removing a wrapped listener works as untraced (on, once, off, twice-added)', () => {
    const { subscriber, subscription } = setup();
    const calls: string[] = [];
    const a = () => calls.push('a');
    subscription.on('message', a);
    subscription.on('message', a);
    expect(subscription.listenerCount('message')).toBe(2);
    subscription.removeListener('message', a);
    expect(subscription.listenerCount('message')).toBe(1);
    subscription.off('message', a);
    expect(subscription.listenerCount('message')).toBe(0);
    const b = () => calls.push('b');
    subscription.once('message', b);
    subscription.removeListener('message', b);
    expect(subscription.listenerCount('message')).toBe(0);
    subscription.once('message', b);
    subscription.emit('message', receivedMessage(subscriber));
    subscription.emit('message', receivedMessage(subscriber));
    expect(calls).toEqual(['b']);
  });

  it('untraceSubscription hands the original listeners back (removable, untraced)', () => {
    const { subscriber, subscription } = setup();
    const a = () => undefined;
    subscription.on('message', a);
    expect(untraceSubscription(subscription)).toBe(true);
    expect(subscription.listeners('message')).toEqual([a]);
    subscription.emit('message', receivedMessage(subscriber));
    expect(t.spans()).toHaveLength(0);
    subscription.removeListener('message', a);
    expect(subscription.listenerCount('message')).toBe(0);
  });

  it('settle spans: ack, nack, modAck, *WithResponse (with the response); a second ack gets none', async () => {
    const { subscriber, subscription } = setup();
    const messages: ReturnType<typeof receivedMessage>[] = [];
    subscription.on('message', (m) => void messages.push(m as ReturnType<typeof receivedMessage>));
    for (const id of ['1', '2', '3']) subscription.emit('message', receivedMessage(subscriber, { id }));
    messages[0]!.modAck(30);
    messages[0]!.ack();
    messages[0]!.ack();
    expect(await messages[1]!.ackWithResponse()).toBe('SUCCESS');
    subscriber.isExactlyOnceDelivery = true;
    const eod = receivedMessage(subscriber, { id: '4' });
    subscription.emit('message', eod);
    expect(await eod.nackWithResponse()).toBe('SUCCESS');
    expect(await messages[2]!.modAckWithResponse(10)).toBe('SUCCESS');
    const names = t.spans().filter((s) => !s.name.startsWith('subscribe')).map((s) => `${s.name}:${String(s.attributes['messaging.message.id'])}`);
    expect(names).toEqual(['modack billing:1', 'ack billing:1', 'ack billing:2', 'nack billing:4', 'modack billing:3']);
    const nack = t.spansNamed('nack billing')[0]!;
    expect(nack.attributes).toMatchObject({ 'messaging.operation.type': 'settle', 'brokertrace.gcp_pubsub.ack_response': 'SUCCESS', 'brokertrace.gcp_pubsub.exactly_once_delivery': true });
    expect(t.spansNamed('modack billing')[0]!.attributes).toMatchObject({ 'messaging.gcp_pubsub.message.ack_deadline': 30, 'messaging.gcp_pubsub.message.ack_id': 'ack-1' });
    expect(Object.keys(messages[0]!)).not.toContain('ack');
  });

  it('ignoreDestinations, disabled, hooks', () => {
    const { subscriber, subscription } = setup({ ignoreDestinations: [/^bill/] });
    subscription.on('message', () => undefined);
    subscription.emit('message', receivedMessage(subscriber));
    expect(t.spans()).toHaveLength(0);
    const hooked = traceSubscription(new FakeSubscription(), { processHook: (span, info) => span.setAttribute('app.sub', info.subscription) });
    hooked.on('message', () => undefined);
    hooked.emit('message', receivedMessage(subscriber));
    expect(t.spans()[0]!.attributes['app.sub']).toBe('billing');
  });

  it('metrics carry the subscription name', async () => {
    const { subscriber, subscription } = setup();
    subscription.on('message', () => undefined);
    context.with(context.active(), () => subscription.emit('message', receivedMessage(subscriber)));
    const m = await t.metrics();
    expect(m['messaging.client.consumed.messages']![0]!.attributes).toMatchObject({
      'messaging.destination.subscription.name': 'billing',
      'messaging.destination.name': 'billing',
    });
  });
});
