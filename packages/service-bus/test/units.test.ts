// The package's own logic without a broker: option validation, the facts read from a received message
// (delivery count normalised to 1 on the first delivery), entity paths, the budget and copies of properties,
// and the instrumentation patching the real ServiceBusClient prototype.
import * as sb from '@azure/service-bus';
import { BrokerTraceConfigError } from '@brokertrace/core';
import { ServiceBusInstrumentation, traceSender } from '@brokertrace/service-bus';
import { setupTestTelemetry } from '@brokertrace/testing';
import { diagnosticIdContext, limitsFor, withContext } from '../src/carrier';
import { entityOf } from '../src/destination';
import { addServiceBusLinkAttributes, deliveryCount, messageAttributes, messageFacts, sentIdAttributes } from '../src/facts';

const t = setupTestTelemetry();

describe('config', () => {
  it('rejects a bad option at construction, naming it', () => {
    const sender = { entityPath: 'q', sendMessages: jest.fn(), createMessageBatch: jest.fn(), scheduleMessages: jest.fn(), cancelScheduledMessages: jest.fn() };
    expect(() => traceSender(sender, { writeDiagnosticId: 'yes' as unknown as boolean })).toThrow(BrokerTraceConfigError);
    expect(() => traceSender(sender, { writeDiagnosticId: 'yes' as unknown as boolean })).toThrow(/writeDiagnosticId/);
    expect(() => traceSender(sender, { settleHook: 1 as unknown as undefined })).toThrow(/settleHook/);
    expect(() => traceSender(sender, { nope: true } as never)).toThrow(/nope/);
    expect(() => traceSender(sender, { policy: { maxChildDeliveries: -1 } })).toThrow(BrokerTraceConfigError);
  });
});

describe('facts', () => {
  const queue = entityOf('orders', { host: 'ns.servicebus.windows.net', port: 5671 });
  it('normalises the raw AMQP delivery-count (0 first) to 1 on the first delivery', () => {
    expect(deliveryCount({ deliveryCount: 0 })).toBe(1);
    expect(deliveryCount({ deliveryCount: 3 })).toBe(4);
    expect(deliveryCount({})).toBeUndefined();
    expect(deliveryCount({ deliveryCount: -1 })).toBeUndefined();
  });
  it('reads enqueued time, ids, sequence number; enqueued_time in epoch seconds', () => {
    const enqueued = new Date('2026-01-02T03:04:05.678Z');
    const message = { messageId: Buffer.from([1, 2]), correlationId: 7, deliveryCount: 1, enqueuedTimeUtc: enqueued, sequenceNumber: { toString: () => '42' } };
    const facts = messageFacts(message, queue);
    expect(facts).toMatchObject({ destination: 'orders', messageId: '0102', enqueuedAtMs: enqueued.getTime(), deliveryCount: 2 });
    expect(facts.replayedFromDeadLetter).toBeUndefined();
    expect(messageAttributes(message, facts)).toEqual({
      'messaging.message.id': '0102',
      'messaging.message.conversation_id': '7',
      'messaging.servicebus.message.delivery_count': 2,
      'messaging.servicebus.message.enqueued_time': Math.floor(enqueued.getTime() / 1000),
      'brokertrace.servicebus.message.sequence_number': 42,
    });
  });
  it('a message being sent: its id and correlation id as the conventions spell them, none when it has neither', () => {
    expect(sentIdAttributes({ messageId: 'm-1', correlationId: 'c-1' })).toEqual({ 'messaging.message.id': 'm-1', 'messaging.message.conversation_id': 'c-1' });
    expect(sentIdAttributes({ messageId: Buffer.from([0xab, 0x01]), correlationId: 9 })).toEqual({ 'messaging.message.id': 'ab01', 'messaging.message.conversation_id': '9' });
    expect(sentIdAttributes({ body: 'x' })).toBeUndefined();
    expect(sentIdAttributes({ messageId: '' })).toBeUndefined();
  });
  it('a received message in a batch: delivery count and enqueued time join its link attributes, the facts keep the rest', () => {
    const facts = messageFacts({ deliveryCount: 2, enqueuedTimeUtc: new Date(5_000), sequenceNumber: 11 }, queue);
    addServiceBusLinkAttributes(facts);
    expect(facts.linkAttributes).toMatchObject({ 'messaging.servicebus.message.delivery_count': 3, 'messaging.servicebus.message.enqueued_time': 5 });
    expect(facts.deliveryCount).toBe(3);
  });
  it('a dead-letter sub-queue, a forwarded dead letter, or a message carrying DeadLetterReason counts as replayed', () => {
    const dlq = entityOf('orders/$DeadLetterQueue', {});
    expect(dlq).toMatchObject({ destination: 'orders/$DeadLetterQueue', deadLetter: true });
    expect(messageFacts({}, dlq).replayedFromDeadLetter).toBe(true);
    expect(messageFacts({ deadLetterSource: 'orders' }, queue).replayedFromDeadLetter).toBe(true);
    expect(messageFacts({ deadLetterReason: 'MaxDeliveryCountExceeded' }, queue).replayedFromDeadLetter).toBe(true);
    const sub = entityOf('events/Subscriptions/audit/$DeadLetterQueue', { host: 'h' });
    expect(sub).toMatchObject({ destination: 'events', subscription: 'audit/$DeadLetterQueue', deadLetter: true });
    expect(sub.metricAttributes).toEqual({ 'server.address': 'h', 'messaging.destination.subscription.name': 'audit/$DeadLetterQueue' });
  });
});

