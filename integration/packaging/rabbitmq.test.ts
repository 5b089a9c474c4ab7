// B4 against real RabbitMQ, in real Node processes running the built packages (dist/): (1) a CommonJS
// `--require` preload registers AmqplibInstrumentation and the ESM application wraps its connection and channel
// with traceConnection/traceChannel: one brokertrace serves both, so every message gets one send and one
// process span; (2) a plain ESM application is auto-instrumented through OpenTelemetry's ESM loader hook.
import { rabbitmq, uniqueName } from '../harness/index.js';
import { fixtureProject, type FixtureProject } from './project.js';
import { counts, ofOperation, refersTo, traceparentSpanId } from './spans.js';

let project: FixtureProject;
let url: string;
beforeAll(async () => {
  project = fixtureProject();
  url = (await rabbitmq()).url;
});
afterAll(() => project.remove());

interface Seen {
  body: string;
  traceparent?: string;
}

/** Per message: its send and process spans, counted, and whether the process span continues from the send. */
function traced(spans: ReturnType<typeof ofOperation>, queue: string, seen: Seen[]) {
  const sends = ofOperation(spans, 'send', queue);
  const processes = ofOperation(spans, 'process', queue);
  return {
    messages: seen.map((m) => m.body),
    sends: sends.length,
    processes: processes.length,
    // each message carries a send span's context, a different one each
    carried: counts(seen.map((m) => (sends.some((s) => s.spanId === traceparentSpanId(m.traceparent)) ? 'send' : 'other'))),
    continued: processes.filter((p) => seen.some((m) => refersTo(p, traceparentSpanId(m.traceparent) ?? ''))).length,
  };
}

test('a CJS preload with AmqplibInstrumentation and an ESM app with traceConnection/traceChannel: one send and one process span per message', async () => {
  const queue = uniqueName('packaging-mix');
  const { spans, app } = await project.run<{ seen: Seen[] }>(['--require', './preload.cjs', 'rabbitmq-explicit.mjs'], {
    INSTRUMENT: 'amqplib',
    AMQP_URL: url,
    QUEUE: queue,
  });
  expect(traced(spans, queue, app.seen)).toEqual({
    messages: ['m0', 'm1', 'm2'],
    sends: 3,
    processes: 3,
    carried: { send: 3 },
    continued: 3,
  });
}, 90_000);

test('a plain ESM app, auto-instrumented through the ESM loader hook (node --import, module.register): spans produced', async () => {
  const queue = uniqueName('packaging-esm');
  const { spans, app } = await project.run<{ seen: Seen[] }>(['--import', './register.mjs', 'rabbitmq-auto.mjs'], {
    INSTRUMENT: 'amqplib',
    AMQP_URL: url,
    QUEUE: queue,
  });
  expect(traced(spans, queue, app.seen)).toEqual({ messages: ['m0', 'm1'], sends: 2, processes: 2, carried: { send: 2 }, continued: 2 });
}, 90_000);
