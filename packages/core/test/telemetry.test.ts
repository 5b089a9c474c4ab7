import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace, diag } from '@opentelemetry/api';
import { setupTestTelemetry } from '@brokertrace/testing';
import {
  ATTR_BROKERTRACE_CONTEXT_DROPPED,
  ATTR_BROKERTRACE_DECISION,
  ATTR_BROKERTRACE_DECISION_REASON,
  ATTR_BROKERTRACE_MESSAGE_AGE_MS,
  ATTR_BROKERTRACE_MESSAGE_DELIVERY_COUNT,
  ATTR_ERROR_TYPE,
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  BrokerTraceConfigError,
  MessagingTelemetry,
} from '@brokertrace/core';

const t = setupTestTelemetry();
beforeEach(() => t.reset());

function telemetry(config = {}): MessagingTelemetry {
  return new MessagingTelemetry({ system: 'kafka', instrumentationName: 'test', instrumentationVersion: '1.0.0', config });
}

/** Produces a message the way a broker package does: send span, inject, return the headers. */
function produce(tel: MessagingTelemetry, destination = 'orders'): { headers: Record<string, string>; traceId: string; spanId: string } {
  const span = tel.startSend({ destination });
  const { fields } = tel.inject(span, {});
  tel.end(span);
  return { headers: fields, traceId: span.spanContext().traceId, spanId: span.spanContext().spanId };
}

describe('producer spans', () => {
  test('send span: name, kind, semconv attributes, and the context it injects', () => {
    const tel = telemetry();
    const { headers, traceId, spanId } = produce(tel);
    const [span] = t.spans();
    expect(span!.name).toBe('send orders');
    expect(span!.kind).toBe(SpanKind.PRODUCER);
    expect(span!.attributes).toMatchObject({
      [ATTR_MESSAGING_SYSTEM]: 'kafka',
      [ATTR_MESSAGING_OPERATION_NAME]: 'send',
      [ATTR_MESSAGING_OPERATION_TYPE]: 'send',
      [ATTR_MESSAGING_DESTINATION_NAME]: 'orders',
    });
    expect(headers.traceparent).toBe(`00-${traceId}-${spanId}-01`);
  });

  test('a batch send is CLIENT with a message count when create spans exist, PRODUCER without them', () => {
    const tel = telemetry();
    const send = tel.startSend({ destination: 'orders', messageCount: 3 });
    const create = tel.startCreate({ destination: 'orders', parent: trace.setSpan(context.active(), send) });
    tel.end(create);
    tel.end(send);
    const off = telemetry({ createSpans: false });
    off.end(off.startSend({ destination: 'orders', messageCount: 3 }));
    const [c, s, s2] = t.spans();
    expect(c!.name).toBe('create orders');
    expect(c!.parentSpanContext?.spanId).toBe(s!.spanContext().spanId);
    expect(s!.kind).toBe(SpanKind.CLIENT);
    expect(s!.attributes[ATTR_MESSAGING_BATCH_MESSAGE_COUNT]).toBe(3);
    expect(s2!.kind).toBe(SpanKind.PRODUCER);
  });

  test('settle span', () => {
    const tel = telemetry();
    tel.end(tel.startSettle({ destination: 'orders', operationName: 'ack' }));
    const [s] = t.spans();
    expect(s!.name).toBe('ack orders');
    expect(s!.kind).toBe(SpanKind.CLIENT);
    expect(s!.attributes[ATTR_MESSAGING_OPERATION_TYPE]).toBe('settle');
  });

  test('inject records what did not fit on the span, and warns once per destination', () => {
    const warn = jest.spyOn(diag, 'warn').mockImplementation(() => undefined);
    try {
      const tel = new MessagingTelemetry({ system: 'aws_sqs', instrumentationName: 'test' });
      const full = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`a${i}`, { DataType: 'String', StringValue: 'x' }]));
      for (let i = 0; i < 2; i++) {
        const span = tel.startSend({ destination: 'q' });
        const result = tel.inject(span, full);
        expect(result.fields).toEqual({});
        expect(result.dropped).toEqual(['traceparent']);
        tel.end(span);
      }
      expect(t.spans()[0]!.attributes[ATTR_BROKERTRACE_CONTEXT_DROPPED]).toEqual(['traceparent']);
      expect(warn.mock.calls.filter((c) => String(c[0]).includes('"q"'))).toHaveLength(1);
    } finally {
      warn.mockRestore();
    }
  });
});

