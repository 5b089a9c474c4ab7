// Issue 18 without a broker: an @azure/service-bus version outside the tested range is named once through
// diag.warn (and still patched); an explicit wrapper handed an object it does not recognise says so once and
// returns it untraced, never throwing.
import * as sb from '@azure/service-bus';
import { DiagLogLevel, diag } from '@opentelemetry/api';
import { ServiceBusInstrumentation, TESTED_SERVICEBUS_VERSIONS, traceReceiver, traceSender, traceServiceBusClient } from '@brokertrace/service-bus';
import { setupTestTelemetry } from '@brokertrace/testing';

setupTestTelemetry();
const warnings: string[] = [];
beforeAll(() =>
  diag.setLogger(
    {
      error: (...args: unknown[]) => warnings.push(`error: ${args.map(String).join(' ')}`),
      warn: (...args: unknown[]) => warnings.push(args.map(String).join(' ')),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    DiagLogLevel.WARN,
  ),
);
afterAll(() => diag.disable());
beforeEach(() => (warnings.length = 0));

describe('versions', () => {
  it('declares the tested range', () => {
    expect(TESTED_SERVICEBUS_VERSIONS).toBe('>=7.8.0 <7.10.0');
  });

  it.each(['7.8.0', '7.8.1', '7.9.0', '7.9.5'])('%s: tested, patched without a word', (version) => {
    const plain = sb.ServiceBusClient.prototype.createSender;
    const instrumentation = new ServiceBusInstrumentation();
    const [definition] = instrumentation.getModuleDefinitions();
    definition!.patch!(sb, version);
    expect(sb.ServiceBusClient.prototype.createSender).not.toBe(plain);
    definition!.unpatch!(sb, version);
    instrumentation.disable();
    expect(warnings).toEqual([]);
  });

  it.each(['7.7.3', '7.10.0-beta.2', '8.0.0'])('%s: named once with the range, and still patched', (version) => {
    const plain = sb.ServiceBusClient.prototype.createSender;
    const instrumentation = new ServiceBusInstrumentation();
    const [definition] = instrumentation.getModuleDefinitions();
    definition!.patch!(sb, version);
    definition!.patch!(sb, version);
    expect(sb.ServiceBusClient.prototype.createSender).not.toBe(plain);
    definition!.unpatch!(sb, version);
    expect(sb.ServiceBusClient.prototype.createSender).toBe(plain);
    instrumentation.disable();
    expect(warnings).toEqual([
      `@brokertrace/service-bus @azure/service-bus ${version} is outside the tested range >=7.8.0 <7.10.0; tracing it as far as it looks as expected`,
    ]);
  });

  it('the instrumentation patches every version, pre-releases too (none skipped silently)', () => {
    const [definition] = new ServiceBusInstrumentation({ enabled: false }).getModuleDefinitions();
    expect(definition!.supportedVersions).toEqual(['*']);
    expect((definition as { includePrerelease?: boolean }).includePrerelease).toBe(true);
  });

  it('a module without the ServiceBusClient it knows: said once, left as it is', () => {
    const instrumentation = new ServiceBusInstrumentation({ enabled: false });
    const [definition] = instrumentation.getModuleDefinitions();
    const odd = { ServiceBusClient: class {} };
    expect(definition!.patch!(odd, '7.9.5')).toBe(odd);
    definition!.patch!(odd, '7.9.5');
    expect(warnings).toEqual(['@brokertrace/service-bus @azure/service-bus 7.9.5 has no ServiceBusClient with createSender() and createReceiver(); left untraced']);
  });
});

describe('explicit wrappers handed what they do not recognise', () => {
  it('a sender without entityPath or methods: said once, returned untraced, no throw', () => {
    const noPath = { sendMessages: jest.fn(), createMessageBatch: jest.fn() };
    const noMethods = { entityPath: 'q' };
    expect(traceSender(noPath)).toBe(noPath);
    expect(traceSender(noMethods)).toBe(noMethods);
    expect(traceSender(null as unknown as object)).toBeNull();
    expect(Object.getOwnPropertyNames(noPath)).toEqual(['sendMessages', 'createMessageBatch']);
    expect(noPath.sendMessages).toEqual(expect.any(Function));
    expect(jest.isMockFunction(noPath.sendMessages)).toBe(true);
    expect(warnings).toEqual([
      '@brokertrace/service-bus expected an @azure/service-bus sender (with sendMessages, createMessageBatch, entityPath), got an object without entityPath; returned untraced (an untested @azure/service-bus version?)',
    ]);
  });

  it('a receiver and a client of another shape: said once each, returned untraced', () => {
    const receiver = { entityPath: 'q', receiveMessages: jest.fn() };
    const client = { createSender: jest.fn() };
    expect(traceReceiver(receiver)).toBe(receiver);
    expect(traceReceiver(receiver)).toBe(receiver);
    expect(traceServiceBusClient(client)).toBe(client);
    expect(traceServiceBusClient('nope' as unknown as object)).toBe('nope');
    expect(jest.isMockFunction(receiver.receiveMessages)).toBe(true);
    expect(jest.isMockFunction(client.createSender)).toBe(true);
    expect(warnings).toEqual([
      '@brokertrace/service-bus expected an @azure/service-bus receiver (with receiveMessages, subscribe, completeMessage, entityPath), got an object without subscribe, completeMessage; returned untraced (an untested @azure/service-bus version?)',
      '@brokertrace/service-bus expected an @azure/service-bus ServiceBusClient (with createSender, createReceiver), got an object without createReceiver; returned untraced (an untested @azure/service-bus version?)',
    ]);
  });

  it('the real client objects are recognised without a word', () => {
    const client = traceServiceBusClient(new sb.ServiceBusClient('Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true;'));
    const sender = client.createSender('q');
    const receiver = client.createReceiver('q');
    expect(Object.getOwnPropertyNames(sender)).toContain('sendMessages');
    expect(Object.getOwnPropertyNames(receiver)).toContain('subscribe');
    expect(warnings).toEqual([]);
    void client.close();
  });
});
