// Auto-instrumentation through Node's real module loader (jest's own loader bypasses require hooks, so the
// packages' tests patch by hand): a fresh Node process registers each built Instrumentation, requires the
// client, and reports whether its methods were patched, and restored by disable().
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const root = join(__dirname, '..');
let project: string;

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'brokertrace-auto-'));
  const link = (name: string, target: string) => {
    mkdirSync(dirname(join(project, 'node_modules', name)), { recursive: true });
    symlinkSync(realpathSync(target), join(project, 'node_modules', name), 'dir');
  };
  for (const pkg of ['kafkajs', 'amqplib']) {
    link(`@brokertrace/${pkg}`, join(root, 'packages', pkg));
    link(pkg, join(root, 'packages', pkg, 'node_modules', pkg));
  }
  link('@opentelemetry/api', join(root, 'node_modules', '@opentelemetry', 'api'));
  link('@opentelemetry/instrumentation', join(root, 'packages', 'kafkajs', 'node_modules', '@opentelemetry', 'instrumentation'));
});
afterAll(() => rmSync(project, { recursive: true, force: true }));

/** Runs `body` after registering `instrumentation` of `pkg`; `body` prints JSON with what it found. */
function probe(pkg: string, instrumentation: string, body: string): Record<string, boolean> {
  const script = `
    const { registerInstrumentations } = require('@opentelemetry/instrumentation');
    const { ${instrumentation} } = require('@brokertrace/${pkg}');
    const instrumentation = new ${instrumentation}();
    registerInstrumentations({ instrumentations: [instrumentation] });
    const wrapped = (fn) => typeof fn === 'function' && fn.__wrapped === true;
    ${body}`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: project, encoding: 'utf8' })) as Record<string, boolean>;
}

test('KafkaJsInstrumentation patches kafkajs on require and restores it on disable', () => {
  const found = probe('kafkajs', 'KafkaJsInstrumentation', `
    const { Kafka } = require('kafkajs');
    const patched = wrapped(Kafka.prototype.producer) && wrapped(Kafka.prototype.consumer);
    instrumentation.disable();
    const restored = !wrapped(Kafka.prototype.producer) && !wrapped(Kafka.prototype.consumer);
    console.log(JSON.stringify({ patched, restored }));`);
  expect(found).toEqual({ patched: true, restored: true });
});

test('AmqplibInstrumentation patches both channel models on require and restores them on disable', () => {
  const found = probe('amqplib', 'AmqplibInstrumentation', `
    require('amqplib'); require('amqplib/callback_api');
    // amqplib's exports map hides lib/: reach the already-loaded model files by path.
    const lib = require('node:path').join(require('node:path').dirname(require.resolve('amqplib')), 'lib');
    const promiseModel = require(lib + '/channel_model.js');
    const callbackModel = require(lib + '/callback_model.js');
    const methods = (model) => [model.Channel.prototype.publish, model.Channel.prototype.consume, model.Channel.prototype.ack];
    const all = (test) => [...methods(promiseModel), ...methods(callbackModel)].every(test);
    const patched = all(wrapped);
    instrumentation.disable();
    const restored = all((fn) => !wrapped(fn));
    console.log(JSON.stringify({ patched, restored }));`);
  expect(found).toEqual({ patched: true, restored: true });
});