describe('process spans', () => {
  test('a fresh message: child of the producer span, decision recorded', () => {
    const tel = telemetry();
    const { headers, traceId, spanId } = produce(tel);
    const { span, context: ctx, decision } = tel.startProcess({
      destination: 'orders',
      carrier: headers,
      facts: { enqueuedAtMs: Date.now() - 10, deliveryCount: 1, messageId: 'm1' },
    });
    expect(decision).toMatchObject({ relationship: 'child', reason: 'fresh' });
    expect(trace.getSpan(ctx)).toBe(span);
    tel.end(span);
    const process = t.spansNamed('process orders')[0]!;
    expect(process.kind).toBe(SpanKind.CONSUMER);
    expect(process.spanContext().traceId).toBe(traceId);
    expect(process.parentSpanContext?.spanId).toBe(spanId);
    expect(process.links).toHaveLength(0);
    expect(process.attributes).toMatchObject({
      [ATTR_BROKERTRACE_DECISION]: 'child',
      [ATTR_BROKERTRACE_DECISION_REASON]: 'fresh',
      [ATTR_BROKERTRACE_MESSAGE_DELIVERY_COUNT]: 1,
      [ATTR_MESSAGING_OPERATION_TYPE]: 'process',
    });
    expect(process.attributes[ATTR_BROKERTRACE_MESSAGE_AGE_MS]).toBeGreaterThanOrEqual(10);
  });

  test('a stale message: new trace linked to the producer, link carries id, delivery count and age', () => {
    const tel = telemetry();
    const { headers, traceId, spanId } = produce(tel);
    const { span, decision } = tel.startProcess({
      destination: 'orders',
      carrier: headers,
      facts: { enqueuedAtMs: Date.now() - 3_600_000, deliveryCount: 2, messageId: 'm-stale' },
    });
    tel.end(span);
    expect(decision.reason).toBe('stale');
    const process = t.spansNamed('process orders')[0]!;
    expect(process.spanContext().traceId).not.toBe(traceId);
    expect(process.parentSpanContext).toBeUndefined();
    expect(process.links).toHaveLength(1);
    expect(process.links[0]!.context.spanId).toBe(spanId);
    expect(process.links[0]!.attributes).toMatchObject({
      [ATTR_MESSAGING_MESSAGE_ID]: 'm-stale',
      [ATTR_BROKERTRACE_MESSAGE_DELIVERY_COUNT]: 2,
    });
    expect(process.links[0]!.attributes![ATTR_BROKERTRACE_MESSAGE_AGE_MS]).toBeGreaterThanOrEqual(3_600_000);
  });

  test('child with an ambient span: the ambient span is kept as a link; link under an ambient span: child of it', () => {
    const tel = telemetry();
    const { headers, spanId } = produce(tel);
    t.withSpan('ambient', (ambient) => {
      const fresh = tel.startProcess({ destination: 'orders', carrier: headers, facts: {} });
      tel.end(fresh.span);
      const linked = tel.startProcess({ destination: 'orders', carrier: headers, facts: { deliveryCount: 9 } });
      tel.end(linked.span);
      const [a, b] = t.spansNamed('process orders');
      expect(a!.parentSpanContext?.spanId).toBe(spanId);
      expect(a!.links.map((l) => l.context.spanId)).toEqual([ambient.spanContext().spanId]);
      expect(b!.attributes[ATTR_BROKERTRACE_DECISION_REASON]).toBe('redelivered');
      expect(b!.parentSpanContext?.spanId).toBe(ambient.spanContext().spanId);
      expect(b!.links.map((l) => l.context.spanId)).toEqual([spanId]);
    });
  });

  test('no context: root span (or child of the ambient span), reason no-context', () => {
    const tel = telemetry();
    const { span, decision } = tel.startProcess({ destination: 'orders', carrier: { traceparent: 'garbage' }, facts: {} });
    tel.end(span);
    expect(decision.reason).toBe('no-context');
    const process = t.spans()[0]!;
    expect(process.parentSpanContext).toBeUndefined();
    expect(process.links).toHaveLength(0);
  });

  test('the message baggage is in the handler context, filtered by baggageAllowList', () => {
    const tel = telemetry({ baggageAllowList: ['tenant'] });
    const { span, context: ctx } = tel.startProcess({
      destination: 'orders',
      carrier: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', baggage: 'tenant=a,secret=b' },
      facts: {},
    });
    tel.end(span);
    const bag = propagation.getBaggage(ctx)!;
    expect(bag.getEntry('tenant')?.value).toBe('a');
    expect(bag.getEntry('secret')).toBeUndefined();
  });
});

describe('receive spans', () => {
  test('one link per message with a valid context, batch count', () => {
    const tel = telemetry();
    const a = produce(tel);
    const b = produce(tel);
    const { span } = tel.startReceive({
      destination: 'orders',
      messages: [
        { facts: { messageId: '1' }, carrier: a.headers },
        { facts: { messageId: '2' }, carrier: {} },
        { facts: { messageId: '3', deliveryCount: 4 }, carrier: b.headers },
      ],
    });
    tel.end(span);
    const receive = t.spansNamed('receive orders')[0]!;
    expect(receive.kind).toBe(SpanKind.CLIENT);
    expect(receive.attributes[ATTR_MESSAGING_BATCH_MESSAGE_COUNT]).toBe(3);
    expect(receive.links.map((l) => l.context.spanId)).toEqual([a.spanId, b.spanId]);
    expect(receive.links[1]!.attributes).toMatchObject({ [ATTR_MESSAGING_MESSAGE_ID]: '3', [ATTR_BROKERTRACE_MESSAGE_DELIVERY_COUNT]: 4 });
  });
});

