// Issue 18: an untested amqplib version is named once through diag.warn and still traced; amqplib loaded without
// the channel_model.js this package patches is said once; an explicit wrapper handed something that is not an
// amqplib channel or connection says so once and returns it untraced, never throwing.
import { DiagLogLevel, diag } from '@opentelemetry/api';
import { setupTestTelemetry } from '@brokertrace/testing';
import { AmqplibInstrumentation, TESTED_AMQPLIB_VERSIONS, traceChannel, traceConnection } from '../src/index';
import { isTestedAmqplibVersion } from '../src/version';
import { FakeChannel } from './fake-channel';

const t = setupTestTelemetry();
const warnings: string[] = [];

beforeEach(async () => {
  await t.reset();
  warnings.length = 0;
  // The once-per-process memory lives behind this global symbol (shared by ESM and CJS copies): start clean.
  delete (globalThis as Record<symbol, unknown>)[Symbol.for('@brokertrace/amqplib.warned.v1')];
  diag.setLogger(
    {
      error: () => undefined,
      // A component logger passes its namespace first.
      warn: (namespace: string, ...rest: unknown[]) => warnings.push(namespace === '@brokertrace/amqplib' ? rest.map(String).join(' ') : `${namespace} ${rest.map(String).join(' ')}`),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    DiagLogLevel.WARN,
  );
});
afterEach(() => diag.disable());

const untested = (v: string): string => `amqplib ${v} is outside the tested range >=0.10.0 <3; tracing it as far as it looks as expected`;

/** What require-in-the-middle does when an app loads amqplib `version`: channel_model.js first, then the main module. */
function load(instrumentation: AmqplibInstrumentation, model: object, version: string | undefined): void {
  const [main] = instrumentation.getModuleDefinitions();
  const file = main!.files.find((f) => f.name === 'amqplib/lib/channel_model.js')!;
  file.moduleExports = model;
  file.patch(model, version);
  main!.moduleExports = {};
  main!.patch!({}, version);
}

describe('tested versions', () => {
  it('are the releases from 0.10.0 up to 3', () => {
    expect(TESTED_AMQPLIB_VERSIONS).toBe('>=0.10.0 <3');
    for (const v of ['0.10.0', '0.10.9', '1.0.0', '1.2.0', '2.0.0', '2.3.1', '2.99.0']) expect(isTestedAmqplibVersion(v)).toBe(true);
    for (const v of ['0.9.1', '0.5.5', '3.0.0', '2.4.0-rc.1', '1.0', '', undefined]) expect(isTestedAmqplibVersion(v)).toBe(false);
  });

  it('every version and pre-release reaches the hooks: a range would make require-in-the-middle skip it silently', () => {
    const [main] = new AmqplibInstrumentation({ enabled: false }).getModuleDefinitions();
    expect(main!.supportedVersions).toEqual(['*']);
    expect(main!.includePrerelease).toBe(true);
    for (const file of main!.files) expect([file.supportedVersions, (file as { includePrerelease?: boolean }).includePrerelease]).toEqual([['*'], true]);
  });
});

describe('an untested amqplib version', () => {
  it('is named once, with the tested range, and still traced', () => {
    const instrumentation = new AmqplibInstrumentation();
    load(instrumentation, { Channel: FakeChannel }, '3.0.0');
    load(instrumentation, { Channel: FakeChannel }, '3.0.0');
    expect(warnings).toEqual([untested('3.0.0')]);
    const channel = new FakeChannel();
    channel.sendToQueue('orders', Buffer.from('a'));
    expect(channel.sent[0]!.options?.headers?.traceparent).toBeDefined();
    expect(t.spans().map((s) => s.name)).toEqual(['send orders']);
    instrumentation.disable();
  });

  it('names pre-releases and unknown versions too; a tested one says nothing', () => {
    const instrumentation = new AmqplibInstrumentation();
    load(instrumentation, { Channel: FakeChannel }, '2.3.1');
    expect(warnings).toEqual([]);
    load(instrumentation, { Channel: FakeChannel }, '2.4.0-rc.1');
    load(instrumentation, { Channel: FakeChannel }, undefined);
    expect(warnings).toEqual([
      untested('2.4.0-rc.1'),
      'amqplib of an unknown version is outside the tested range >=0.10.0 <3; tracing it as far as it looks as expected',
    ]);
    instrumentation.disable();
  });

  it('without the Channel class in channel_model.js, or without that file at all: said once, left as it is', () => {
    const instrumentation = new AmqplibInstrumentation();
    load(instrumentation, { ChannelV3: FakeChannel }, '3.0.0');
    load(instrumentation, { ChannelV3: FakeChannel }, '3.0.0');
    // A version whose main module loads and no channel_model.js hook ever fired (the file moved).
    const [main] = instrumentation.getModuleDefinitions();
    expect(() => main!.patch!({}, '3.1.0')).not.toThrow();
    expect(warnings).toEqual([
      untested('3.0.0'),
      'amqplib 3.0.0: lib/channel_model.js has no Channel class; left untraced',
      'amqplib 3.0.0 loaded without the lib/channel_model.js Channel this instrumentation patches; left untraced',
      untested('3.1.0'),
      'amqplib 3.1.0 loaded without the lib/channel_model.js Channel this instrumentation patches; left untraced',
    ]);
    instrumentation.disable();
  });
});

describe('an explicit wrapper handed something it does not recognise', () => {
  it('returns it untraced and unchanged, says so once per kind, never throws', () => {
    const notChannel = Object.freeze({ publish: () => true });
    expect(traceChannel(notChannel as never)).toBe(notChannel);
    expect(traceChannel({} as never)).toBeDefined();
    const notConnection = { createConfirmChannel: () => undefined };
    expect(traceConnection(notConnection as never)).toBe(notConnection);
    expect(Object.keys(notConnection)).toEqual(['createConfirmChannel']);
    expect(traceChannel(null as never)).toBeNull();
    expect(warnings).toEqual([
      'expected an amqplib channel (with publish, sendToQueue, consume, ack), got an object without sendToQueue, consume, ack; returned untraced (an untested amqplib version?)',
      'expected an amqplib connection (with createChannel), got an object without createChannel; returned untraced (an untested amqplib version?)',
    ]);
  });

  it('a connection handing out something that is not a channel: said once, returned untraced', async () => {
    const odd = { publishMessage: () => true };
    const connection = traceConnection({ createChannel: () => Promise.resolve(odd) } as never) as { createChannel: () => Promise<unknown> };
    expect(await connection.createChannel()).toBe(odd);
    expect(Object.keys(odd)).toEqual(['publishMessage']);
    expect(warnings).toEqual([
      'expected an amqplib channel (with publish, sendToQueue, consume, ack), got an object without publish, sendToQueue, consume, ack; returned untraced (an untested amqplib version?)',
    ]);
  });

  it('still traces a real channel after a bad one', () => {
    traceChannel({} as never);
    const channel = traceChannel(new FakeChannel() as never) as unknown as FakeChannel;
    channel.sendToQueue('orders', Buffer.from('a'));
    expect(t.spans().map((s) => s.name)).toEqual(['send orders']);
    expect(warnings).toHaveLength(1);
  });
});

describe('a connection with a small frame_max (amqplib before 0.10.6 asks for 4096 by default)', () => {
  /** A channel on a connection that negotiated `frameMax`. */
  function channelWithFrameMax(frameMax: number): FakeChannel {
    const channel = new FakeChannel();
    channel.connection = { frameMax };
    return traceChannel(channel as never);
  }

  it('still carries the trace context: the margin is what this publish\'s properties take, not the worst case', () => {
    const channel = channelWithFrameMax(4096);
    channel.sendToQueue('orders', Buffer.from('a'), { messageId: 'm-1', contentType: 'application/json', headers: { tenant: 'acme' } });
    const headers = channel.sent[0]!.options!.headers!;
    expect(headers.traceparent).toBeDefined();
    expect(headers.tenant).toBe('acme');
    expect(t.spans()[0]!.attributes['brokertrace.context.dropped_fields']).toBeUndefined();
  });

  it('leaves the context out when the caller\'s headers fill the frame, and says so on the span', () => {
    const channel = channelWithFrameMax(4096);
    channel.sendToQueue('orders', Buffer.from('a'), { headers: { big: 'x'.repeat(3000) } });
    expect(channel.sent[0]!.options!.headers!.traceparent).toBeUndefined();
    expect(t.spans()[0]!.attributes['brokertrace.context.dropped_fields']).toEqual(['traceparent']);
  });
});
