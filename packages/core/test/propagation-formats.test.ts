// Core injects and extracts through whatever propagator the application registered: W3C, B3 (single and
// multi header), Jaeger, and a composite; when space is short the fields that identify the trace come first.
import { ROOT_CONTEXT, context, propagation, trace } from '@opentelemetry/api';
import type { TextMapPropagator } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3';
import { JaegerPropagator } from '@opentelemetry/propagator-jaeger';
import { setupTestTelemetry } from '@brokertrace/testing';
import { BROKER_LIMITS, MessagingTelemetry, injectContext } from '@brokertrace/core';

const t = setupTestTelemetry();
beforeEach(() => t.reset());
afterAll(() => {
  propagation.disable();
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
});

function use(propagator: TextMapPropagator): void {
  propagation.disable();
  propagation.setGlobalPropagator(propagator);
}

const w3c = () => new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] });
const b3single = () => new B3Propagator();
const b3multi = () => new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER });
const jaeger = () => new JaegerPropagator();
const w3cAndB3 = () =>
  new CompositePropagator({
    propagators: [new W3CTraceContextPropagator(), new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER }), new W3CBaggagePropagator()],
  });

describe.each([
  ['W3C', w3c, ['traceparent']],
  ['B3 single header', b3single, ['b3']],
  ['B3 multi header', b3multi, ['x-b3-traceid', 'x-b3-spanid', 'x-b3-sampled']],
  ['Jaeger', jaeger, ['uber-trace-id']],
  ['W3C + B3 composite', w3cAndB3, ['traceparent', 'x-b3-traceid', 'x-b3-spanid']],
])('%s', (_name, propagator, expectedKeys) => {
  beforeEach(() => use(propagator()));

  test('the producer writes the format, the consumer continues the trace from it', () => {
    const tel = new MessagingTelemetry({ system: 'kafka', instrumentationName: 'formats' });
    const { span, injections } = tel.startSend({ destination: 'orders', messages: [{ existing: { other: 'x' } }] });
    tel.end(span);
    const headers: Record<string, string> = { other: 'x', ...injections[0]!.fields };
    for (const key of expectedKeys) expect(Object.keys(headers)).toContain(key);

    const { span: processSpan } = tel.startProcess({ destination: 'orders', carrier: headers, facts: {} });
    tel.end(processSpan);
    const [send, processed] = t.spans();
    expect(processed!.spanContext().traceId).toBe(send!.spanContext().traceId);
    expect(processed!.parentSpanContext?.spanId).toBe(send!.spanContext().spanId);
  });

  test('a message that already carries a context in this format keeps it (existingContext: keep)', () => {
    const tel = new MessagingTelemetry({ system: 'kafka', instrumentationName: 'formats' });
    const upstream = t.tracer.startSpan('upstream');
    const carried: Record<string, string> = {};
    propagation.inject(trace.setSpan(ROOT_CONTEXT, upstream), carried);
    upstream.end();
    const { span, injections } = tel.startSend({ destination: 'orders', messages: [{ existing: carried }] });
    tel.end(span);
    expect(injections).toEqual([undefined]);
    expect(t.spansNamed('send orders')[0]!.links.map((l) => l.context.spanId)).toEqual([upstream.spanContext().spanId]);
  });
});

describe('when space is short, the fields that identify the trace come first whatever the format', () => {
  const sqsWith = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`attr${i}`, { DataType: 'String', StringValue: 'v' }]));

  test('a B3-only application on a full SQS-like budget keeps X-B3-TraceId over its baggage', () => {
    use(new CompositePropagator({ propagators: [new W3CBaggagePropagator(), new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER })] }));
    const span = t.tracer.startSpan('send');
    const ctx = propagation.setBaggage(trace.setSpan(context.active(), span), propagation.createBaggage({ tenant: { value: 'acme' } }));
    span.end();
    // 10 attributes at most: 7 taken, 3 left for baggage + 3 B3 fields.
    const { fields, dropped } = injectContext(ctx, sqsWith(7), BROKER_LIMITS.aws_sqs);
    expect(Object.keys(fields).sort()).toEqual(['x-b3-sampled', 'x-b3-spanid', 'x-b3-traceid']);
    expect(fields['x-b3-traceid']).toBe(span.spanContext().traceId);
    expect(dropped).toEqual(['baggage']);
  });

  test('Jaeger: uber-trace-id before its uberctx-* baggage', () => {
    use(new JaegerPropagator());
    const span = t.tracer.startSpan('send');
    const ctx = propagation.setBaggage(trace.setSpan(context.active(), span), propagation.createBaggage({ a: { value: '1' }, b: { value: '2' } }));
    span.end();
    const { fields, dropped } = injectContext(ctx, sqsWith(9), BROKER_LIMITS.aws_sqs);
    expect(Object.keys(fields)).toEqual(['uber-trace-id']);
    expect(dropped.sort()).toEqual(['uberctx-a', 'uberctx-b']);
  });

  test('composite W3C + B3 on one free slot: traceparent wins', () => {
    use(w3cAndB3());
    const span = t.tracer.startSpan('send');
    span.end();
    const { fields } = injectContext(trace.setSpan(context.active(), span), sqsWith(9), BROKER_LIMITS.aws_sqs);
    expect(Object.keys(fields)).toEqual(['traceparent']);
  });
});
