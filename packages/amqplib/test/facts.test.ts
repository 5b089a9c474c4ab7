import { deliveryCount, enqueuedAtMs, readFacts, wasDeadLettered } from '../src/facts';
import { DeliveryCounter } from '@brokertrace/core';
import { MAX_TEMPORARY_QUEUES, TemporaryQueues, consumeDestination, publishDestination } from '../src/destination';
import { amqpErrorType } from '../src/errors';
import type { AmqpMessage } from '../src/internal-types';

function message(fields: Partial<AmqpMessage['fields']> = {}, properties: AmqpMessage['properties'] = {}): AmqpMessage {
  return {
    fields: { deliveryTag: 1, redelivered: false, exchange: '', routingKey: 'q', ...fields },
    properties,
    content: Buffer.from('x'),
  };
}

describe('destination names (semconv RabbitMQ) and their templates', () => {
  const name = (d: { name: string }) => d.name;
  it('names a publish {exchange}:{routing key}, or whichever is set, or amq.default', () => {
    expect(name(publishDestination('orders', 'created'))).toBe('orders:created');
    expect(name(publishDestination('', 'work'))).toBe('work');
    expect(name(publishDestination('fanout', ''))).toBe('fanout');
    expect(name(publishDestination('', ''))).toBe('amq.default');
    expect(name(publishDestination(undefined, undefined))).toBe('amq.default');
  });

  it('names a delivery {exchange}:{routing key}:{queue}, leaving out empty parts and a queue equal to the key', () => {
    expect(name(consumeDestination('orders', 'created', 'billing'))).toBe('orders:created:billing');
    expect(name(consumeDestination('', 'work', 'work'))).toBe('work');
    expect(name(consumeDestination('fanout', '', 'q1'))).toBe('fanout:q1');
    expect(name(consumeDestination('', '', ''))).toBe('amq.default');
  });

  it('templates a publish by its exchange (the routing key never), a default-exchange publish by its queue', () => {
    expect(publishDestination('orders', 'customer.4711.created')).toEqual({ name: 'orders:customer.4711.created', template: 'orders', anonymous: false, temporary: false });
    expect(publishDestination('', 'work')).toMatchObject({ template: 'work', anonymous: false, temporary: false });
  });

  it('templates a delivery by its queue (the routing key never)', () => {
    expect(consumeDestination('orders', 'customer.4711.created', 'billing')).toEqual({
      name: 'orders:customer.4711.created:billing',
      template: 'billing',
      anonymous: false,
      temporary: false,
    });
  });

  it('marks server-named queues anonymous and direct reply-to anonymous and temporary, templated by their exchange', () => {
    expect(consumeDestination('events', 'user.1', 'amq.gen-JzTY20BRgKO-HjmUJj0wLg')).toMatchObject({ template: 'events', anonymous: true, temporary: false });
    expect(consumeDestination('', 'amq.gen-abc', 'amq.gen-abc')).toMatchObject({ template: 'amq.default', anonymous: true });
    expect(consumeDestination('', 'amq.rabbitmq.reply-to.g1h2AA5yZXBseUAy', 'amq.rabbitmq.reply-to')).toMatchObject({ template: 'amq.default', anonymous: true, temporary: true });
    expect(publishDestination('', 'amq.rabbitmq.reply-to.g1h2AA5yZXBseUAy')).toMatchObject({ template: 'amq.default', anonymous: true, temporary: true });
    expect(publishDestination('', 'amq.gen-abc')).toMatchObject({ template: 'amq.default', anonymous: true, temporary: false });
  });

  it('marks queues the connection declared exclusive or auto-delete temporary, and forgets the oldest past the bound', () => {
    const temporary = new TemporaryQueues();
    temporary.add('session-42');
    expect(consumeDestination('', 'session-42', 'session-42', temporary)).toMatchObject({ template: 'amq.default', temporary: true, anonymous: false });
    expect(publishDestination('', 'session-42', temporary)).toMatchObject({ template: 'amq.default', temporary: true });
    expect(consumeDestination('', 'jobs', 'jobs', temporary)).toMatchObject({ template: 'jobs', temporary: false });
    for (let i = 0; i < MAX_TEMPORARY_QUEUES + 10; i++) temporary.add(`q-${i}`);
    expect(temporary.size).toBe(MAX_TEMPORARY_QUEUES);
    expect(temporary.has('session-42')).toBe(false);
  });
});

