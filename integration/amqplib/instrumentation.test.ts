// AmqplibInstrumentation: the same spans through amqplib's patched prototypes. Jest loads modules through its
// own registry, which require-in-the-middle does not see, so the test applies the instrumentation's module
// patches to the amqplib files this test file loaded, exactly as the require hook would.
import { dirname, join } from 'node:path';
import { setupTestTelemetry } from '@brokertrace/testing';
import { AmqplibInstrumentation, traceChannel } from '@brokertrace/amqplib';
import type { ChannelModel } from 'amqplib';
import { uniqueName } from '../harness/index';
import { consumeN, openConnection, spanIds } from './helpers';

type ModelFile = { Channel: { prototype: Record<string, unknown> }; ConfirmChannel: { prototype: Record<string, unknown> } };
// amqplib's exports map hides lib/: load the files by path, from the same copy (and registry) as 'amqplib'.
const amqplibRoot = dirname(require.resolve('amqplib'));
/* eslint-disable @typescript-eslint/no-require-imports */
const modelFiles: Record<string, ModelFile> = {
  'amqplib/lib/channel_model.js': require(join(amqplibRoot, 'lib/channel_model.js')),
  'amqplib/lib/callback_model.js': require(join(amqplibRoot, 'lib/callback_model.js')),
};
/* eslint-enable @typescript-eslint/no-require-imports */

const t = setupTestTelemetry();
let connection: ChannelModel;
let instrumentation: AmqplibInstrumentation;
const originalPublish = modelFiles['amqplib/lib/channel_model.js']!.Channel.prototype.publish;

function applyPatches(kind: 'patch' | 'unpatch'): void {
  for (const definition of instrumentation.getModuleDefinitions()) {
    for (const file of definition.files) {
      const exports = modelFiles[file.name];
      if (!exports) throw new Error(`unexpected file ${file.name}`);
      if (kind === 'patch') file.patch(exports, '2.3.1');
      else file.unpatch(exports, '2.3.1');
    }
  }
}

beforeAll(async () => {
  instrumentation = new AmqplibInstrumentation();
  applyPatches('patch');
  connection = await openConnection();
});
afterAll(async () => {
  await connection.close();
  applyPatches('unpatch');
  instrumentation.disable();
});
beforeEach(() => t.reset());

it('patches both APIs and traces publish and consume on every channel', async () => {
  expect(modelFiles['amqplib/lib/channel_model.js']!.Channel.prototype.publish).not.toBe(originalPublish);
  const ch = await connection.createChannel();
  const { queue: q } = await ch.assertQueue(uniqueName('auto'), { durable: false });
  ch.sendToQueue(q, Buffer.from('auto'));
  await consumeN(ch, q, 1, (m) => ch.ack(m));
  const send = t.spansNamed(`send ${q}`);
  const process = t.spansNamed(`process ${q}`);
  expect(send).toHaveLength(1);
  expect(process).toHaveLength(1);
  expect(process[0]!.parentSpanContext?.spanId).toBe(spanIds(send[0]).spanId);
  await ch.close();
});

it('does not double spans when a channel is also traced explicitly, nor on a confirm channel', async () => {
  const ch = traceChannel(await connection.createConfirmChannel());
  const { queue: q } = await ch.assertQueue(uniqueName('both'), { durable: false });
  ch.sendToQueue(q, Buffer.from('once'));
  await ch.waitForConfirms();
  await consumeN(ch, q, 1, (m) => ch.ack(m));
  expect(t.spans().map((s) => s.name)).toEqual([`send ${q}`, `ack ${q}`, `process ${q}`]);
  await ch.close();
});

it('applies setConfig to channels already patched, and rejects a bad config keeping the old one', async () => {
  const ch = await connection.createChannel();
  const { queue: q } = await ch.assertQueue(uniqueName('cfg'), { durable: false });
  expect(() => instrumentation.setConfig({ publishHook: 42 as never })).toThrow(/publishHook/);
  instrumentation.setConfig({ ignoreDestinations: [q] });
  ch.sendToQueue(q, Buffer.from('x'));
  instrumentation.setConfig({});
  ch.sendToQueue(q, Buffer.from('y'));
  expect(t.spansNamed(`send ${q}`)).toHaveLength(1);
  await ch.close();
});

it('keeps its duplicate window through setTracerProvider and setMeterProvider (one telemetry, changed in place)', async () => {
  const ch = await connection.createChannel();
  const { queue: q } = await ch.assertQueue(uniqueName('dup'), { durable: false });
  ch.sendToQueue(q, Buffer.from('1'), { messageId: 'same-id' });
  await consumeN(ch, q, 1, (m) => ch.ack(m));
  // registerInstrumentations calls these on an instrumentation that is already tracing.
  instrumentation.setTracerProvider(t.provider);
  instrumentation.setMeterProvider(t.meterProvider);
  ch.sendToQueue(q, Buffer.from('2'), { messageId: 'same-id' });
  await consumeN(ch, q, 1, (m) => ch.ack(m));
  expect(t.spansNamed(`process ${q}`).map((s) => s.attributes['brokertrace.decision.reason'])).toEqual(['fresh', 'duplicate']);
  await ch.close();
});

it('rejects an unknown top-level option, naming it', () => {
  expect(() => new AmqplibInstrumentation({ ignoreDestination: ['x'] } as never)).toThrow(/ignoreDestination/);
  expect(() => instrumentation.setConfig({ deadLetterIsReplay: 1 } as never)).toThrow(/deadLetterIsReplay/);
});

it('traces nothing while disabled, and unpatching restores amqplib', async () => {
  const ch = await connection.createChannel();
  const { queue: q } = await ch.assertQueue(uniqueName('off'), { durable: false });
  instrumentation.disable();
  ch.sendToQueue(q, Buffer.from('x'));
  const [msg] = await consumeN(ch, q, 1, (m) => ch.ack(m));
  expect(msg!.properties.headers?.traceparent).toBeUndefined();
  expect(t.spans()).toHaveLength(0);
  instrumentation.enable();

  applyPatches('unpatch');
  expect(modelFiles['amqplib/lib/channel_model.js']!.Channel.prototype.publish).toBe(originalPublish);
  applyPatches('patch');
  await ch.close();
});
