import { deliveryCount, enqueuedAtMs, readFacts, wasDeadLettered } from '../src/facts';
import { consumeDestination, publishDestination } from '../src/destination';
import type { AmqpMessage } from '../src/internal-types';

function message(fields: Partial<AmqpMessage['fields']> = {}, properties: AmqpMessage['properties'] = {}): AmqpMessage {
  return {
    fields: { deliveryTag: 1, redelivered: false, exchange: '', routingKey: 'q', ...fields },
    properties,
    content: Buffer.from('x'),
  };
}

describe('destination names (semconv RabbitMQ)', () => {
  it('names a publish {exchange}:{routing key}, or whichever is set, or amq.default', () => {
    expect(publishDestination('orders', 'created')).toBe('orders:created');
    expect(publishDestination('', 'work')).toBe('work');
    expect(publishDestination('fanout', '')).toBe('fanout');
    expect(publishDestination('', '')).toBe('amq.default');
    expect(publishDestination(undefined, undefined)).toBe('amq.default');
  });

  it('names a delivery {exchange}:{routing key}:{queue}, leaving out empty parts and a queue equal to the key', () => {
    expect(consumeDestination('orders', 'created', 'billing')).toBe('orders:created:billing');
    expect(consumeDestination('', 'work', 'work')).toBe('work');
    expect(consumeDestination('fanout', '', 'q1')).toBe('fanout:q1');
    expect(consumeDestination('', '', '')).toBe('amq.default');
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