describe('carrier', () => {
  it('the budget leaves room for system properties and Diagnostic-Id', () => {
    const limits = limitsFor({ messageId: 'x'.repeat(100) }, true, undefined);
    expect(limits.maxValueBytes).toBe(32768);
    expect(limits.maxTotalBytes).toBeLessThan(65536 - 100 - 68);
    expect(limitsFor({}, false, undefined).maxTotalBytes).toBeGreaterThan(limits.maxTotalBytes!);
  });
  it('copies: the caller message and properties untouched; Diagnostic-Id mirrors traceparent; a caller Diagnostic-Id kept', () => {
    const props = Object.freeze({ a: 1 });
    const message = Object.freeze({ body: 'x', applicationProperties: props });
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const copy = withContext(message, props, { fields: { traceparent: tp }, dropped: [] }, true, false);
    expect(copy).not.toBe(message);
    expect(copy.applicationProperties).toEqual({ a: 1, traceparent: tp, 'Diagnostic-Id': tp });
    expect(message.applicationProperties).toEqual({ a: 1 });
    const own = { 'Diagnostic-Id': '|abc.1.' };
    expect(withContext({ applicationProperties: own }, own, { fields: { traceparent: tp }, dropped: [] }, true, false).applicationProperties).toEqual({ 'Diagnostic-Id': '|abc.1.', traceparent: tp });
    expect(withContext(message, props, undefined, false, false)).toBe(message);
  });
  it('reads a valid Diagnostic-Id as the carried context, not a hierarchical Request-Id', () => {
    expect(diagnosticIdContext({ 'Diagnostic-Id': '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' })?.spanId).toBe('00f067aa0ba902b7');
    expect(diagnosticIdContext({ 'Diagnostic-Id': '|abc.1.' })).toBeUndefined();
    expect(diagnosticIdContext({ other: 'x' })).toBeUndefined();
  });
});

/** A traced sender whose `sendMessages` records what it was handed. */
function tracedFakeSender() {
  const sent: Array<{ body?: unknown; messageId?: unknown; applicationProperties?: Record<string, unknown> }> = [];
  const sender = {
    entityPath: 'orders',
    sendMessages: (m: unknown) => {
      sent.push(m as (typeof sent)[number]);
      return Promise.resolve();
    },
    createMessageBatch: jest.fn(),
    scheduleMessages: jest.fn(),
    cancelScheduledMessages: jest.fn(),
  };
  traceSender(sender);
  return { sender, sent };
}

describe('send', () => {
  it('a message that cannot be copied (a Proxy whose keys throw) is sent untraced, as it is, and its span is ended', async () => {
    const { sender, sent } = tracedFakeSender();
    const message = new Proxy(
      { body: 'hostile' },
      {
        ownKeys() {
          throw new Error('no keys');
        },
      },
    );
    await sender.sendMessages(message);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toBe(message);
    expect(t.openSpans()).toHaveLength(0);
  });
});

describe('createMessageBatch', () => {
  it('a batch whose fields cannot be read is handed to the caller as it is, untraced', async () => {
    const batch = new Proxy(
      {},
      {
        get(_target, key) {
          if (key === 'tryAddMessage') throw new Error('unreadable batch');
          return undefined;
        },
      },
    );
    const sender = {
      entityPath: 'orders',
      sendMessages: jest.fn(),
      createMessageBatch: () => Promise.resolve(batch),
      scheduleMessages: jest.fn(),
      cancelScheduledMessages: jest.fn(),
    };
    traceSender(sender);
    await expect(sender.createMessageBatch()).resolves.toBe(batch);
  });
});

describe('send: a class instance', () => {
  it('its body behind a getter on a private field: the client gets the same body, and our properties', async () => {
    class Invoice {
      readonly #amount: number;
      readonly messageId = 'inv-1';
      constructor(amount: number) {
        this.#amount = amount;
      }
      get body(): { amount: number } {
        return { amount: this.#amount };
      }
    }
    const { sender, sent } = tracedFakeSender();
    const invoice = new Invoice(42);
    await sender.sendMessages(invoice);
    expect(sent[0]!.body).toEqual({ amount: 42 });
    expect(sent[0]!.messageId).toBe('inv-1');
    expect(typeof sent[0]!.applicationProperties!.traceparent).toBe('string');
    expect(Object.hasOwn(invoice, 'applicationProperties')).toBe(false);
  });
});

describe('ServiceBusInstrumentation', () => {
  it('patches the real ServiceBusClient factories and restores them when disabled', () => {
    const proto = sb.ServiceBusClient.prototype;
    const plain = proto.createSender;
    const instrumentation = new ServiceBusInstrumentation();
    const [definition] = instrumentation.getModuleDefinitions();
    definition!.moduleExports = sb;
    definition!.patch!(sb, '7.9.5');
    expect(proto.createSender).not.toBe(plain);
    const client = new sb.ServiceBusClient('Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true;');
    const sender = client.createSender('q');
    expect(Object.getOwnPropertyNames(sender)).toContain('sendMessages');
    instrumentation.disable();
    expect(proto.createSender).toBe(plain);
    void client.close();
  });
  it('rejects an unknown option', () => {
    expect(() => new ServiceBusInstrumentation({ bogus: 1 } as never)).toThrow(/bogus/);
  });
});
