// B4 against real Kafka, in real Node processes running the built packages (dist/): (1) a CommonJS `--require`
// preload registers KafkaJsInstrumentation and the ESM application uses traceProducer, traceConsumer and
// traceBatchMessage: one brokertrace serves both, so the per-message spans exist and nothing is traced twice;
// (2) a plain ESM application is auto-instrumented through OpenTelemetry's ESM loader hook (`node --import`).
import { kafka, uniqueName } from '../harness/index.js';
import { fixtureProject, type FixtureProject } from './project.js';
import { counts, ofOperation, refersTo, traceparentSpanId } from './spans.js';

let project: FixtureProject;
let brokers: string;
beforeAll(async () => {
  project = fixtureProject();
  brokers = (await kafka()).brokers.join(',');
});
afterAll(() => project.remove());

interface Seen {
  offset: string;
  traceparent?: string;
}

interface Group {
  groupId: string;
  batches: number;
  seen: Seen[];
}

test('a CJS preload with KafkaJsInstrumentation and an ESM app with the explicit wrappers and traceBatchMessage: per-message spans, nothing doubled', async () => {
  const topic = uniqueName('packaging-mix');
  const { spans, app } = await project.run<{ wrapped: Group; auto: Group }>(['--require', './preload.cjs', 'kafka-explicit.mjs'], {
    INSTRUMENT: 'kafkajs',
    BROKERS: brokers,
    TOPIC: topic,
    GROUP: uniqueName('packaging-group'),
  });

  // What was traced, counted: one send span for the one send() (traceProducer on a producer the instrumentation
  // traced adds nothing), at most one create span per message; per consumer group one batch span per eachBatch
  // call and, from traceBatchMessage (ESM) finding the batch the preload's instrumentation (CJS) traced, one
  // process span per message.
  const sends = ofOperation(spans, 'send', topic);
  const creates = ofOperation(spans, 'create', topic);
  const consumed = (group: Group) => {
    const ofGroup = spans.filter((s) => s.attributes['messaging.consumer.group.name'] === group.groupId);
    const consumerSide = [...ofOperation(ofGroup, 'receive', topic), ...ofOperation(ofGroup, 'process', topic)];
    const batch = consumerSide.filter((s) => s.attributes['messaging.batch.message_count'] !== undefined);
    const perMessage = consumerSide.filter((s) => s.attributes['messaging.batch.message_count'] === undefined);
    return { batch, perMessage };
  };
  const summary = (group: Group) => ({
    offsets: group.seen.map((m) => m.offset),
    batchSpans: consumed(group).batch.length,
    perMessageSpans: counts(consumed(group).perMessage.map((s) => s.attributes['messaging.kafka.offset'])),
  });
  expect({
    sends: sends.length,
    createsAtMostOnePerMessage: creates.length <= 3,
    wrapped: summary(app.wrapped),
    auto: summary(app.auto),
  }).toEqual({
    sends: 1,
    createsAtMostOnePerMessage: true,
    wrapped: { offsets: ['0', '1', '2'], batchSpans: app.wrapped.batches, perMessageSpans: { 0: 1, 1: 1, 2: 1 } },
    auto: { offsets: ['0', '1', '2'], batchSpans: app.auto.batches, perMessageSpans: { 0: 1, 1: 1, 2: 1 } },
  });

  // And they are tied together: each message carries the context of a span of that send (itself or its create
  // span); each per-message span refers to its batch span and to its message's creation context.
  const sendSide = new Set([...sends, ...creates].map((s) => s.spanId));
  for (const group of [app.wrapped, app.auto]) {
    expect(group.seen.every((m) => sendSide.has(traceparentSpanId(m.traceparent) ?? ''))).toBe(true);
    const { batch, perMessage } = consumed(group);
    for (const span of perMessage) {
      const message = group.seen.find((m) => m.offset === String(span.attributes['messaging.kafka.offset']));
      expect(batch.some((b) => refersTo(span, b.spanId))).toBe(true);
      expect(refersTo(span, traceparentSpanId(message?.traceparent) ?? '')).toBe(true);
    }
  }
}, 90_000);

test('a plain ESM app, auto-instrumented through the ESM loader hook (node --import, module.register): spans produced', async () => {
  const topic = uniqueName('packaging-esm');
  const { spans, app } = await project.run<{ seen: Seen[] }>(['--import', './register.mjs', 'kafka-auto.mjs'], {
    INSTRUMENT: 'kafkajs',
    BROKERS: brokers,
    TOPIC: topic,
    GROUP: uniqueName('packaging-group'),
  });
  expect(app.seen.map((m) => m.offset)).toEqual(['0', '1']);
  const sends = ofOperation(spans, 'send', topic);
  expect(sends).toHaveLength(2);
  const processes = ofOperation(spans, 'process', topic);
  expect(counts(processes.map((s) => s.attributes['messaging.kafka.offset']))).toEqual({ 0: 1, 1: 1 });
  // Each consumed message carried its send span's context, and its process span continues from it.
  app.seen.forEach((message, i) => {
    const sentBy = traceparentSpanId(message.traceparent);
    expect(sends.map((s) => s.spanId)).toContain(sentBy);
    expect(refersTo(processes.find((p) => p.attributes['messaging.kafka.offset'] === i)!, sentBy!)).toBe(true);
  });
}, 90_000);