describe('end and run', () => {
  test('end is idempotent and records error.type and ERROR status', () => {
    const tel = telemetry();
    const span = tel.startSend({ destination: 'orders' });
    class BrokerDown extends Error {}
    tel.end(span, new BrokerDown('no broker'));
    tel.end(span);
    expect(t.spans()).toHaveLength(1);
    const [s] = t.spans();
    expect(s!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'no broker' });
    expect(s!.attributes[ATTR_ERROR_TYPE]).toBe('BrokerDown');
  });

  test('run: sync return, sync throw, resolve, reject — span ended on every path, errors unchanged', async () => {
    const tel = telemetry();
    const boom = new Error('boom');
    expect(tel.run(tel.startSend({ destination: 'a' }), () => 42)).toBe(42);
    expect(() => tel.run(tel.startSend({ destination: 'b' }), () => { throw boom; })).toThrow(boom);
    const p = Promise.resolve('ok');
    const span = tel.startSend({ destination: 'c' });
    const returned = tel.run(span, () => p);
    expect(returned).toBe(p);
    await expect(returned).resolves.toBe('ok');
    await expect(tel.run(tel.startSend({ destination: 'd' }), () => Promise.reject(boom))).rejects.toBe(boom);
    await new Promise((r) => setImmediate(r));
    expect(t.openSpans()).toHaveLength(0);
    expect(t.spans().map((s) => [s.name, s.status.code])).toEqual([
      ['send a', SpanStatusCode.UNSET],
      ['send b', SpanStatusCode.ERROR],
      ['send c', SpanStatusCode.UNSET],
      ['send d', SpanStatusCode.ERROR],
    ]);
  });

  test('run: fn sees the span as active', () => {
    const tel = telemetry();
    const span = tel.startSend({ destination: 'a' });
    tel.run(span, () => expect(trace.getActiveSpan()).toBe(span));
  });

  test('a throwing hook is logged, never rethrown', () => {
    const tel = telemetry();
    const error = jest.spyOn(diag, 'error').mockImplementation(() => undefined);
    try {
      const span = tel.startSend({ destination: 'a' });
      expect(() => tel.runHook(() => { throw new Error('hook'); }, span, {})).not.toThrow();
      expect(error).toHaveBeenCalled();
      tel.end(span);
    } finally {
      error.mockRestore();
    }
  });
});

describe('configuration', () => {
  test.each([
    [{ policy: { maxChildAgeMs: -1 } }, 'policy.maxChildAgeMs'],
    [{ policy: { mode: 'sometimes' } }, 'policy.mode'],
    [{ createSpans: 'yes' }, 'createSpans'],
    [{ ignoreDestinations: [42] }, 'ignoreDestinations[0]'],
    [{ baggageAllowList: 'tenant' }, 'baggageAllowList'],
    [{ policy: { destinations: { orders: { maxChildDeliveries: 'x' } } } }, 'policy.destinations["orders"].maxChildDeliveries'],
  ])('%j throws naming %s', (config, option) => {
    expect(() => telemetry(config)).toThrow(BrokerTraceConfigError);
    try {
      telemetry(config);
    } catch (err) {
      expect((err as BrokerTraceConfigError).option).toBe(option);
      expect((err as Error).message).toContain(option);
    }
  });

  test('setConfig validates and keeps the old config on error', () => {
    const tel = telemetry({ ignoreDestinations: ['a'] });
    expect(() => tel.setConfig({ policy: { maxChildDeliveries: -2 } })).toThrow('policy.maxChildDeliveries');
    expect(tel.isIgnored('a')).toBe(true);
  });

  test('isIgnored: names, patterns (even global ones), predicate', () => {
    expect(telemetry({ ignoreDestinations: ['a', /^tmp\./g] }).isIgnored('tmp.x')).toBe(true);
    const tel = telemetry({ ignoreDestinations: ['a', /^tmp\./g] });
    expect([tel.isIgnored('tmp.1'), tel.isIgnored('tmp.2'), tel.isIgnored('a'), tel.isIgnored('b')]).toEqual([true, true, true, false]);
    expect(telemetry({ ignoreDestinations: (d: string) => d.endsWith('.dlq') }).isIgnored('x.dlq')).toBe(true);
  });
});

test('root context helper sanity', () => {
  expect(trace.getSpan(ROOT_CONTEXT)).toBeUndefined();
});
