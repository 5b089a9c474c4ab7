// B1: amqplib delivers from its socket's 'readable' handler, which runs in the async context of whoever called
// connect(). That context must never become a process span's parent, a link, or the handler's baggage.
import { context, propagation } from '@opentelemetry/api';
import { setupTestTelemetry, suppressTracing } from '@brokertrace/testing';
import { traceChannel } from '@brokertrace/amqplib';
import type { ChannelModel, ConsumeMessage } from 'amqplib';
import { uniqueName } from '../harness/index';
import { collect, openConnection, spanIds } from './helpers';

const t = setupTestTelemetry();
const opened: ChannelModel[] = [];
let plain: ChannelModel;

beforeAll(async () => {
  plain = await openConnection();
});
afterAll(async () => {
  await Promise.all([plain, ...opened].map((c) => c.close().catch(() => undefined)));
});
beforeEach(() => t.reset());

/** Opens a connection the way a service does lazily: inside a request or startup span, with baggage set. */
async function connectInside(name: string, ctx = context.active()): Promise<ChannelModel> {
  const withBaggage = propagation.setBaggage(ctx, propagation.createBaggage({ tenant: { value: 'acme' } }));
  const connection = await context.with(withBaggage, () => t.withSpan(name, () => openConnection()));
  opened.push(connection);
  return connection;
}

it('no process span is a child of, or linked to, the span that was active at connect(), and no handler sees its baggage', async () => {
  const connection = await connectInside('startup');
  const startup = spanIds(t.spansNamed('startup')[0]);
  const consumer = traceChannel(await connection.createChannel());
  const q = (await consumer.assertQueue(uniqueName('ctx'), { durable: false })).queue;

  // Three messages, one per path of the policy: no context, a fresh child, a stale link.
  const producer = traceChannel(await plain.createChannel());
  const untraced = await plain.createChannel();
  untraced.sendToQueue(q, Buffer.from('no context'));
  producer.sendToQueue(q, Buffer.from('fresh'));
  producer.sendToQueue(q, Buffer.from('stale'), { timestamp: Math.floor(Date.now() / 1000) - 3600 });

  const baggage: Array<string | undefined> = [];
  const got = collect<ConsumeMessage>(3);
  await consumer.consume(q, (m) => {
    if (!m) return;
    baggage.push(propagation.getBaggage(context.active())?.getEntry('tenant')?.value);
    consumer.ack(m);
    got.push(m);
  });
  await got.done;

  const processes = t.spansNamed(`process ${q}`);
  expect(processes.map((p) => p.attributes['brokertrace.decision.reason'])).toEqual(['no-context', 'fresh', 'stale']);
  for (const p of processes) {
    expect(p.spanContext().traceId).not.toBe(startup.traceId);
    expect(p.parentSpanContext?.spanId).not.toBe(startup.spanId);
    expect(p.links.map((l) => l.context.spanId)).not.toContain(startup.spanId);
  }
  // What a trace viewer shows: a root, a child of its send span, a root linked to its send span.
  const sends = t.spansNamed(`send ${q}`);
  expect(processes[0]!.parentSpanContext).toBeUndefined();
  expect(processes[1]!.parentSpanContext?.spanId).toBe(spanIds(sends[0]).spanId);
  expect(processes[2]!.parentSpanContext).toBeUndefined();
  expect(processes[2]!.links.map((l) => l.context.spanId)).toEqual([spanIds(sends[1]).spanId]);
  expect(baggage).toEqual([undefined, undefined, undefined]);
  await untraced.close();
  await producer.close();
});

it('traces the deliveries of a connection opened while tracing was suppressed', async () => {
  const connection = await connectInside('suppressed', suppressTracing(context.active()));
  const consumer = traceChannel(await connection.createChannel());
  const q = (await consumer.assertQueue(uniqueName('ctx'), { durable: false })).queue;
  consumer.sendToQueue(q, Buffer.from('x'));
  const got = collect<ConsumeMessage>(1);
  await consumer.consume(q, (m) => m && got.push(m), { noAck: true });
  await got.done;
  await new Promise((r) => setImmediate(r));
  expect(t.spansNamed(`process ${q}`)).toHaveLength(1);
});
