import { DiagLogLevel, ROOT_CONTEXT, createNoopMeter, SpanKind, SpanStatusCode, context, propagation, trace, diag } from '@opentelemetry/api';
import { setupTestTelemetry, startAttributesProvider } from '@brokertrace/testing';
import {
  ATTR_BROKERTRACE_LINK_FOLLOW_SAMPLING,
  ATTR_BROKERTRACE_CONTEXT_DROPPED_FIELDS,
  ATTR_BROKERTRACE_DECISION_RELATIONSHIP,
  ATTR_BROKERTRACE_DECISION_REASON,
  ATTR_BROKERTRACE_MESSAGE_QUEUE_TIME,
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

/** Registers a DiagLogger recording every call (core logs through component loggers, not diag.* directly). */
function captureDiag(): { calls: Array<[string, unknown[]]>; restore: () => void } {
  const calls: Array<[string, unknown[]]> = [];
  const record = (level: string) => (...args: unknown[]) => void calls.push([level, args]);
  diag.setLogger(
    { error: record('error'), warn: record('warn'), info: record('info'), debug: record('debug'), verbose: record('verbose') },
    { logLevel: DiagLogLevel.ALL, suppressOverrideMessage: true },
  );
  return { calls, restore: () => diag.disable() };
}

/** A meter provider that records nothing: spans are then ended without the state metrics need. */
const NO_METRICS = { getMeter: () => createNoopMeter() };

function telemetry(config = {}): MessagingTelemetry {
  return new MessagingTelemetry({ system: 'kafka', instrumentationName: 'test', instrumentationVersion: '1.0.0', config });
}

/** Produces a message the way a broker package does: send span with the message, return its headers. */
function produce(tel: MessagingTelemetry, destination = 'orders'): { headers: Record<string, string>; traceId: string; spanId: string } {
  const { span, injections } = tel.startSend({ destination, messages: [{ existing: {} }] });
  tel.end(span);
  return { headers: injections[0]!.fields, traceId: span.spanContext().traceId, spanId: span.spanContext().spanId };
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

  test('a batch send: a create span per message in the caller context, ended at once; a CLIENT send span linking to each', () => {
    const tel = telemetry();
    t.withSpan('caller', (caller) => {
      const { span, injections } = tel.startSend({ destination: 'orders', batch: true, messages: [{ existing: {} }, { existing: { k: 'v' } }] });
      // Both create spans ended before the send span.
      expect(t.spansNamed('create orders')).toHaveLength(2);
      tel.end(span);
      const creates = t.spansNamed('create orders');
      const send = t.spansNamed('send orders')[0]!;
      expect(send.kind).toBe(SpanKind.CLIENT);
      expect(send.attributes[ATTR_MESSAGING_BATCH_MESSAGE_COUNT]).toBe(2);
      expect(send.parentSpanContext?.spanId).toBe(caller.spanContext().spanId);
      expect(send.links.map((l) => l.context.spanId)).toEqual(creates.map((c) => c.spanContext().spanId));
      for (const [i, c] of creates.entries()) {
        expect(c.kind).toBe(SpanKind.PRODUCER);
        expect(c.parentSpanContext?.spanId).toBe(caller.spanContext().spanId);
        expect(c.attributes[ATTR_MESSAGING_OPERATION_TYPE]).toBe('create');
        expect(injections[i]!.fields.traceparent).toBe(`00-${c.spanContext().traceId}-${c.spanContext().spanId}-01`);
      }
    });
  });

  test('a batch send with create spans off, or a single-message send: PRODUCER send span in every message', () => {
    const off = telemetry({ createSpans: false });
    const batch = off.startSend({ destination: 'orders', batch: true, messages: [{ existing: {} }, { existing: {} }] });
    off.end(batch.span);
    const single = telemetry().startSend({ destination: 'orders', batch: false, messages: [{ existing: {} }] });
    telemetry().end(single.span);
    const [b, s1] = t.spansNamed('send orders');
    expect(t.spansNamed('create orders')).toHaveLength(0);
    expect(b!.kind).toBe(SpanKind.PRODUCER);
    expect(b!.attributes[ATTR_MESSAGING_BATCH_MESSAGE_COUNT]).toBe(2);
    expect(b!.links).toHaveLength(0);
    for (const inj of batch.injections) expect(inj!.fields.traceparent).toContain(b!.spanContext().spanId);
    expect(s1!.kind).toBe(SpanKind.PRODUCER);
    expect(s1!.attributes[ATTR_MESSAGING_BATCH_MESSAGE_COUNT]).toBeUndefined();
    expect(single.injections[0]!.fields.traceparent).toContain(s1!.spanContext().spanId);
  });

  test('messaging.batch.message_count follows the batch flag, not the count (S9)', () => {
    const tel = telemetry({ createSpans: false });
    tel.end(tel.startSend({ destination: 'one', batch: true, messages: [{ existing: {} }] }).span);
    tel.end(tel.startSettle({ destination: 'q', operationName: 'ack', batch: true, messageCount: 1 }));
    tel.end(tel.startSettle({ destination: 'q', operationName: 'nack', messageCount: 5 }));
    expect(t.spansNamed('send one')[0]!.attributes[ATTR_MESSAGING_BATCH_MESSAGE_COUNT]).toBe(1);
    expect(t.spansNamed('ack q')[0]!.attributes[ATTR_MESSAGING_BATCH_MESSAGE_COUNT]).toBe(1);
    expect(t.spansNamed('nack q')[0]!.attributes[ATTR_MESSAGING_BATCH_MESSAGE_COUNT]).toBeUndefined();
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
    const logged = captureDiag();
    try {
      const tel = new MessagingTelemetry({ system: 'aws_sqs', instrumentationName: 'test' });
      const full = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`a${i}`, { DataType: 'String', StringValue: 'x' }]));
      for (let i = 0; i < 2; i++) {
        const { span, injections } = tel.startSend({ destination: 'q', messages: [{ existing: full }] });
        const result = injections[0]!;
        expect(result.fields).toEqual({});
        expect(result.dropped).toEqual(['traceparent']);
        tel.end(span);
      }
      expect(t.spans()[0]!.attributes[ATTR_BROKERTRACE_CONTEXT_DROPPED_FIELDS]).toEqual(['traceparent']);
      const warnings = logged.calls.filter(([level, args]) => level === 'warn' && args.some((a) => String(a).includes('"q"')));
      expect(warnings).toHaveLength(1);
      // Through the telemetry's component logger: the instrumentation name comes first.
      expect(warnings[0]![1][0]).toBe('test');
    } finally {
      logged.restore();
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
    // S2: a child also links to its creation context; the message's facts are the span's, not repeated on the link.
    expect(process.links.map((l) => l.context.spanId)).toEqual([spanId]);
    expect(process.links[0]!.attributes ?? {}).toEqual({});
    expect(process.attributes).toMatchObject({
      [ATTR_MESSAGING_MESSAGE_ID]: 'm1',
      [ATTR_BROKERTRACE_DECISION_RELATIONSHIP]: 'child',
      [ATTR_BROKERTRACE_DECISION_REASON]: 'fresh',
      [ATTR_BROKERTRACE_MESSAGE_DELIVERY_COUNT]: 1,
      [ATTR_MESSAGING_OPERATION_TYPE]: 'process',
    });
    expect(process.attributes[ATTR_BROKERTRACE_MESSAGE_QUEUE_TIME]).toBeGreaterThanOrEqual(0.01);
    expect(process.attributes[ATTR_BROKERTRACE_MESSAGE_QUEUE_TIME]).toBeLessThan(10); // seconds, not ms
  });

  test('a stale message: new trace linked to the producer; id, delivery count and age on the span', () => {
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
    expect(process.links[0]!.attributes ?? {}).toEqual({});
    expect(process.attributes).toMatchObject({
      [ATTR_MESSAGING_MESSAGE_ID]: 'm-stale',
      [ATTR_BROKERTRACE_MESSAGE_DELIVERY_COUNT]: 2,
    });
    expect(process.attributes[ATTR_BROKERTRACE_MESSAGE_QUEUE_TIME]).toBeGreaterThanOrEqual(3600);
    expect(process.attributes[ATTR_BROKERTRACE_MESSAGE_QUEUE_TIME]).toBeLessThan(3700); // seconds, not ms
  });

  test('samplers see the decision and its reason at the start; age, delivery count and id only on a span that records', () => {
    const { provider, seen } = startAttributesProvider();
    const { headers } = produce(telemetry());
    const facts = { enqueuedAtMs: Date.now() - 3_600_000, deliveryCount: 4, messageId: 'm-1' };
    const unsampled = telemetry({ tracerProvider: provider });
    unsampled.end(unsampled.startProcess({ destination: 'orders', carrier: headers, facts }).span);
    expect(seen).toEqual([
      {
        [ATTR_MESSAGING_SYSTEM]: 'kafka',
        [ATTR_MESSAGING_OPERATION_NAME]: 'process',
        [ATTR_MESSAGING_OPERATION_TYPE]: 'process',
        [ATTR_MESSAGING_DESTINATION_NAME]: 'orders',
        [ATTR_BROKERTRACE_DECISION_RELATIONSHIP]: 'link',
        [ATTR_BROKERTRACE_DECISION_REASON]: 'stale',
      },
    ]);
    // The global test provider samples everything: the same message's span records all of it.
    const sampled = telemetry();
    sampled.end(sampled.startProcess({ destination: 'orders', carrier: headers, facts }).span);
    const process = t.spansNamed('process orders')[0]!;
    expect(process.attributes).toMatchObject({ ...seen[0], [ATTR_MESSAGING_MESSAGE_ID]: 'm-1', [ATTR_BROKERTRACE_MESSAGE_DELIVERY_COUNT]: 4 });
    expect(process.attributes[ATTR_BROKERTRACE_MESSAGE_QUEUE_TIME]).toBeGreaterThanOrEqual(3600);
  });

  test("a single message's facts go on its span, not its link; a batch span's links carry them per message", () => {
    const tel = telemetry({ followCreationSampling: false });
    const { headers, spanId } = produce(tel);
    const facts = { messageId: 'orders/0/7', syntheticId: true, deliveryCount: 3, linkAttributes: { 'messaging.kafka.offset': 7 } };
    tel.end(tel.startProcess({ destination: 'orders', carrier: headers, facts, recordedAttributes: { 'messaging.kafka.offset': 8 } }).span);
    const process = t.spansNamed('process orders')[0]!;
    // The link says only what the span cannot: that samplers should not follow it.
    expect(process.links.map((l) => [l.context.spanId, l.attributes])).toEqual([[spanId, { [ATTR_BROKERTRACE_LINK_FOLLOW_SAMPLING]: false }]]);
    // The package's own recorded attributes have the last word; a made-up id is never reported.
    expect(process.attributes['messaging.kafka.offset']).toBe(8);
    expect(process.attributes[ATTR_BROKERTRACE_MESSAGE_DELIVERY_COUNT]).toBe(3);
    expect(process.attributes[ATTR_MESSAGING_MESSAGE_ID]).toBeUndefined();

    tel.end(tel.startBatch({ destination: 'orders', operationType: 'receive', messages: [{ carrier: headers, facts: { ...facts, syntheticId: false } }] }).span);
    const receive = t.spansNamed('receive orders')[0]!;
    expect(receive.links[0]!.attributes).toMatchObject({
      [ATTR_MESSAGING_MESSAGE_ID]: 'orders/0/7',
      [ATTR_BROKERTRACE_MESSAGE_DELIVERY_COUNT]: 3,
      'messaging.kafka.offset': 7,
      [ATTR_BROKERTRACE_LINK_FOLLOW_SAMPLING]: false,
    });
  });

  test('child with an ambient parent: links [creation, ambient]; link under an ambient parent: child of it, linked to creation', () => {
    const tel = telemetry();
    const { headers, spanId } = produce(tel);
    t.withSpan('ambient', (ambient) => {
      const parent = context.active();
      const fresh = tel.startProcess({ destination: 'orders', carrier: headers, facts: {}, parent });
      tel.end(fresh.span);
      const linked = tel.startProcess({ destination: 'orders', carrier: headers, facts: { deliveryCount: 9 }, parent });
      tel.end(linked.span);
      const [a, b] = t.spansNamed('process orders');
      expect(a!.parentSpanContext?.spanId).toBe(spanId);
      expect(a!.links.map((l) => l.context.spanId)).toEqual([spanId, ambient.spanContext().spanId]);
      expect(b!.attributes[ATTR_BROKERTRACE_DECISION_REASON]).toBe('redelivered');
      expect(b!.parentSpanContext?.spanId).toBe(ambient.spanContext().spanId);
      expect(b!.links.map((l) => l.context.spanId)).toEqual([spanId]);
    });
  });

  test('B1: without a parent, consumer spans start from ROOT_CONTEXT, never the active context (nor its baggage)', () => {
    const tel = telemetry();
    const { headers, spanId } = produce(tel);
    const withBaggage = propagation.setBaggage(context.active(), propagation.createBaggage({ tenant: { value: 'acme' } }));
    context.with(withBaggage, () =>
      t.withSpan('connect-time span', () => {
        const linked = tel.startProcess({ destination: 'orders', carrier: headers, facts: { deliveryCount: 9 } });
        const none = tel.startProcess({ destination: 'orders', carrier: {}, facts: {} });
        const batch = tel.startBatch({ destination: 'orders', operationType: 'process', messages: [{ facts: {}, carrier: headers }] });
        for (const started of [linked, none, batch]) {
          expect(propagation.getBaggage(started.context)).toBeUndefined();
          tel.end(started.span);
        }
      }),
    );
    const [linked, none] = t.spansNamed('process orders');
    expect(linked!.parentSpanContext).toBeUndefined();
    expect(linked!.links.map((l) => l.context.spanId)).toEqual([spanId]);
    expect(none!.parentSpanContext).toBeUndefined();
    expect(t.spansNamed('process orders')[2]!.parentSpanContext).toBeUndefined();
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
    const { span } = tel.startBatch({
      destination: 'orders',
      operationType: 'receive',
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
    const span = tel.startSend({ destination: 'orders' }).span;
    class BrokerDown extends Error {}
    tel.end(span, new BrokerDown('no broker'));
    tel.end(span);
    expect(t.spans()).toHaveLength(1);
    const [s] = t.spans();
    expect(s!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'no broker' });
    expect(s!.attributes[ATTR_ERROR_TYPE]).toBe('BrokerDown');
  });

  test('a process span ended twice (no meter provider) is ended once: exported once, its first outcome kept, the SDK never told twice', () => {
    const diagLog = captureDiag();
    try {
      const tel = telemetry({ meterProvider: NO_METRICS });
      const span = tel.startProcess({ destination: 'orders', carrier: produce(tel).headers, facts: {} }).span;
      tel.end(span, new TypeError('handler failed'));
      tel.end(span);
      tel.end(span, new Error('later'));
      const processed = t.spansNamed('process orders');
      expect(processed).toHaveLength(1);
      expect(processed[0]!.attributes[ATTR_ERROR_TYPE]).toBe('TypeError');
      expect(diagLog.calls.filter(([level]) => level === 'error' || level === 'warn')).toEqual([]);
    } finally {
      diagLog.restore();
    }
  });

  test("a span of a tracer whose spans still say they record once ended is ended once", () => {
    let ends = 0;
    const recordingForever = {
      spanContext: () => ({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 }),
      isRecording: () => true,
      setAttribute() { return this; },
      setAttributes() { return this; },
      addEvent() { return this; },
      addLink() { return this; },
      addLinks() { return this; },
      setStatus() { return this; },
      updateName() { return this; },
      recordException() {},
      end: () => void ends++,
    };
    const provider = { getTracer: () => ({ startSpan: () => recordingForever, startActiveSpan: () => undefined }) };
    const tel = telemetry({ tracerProvider: provider, meterProvider: NO_METRICS });
    const span = tel.startProcess({ destination: 'orders', carrier: undefined, facts: {} }).span;
    expect(span).toBe(recordingForever);
    tel.end(span);
    tel.end(span);
    expect(ends).toBe(1);
  });

  test('run: sync return, sync throw, resolve, reject — span ended on every path, errors unchanged', async () => {
    const tel = telemetry();
    const boom = new Error('boom');
    expect(tel.run(tel.startSend({ destination: 'a' }).span, () => 42)).toBe(42);
    expect(() => tel.run(tel.startSend({ destination: 'b' }).span, () => { throw boom; })).toThrow(boom);
    const p = Promise.resolve('ok');
    const span = tel.startSend({ destination: 'c' }).span;
    const returned = tel.run(span, () => p);
    expect(returned).toBe(p);
    await expect(returned).resolves.toBe('ok');
    await expect(tel.run(tel.startSend({ destination: 'd' }).span, () => Promise.reject(boom))).rejects.toBe(boom);
    await new Promise((r) => setImmediate(r));
    expect(t.openSpans()).toHaveLength(0);
    expect(t.spans().map((s) => [s.name, s.status.code])).toEqual([
      ['send a', SpanStatusCode.UNSET],
      ['send b', SpanStatusCode.ERROR],
      ['send c', SpanStatusCode.UNSET],
      ['send d', SpanStatusCode.ERROR],
    ]);
  });

  test('run: a lazy thenable (a query builder runs its query on each then) runs once, its outcome reaches the caller', async () => {
    const tel = telemetry();
    let runs = 0;
    const query = (outcome: 'row' | Error) => ({
      then(ok: (v: string) => unknown, fail: (e: unknown) => unknown) {
        runs++;
        return (outcome instanceof Error ? Promise.reject(outcome) : Promise.resolve(outcome)).then(ok, fail);
      },
    });
    await expect(tel.run(tel.startSend({ destination: 'a' }).span, () => query('row'))).resolves.toBe('row');
    expect(runs).toBe(1);
    const boom = new Error('constraint');
    await expect(tel.run(tel.startSend({ destination: 'b' }).span, () => query(boom))).rejects.toBe(boom);
    expect(runs).toBe(2);
    // A caller that drops the result gets no unhandled rejection (the thenable alone would have given none).
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      tel.run(tel.startSend({ destination: 'c' }).span, () => query(boom));
      await new Promise((r) => setTimeout(r, 10));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
    expect(runs).toBe(3);
    expect(t.openSpans()).toHaveLength(0);
    expect(t.spans().map((s) => [s.name, s.status.code])).toEqual([
      ['send a', SpanStatusCode.UNSET],
      ['send b', SpanStatusCode.ERROR],
      ['send c', SpanStatusCode.ERROR],
    ]);
  });

  test('run: fn sees the span as active', () => {
    const tel = telemetry();
    const span = tel.startSend({ destination: 'a' }).span;
    tel.run(span, () => expect(trace.getActiveSpan()).toBe(span));
  });

  test('a throwing hook is logged, never rethrown', () => {
    const tel = telemetry();
    const logged = captureDiag();
    try {
      const span = tel.startSend({ destination: 'a' }).span;
      expect(() => tel.runHook(() => { throw new Error('hook'); }, span, {})).not.toThrow();
      expect(logged.calls.filter(([level]) => level === 'error')).toHaveLength(1);
      tel.end(span);
    } finally {
      logged.restore();
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

  test("each span starts from its own destination, metric attributes and the configuration in force, whatever came before it", () => {
    const tel = telemetry();
    const groupA = { 'messaging.consumer.group.name': 'a' };
    const groupB = { 'messaging.consumer.group.name': 'b' };
    const process = (destination: string, metricAttributes: Record<string, string>) =>
      tel.end(tel.startProcess({ destination, metricAttributes, facts: {} }).span);
    const ack = (destination: string) => tel.end(tel.startSettle({ destination, operationName: 'ack', parent: ROOT_CONTEXT }));
    process('orders', groupA);
    ack('orders');
    process('payments', groupA);
    process('orders', groupB);
    ack('payments');
    tel.end(tel.startProcess({ destination: 'orders', metricAttributes: groupB, facts: {}, temporary: true }).span);
    tel.setConfig({ destinationTemplate: (name) => (name === 'orders' ? 'orders.{region}' : undefined) });
    process('orders', groupB);
    expect(
      t.spans().map((s) => [s.name, s.attributes[ATTR_MESSAGING_DESTINATION_NAME], s.attributes['messaging.consumer.group.name'], s.attributes['messaging.destination.template'], s.attributes['messaging.destination.temporary']]),
    ).toEqual([
      ['process orders', 'orders', 'a', undefined, undefined],
      ['ack orders', 'orders', undefined, undefined, undefined],
      ['process payments', 'payments', 'a', undefined, undefined],
      ['process orders', 'orders', 'b', undefined, undefined],
      ['ack payments', 'payments', undefined, undefined, undefined],
      ['process', 'orders', 'b', undefined, true],
      ['process orders.{region}', 'orders', 'b', 'orders.{region}', undefined],
    ]);
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

describe('a span started at a given time', () => {
  test('ends on the same clock: a wall clock behind core\'s gives no negative duration and no SDK warning', () => {
    const tel = telemetry();
    const diagCalls = captureDiag();
    // Date.now() is whole milliseconds of another clock, which can trail core's (timeOrigin + performance.now()).
    const behind = jest.spyOn(Date, 'now').mockReturnValue(Math.floor(tel.now()) - 5);
    try {
      const startTime = tel.now();
      tel.end(tel.startBatch({ destination: 'orders', operationType: 'receive', messages: [], startTime }).span);
      tel.end(tel.startSettle({ destination: 'orders', operationName: 'commit', startTime }));
    } finally {
      behind.mockRestore();
      diagCalls.restore();
    }
    const spans = t.spans();
    expect(spans.map((s) => s.name)).toEqual(['receive orders', 'commit orders']);
    for (const s of spans) {
      const ms = (hr: [number, number]) => hr[0] * 1000 + hr[1] / 1e6;
      expect(ms(s.endTime)).toBeGreaterThanOrEqual(ms(s.startTime));
    }
    expect(diagCalls.calls.filter(([level]) => level === 'warn')).toEqual([]);
  });
});
