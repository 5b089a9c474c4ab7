// Core injects through whatever propagator the application registered: producer to consumer in one trace with
// B3 multi-header (Zipkin estates) and with a composite of W3C + B3, and what the broker really received.
import { join } from 'node:path';
import { propagation, type TextMapPropagator } from '@opentelemetry/api';
import { setupTestTelemetry } from '@brokertrace/testing';
import { traceChannel } from '@brokertrace/amqplib';
import type { Channel, ChannelModel } from 'amqplib';
import { uniqueName } from '../harness/index';
import { consumeN, openConnection, spanIds } from './helpers';

// The propagators are devDependencies of @brokertrace/amqplib (the integration package is not ours to change).
const fromAmqplib = { paths: [join(__dirname, '..', '..', 'packages', 'amqplib')] };
type PropagatorClass<O = undefined> = new (options?: O) => TextMapPropagator;
/* eslint-disable @typescript-eslint/no-require-imports */
const b3 = require(require.resolve('@opentelemetry/propagator-b3', fromAmqplib)) as {
  B3Propagator: PropagatorClass<{ injectEncoding?: number }>;
  B3InjectEncoding: { SINGLE_HEADER: number; MULTI_HEADER: number };
};
const otelCore = require(require.resolve('@opentelemetry/core', fromAmqplib)) as {
  CompositePropagator: PropagatorClass<{ propagators: TextMapPropagator[] }>;
  W3CTraceContextPropagator: PropagatorClass;
  W3CBaggagePropagator: PropagatorClass;
};
/* eslint-enable @typescript-eslint/no-require-imports */

const t = setupTestTelemetry();
let connection: ChannelModel;
let ch: Channel;

function use(propagator: TextMapPropagator): void {
  propagation.disable();
  propagation.setGlobalPropagator(propagator);
}

beforeAll(async () => {
  connection = await openConnection();
});
afterAll(async () => {
  // Back to what setupTestTelemetry registered.
  use(new otelCore.CompositePropagator({ propagators: [new otelCore.W3CTraceContextPropagator(), new otelCore.W3CBaggagePropagator()] }));
  await connection.close();
});
beforeEach(async () => {
  await t.reset();
  ch = traceChannel(await connection.createChannel());
});
afterEach(async () => {
  await ch.close().catch(() => undefined);
});

async function roundTrip(): Promise<{ headers: Record<string, unknown>; send: ReturnType<typeof spanIds>; process: ReturnType<typeof t.spans>[number] }> {
  const { queue: q } = await ch.assertQueue(uniqueName('prop'), { durable: false });
  ch.sendToQueue(q, Buffer.from('x'), { headers: { app: 'kept' } });
  const [msg] = await consumeN(ch, q, 1, (m) => ch.ack(m));
  return { headers: msg!.properties.headers ?? {}, send: spanIds(t.spansNamed(`send ${q}`)[0]), process: t.spansNamed(`process ${q}`)[0]! };
}

it('B3 multi-header: the broker gets X-B3-* headers (no traceparent) and the consumer continues the trace', async () => {
  use(new b3.B3Propagator({ injectEncoding: b3.B3InjectEncoding.MULTI_HEADER }));
  const { headers, send, process } = await roundTrip();
  expect(headers).toMatchObject({ app: 'kept', 'x-b3-traceid': send.traceId, 'x-b3-spanid': send.spanId, 'x-b3-sampled': '1' });
  expect(headers.traceparent).toBeUndefined();
  expect(process.spanContext().traceId).toBe(send.traceId);
  expect(process.parentSpanContext?.spanId).toBe(send.spanId);
  expect(process.attributes['brokertrace.decision.reason']).toBe('fresh');
});

it('W3C + B3 composite: the broker gets both, and the consumer continues the one trace', async () => {
  use(
    new otelCore.CompositePropagator({
      propagators: [new otelCore.W3CTraceContextPropagator(), new b3.B3Propagator({ injectEncoding: b3.B3InjectEncoding.MULTI_HEADER })],
    }),
  );
  const { headers, send, process } = await roundTrip();
  expect(headers.traceparent).toBe(`00-${send.traceId}-${send.spanId}-01`);
  expect(headers).toMatchObject({ 'x-b3-traceid': send.traceId, 'x-b3-spanid': send.spanId });
  expect(process.spanContext().traceId).toBe(send.traceId);
  expect(process.parentSpanContext?.spanId).toBe(send.spanId);
});

it('B3 single header: `b3` travels and the consumer continues the trace', async () => {
  use(new b3.B3Propagator());
  const { headers, send, process } = await roundTrip();
  expect(headers.b3).toBe(`${send.traceId}-${send.spanId}-1`);
  expect(process.parentSpanContext?.spanId).toBe(send.spanId);
});