describe('error.type', () => {
  it('names AMQP reply codes as the AMQP 0-9-1 specification does, and leaves other errors to core', () => {
    expect(amqpErrorType(Object.assign(new Error('Channel closed by server: 404 (NOT-FOUND)'), { code: 404 }))).toBe('not-found');
    expect(amqpErrorType(Object.assign(new Error('x'), { code: 406 }))).toBe('precondition-failed');
    expect(amqpErrorType(Object.assign(new Error('x'), { code: 320 }))).toBe('connection-forced');
    expect(amqpErrorType(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBeUndefined();
    expect(amqpErrorType(new TypeError('x'))).toBeUndefined();
    expect(amqpErrorType('boom')).toBeUndefined();
    const hostile = new Proxy({}, { get: () => { throw new Error('getter'); } });
    expect(amqpErrorType(hostile)).toBeUndefined();
  });
});

describe('delivery count', () => {
  it('is 1 for a first delivery and 2 for a redelivered one', () => {
    expect(deliveryCount(message())).toBe(1);
    expect(deliveryCount(message({ redelivered: true }))).toBe(2);
  });

  it("reads a quorum queue's x-delivery-count (earlier failed deliveries) in every shape", () => {
    expect(deliveryCount(message({ redelivered: true }, { headers: { 'x-delivery-count': 4 } }))).toBe(5);
    expect(deliveryCount(message({}, { headers: { 'x-delivery-count': { '!': 'long', value: 2 } } }))).toBe(3);
    expect(deliveryCount(message({}, { headers: { 'x-delivery-count': '6' } }))).toBe(7);
    expect(deliveryCount(message({}, { headers: { 'x-delivery-count': Buffer.from('1') } }))).toBe(2);
    expect(deliveryCount(message({}, { headers: { 'x-delivery-count': 3n } }))).toBe(4);
  });

  it('counts rounds through a dead-letter loop from the largest x-death count', () => {
    const headers = {
      'x-death': [
        { count: 3, reason: 'rejected', queue: 'work', exchange: '', 'routing-keys': ['work'] },
        { count: 3, reason: 'expired', queue: 'wait', exchange: 'dlx', 'routing-keys': ['work'] },
      ],
    };
    expect(deliveryCount(message({}, { headers }))).toBe(4);
    expect(wasDeadLettered(message({}, { headers }))).toBe(true);
  });

  it('ignores malformed counts rather than throwing', () => {
    const headers = { 'x-delivery-count': 'many', 'x-death': [null, 'x', { count: 'NaN' }, { count: -1 }] };
    expect(deliveryCount(message({}, { headers }))).toBe(1);
    expect(deliveryCount(message({}, { headers: null as unknown as Record<string, unknown> }))).toBe(1);
    expect(wasDeadLettered(message({}, { headers: { 'x-death': [] } }))).toBe(false);
  });
});

describe('facts for the policy', () => {
  it('reads properties.timestamp as seconds', () => {
    expect(enqueuedAtMs(message({}, { timestamp: 1_700_000_000 }))).toBe(1_700_000_000_000);
    expect(enqueuedAtMs(message({}, { timestamp: { '!': 'timestamp', value: 12 } }))).toBe(12_000);
    expect(enqueuedAtMs(message())).toBeUndefined();
  });

  it('keys per-queue policy by the queue, and treats x-death as a replay unless told otherwise', () => {
    const m = message({}, { messageId: 'm-1', headers: { 'x-death': [{ count: 1 }] } });
    expect(readFacts(m, 'work', true)).toMatchObject({ destination: 'work', deliveryCount: 2, replayedFromDeadLetter: true });
    expect(readFacts(m, 'work', false).replayedFromDeadLetter).toBe(false);
  });

  it('gives the policy the message id, on redeliveries too (core tells a redelivery from a duplicate)', () => {
    expect(readFacts(message({}, { messageId: 'm-1' }), 'q', true).messageId).toBe('m-1');
    expect(readFacts(message({ redelivered: true }, { messageId: 'm-1' }), 'q', true)).toMatchObject({ messageId: 'm-1', deliveryCount: 2 });
    expect(readFacts(message({}, { messageId: '' }), 'q', true).messageId).toBeUndefined();
  });
});

describe('redeliveries counted in this process (classic queues only say "redelivered")', () => {
  it('counts each redelivery of a message by its id: 2, 3, 4, ... while a first delivery costs no memory', () => {
    const seen = new DeliveryCounter();
    expect(deliveryCount(message({}, { messageId: 'p-1' }), 'work', seen)).toBe(1);
    expect(seen.size).toBe(0);
    const counts = [1, 2, 3, 4].map(() => deliveryCount(message({ redelivered: true }, { messageId: 'p-1' }), 'work', seen));
    expect(counts).toEqual([2, 3, 4, 5]);
    // Another queue (fan-out) or another message counts apart.
    expect(deliveryCount(message({ redelivered: true }, { messageId: 'p-1' }), 'audit', seen)).toBe(2);
    expect(deliveryCount(message({ redelivered: true }, { messageId: 'p-2' }), 'work', seen)).toBe(2);
  });

  it('without a message id, tells messages apart by their trace context, else by their content', () => {
    const seen = new DeliveryCounter();
    const traced = (tp: string) => message({ redelivered: true }, { headers: { traceparent: tp } });
    const a = '00-11111111111111111111111111111111-aaaaaaaaaaaaaaaa-01';
    const b = '00-11111111111111111111111111111111-bbbbbbbbbbbbbbbb-01';
    expect([deliveryCount(traced(a), 'q', seen), deliveryCount(traced(a), 'q', seen), deliveryCount(traced(b), 'q', seen)]).toEqual([2, 3, 2]);
    const plain = (body: string) => ({ ...message({ redelivered: true }), content: Buffer.from(body) });
    expect([deliveryCount(plain('x'), 'q', seen), deliveryCount(plain('x'), 'q', seen), deliveryCount(plain('y'), 'q', seen)]).toEqual([2, 3, 2]);
  });

  it('trusts the broker where it counts (a quorum queue), and keeps its memory bounded', () => {
    const seen = new DeliveryCounter({ maxEntries: 2 });
    const quorum = message({ redelivered: true }, { messageId: 'q-1', headers: { 'x-delivery-count': 1 } });
    expect([deliveryCount(quorum, 'q', seen), deliveryCount(quorum, 'q', seen)]).toEqual([2, 2]);
    expect(seen.size).toBe(0);
    for (let i = 0; i < 5; i++) deliveryCount(message({ redelivered: true }, { messageId: `m-${i}` }), 'q', seen);
    expect(seen.size).toBe(2);
  });
});
