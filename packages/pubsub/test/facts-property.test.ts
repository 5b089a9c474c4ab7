// Property-based hostile input through the Pub/Sub facts readers (src/facts.ts): whatever a received message
// holds — publishTime, deliveryAttempt, id, orderingKey, the dead-letter source attributes and the attributes
// object of every wrong type, null, huge, NaN, throwing getters, hostile proxies, frozen objects — the readers
// never throw, return only values a span or core's policy can take, and never write to the message.
import { checkFacts, hostileObject, isSafeAttributeValue, problems, snapshot, watched } from '@brokertrace/testing';
import type { HostileObject } from '@brokertrace/testing';
import fc from 'fast-check';
import { deliveryAttempt, messageFacts, processAttributes, publishTimeMs } from '../src/facts.js';
import type { ReceivedMessage } from '../src/internal-types.js';

const FIELDS = ['id', 'publishTime', 'deliveryAttempt', 'orderingKey', 'attributes', 'data', 'ackId'] as const;
/** Attribute keys the readers look at (the dead-letter source), and others. */
const ATTRIBUTE_KEYS = ['CloudPubSubDeadLetterSourceSubscription', 'CloudPubSubDeadLetterSourceDeliveryCount', 'traceparent', 'app'] as const;

/** A message whose `attributes` may themselves be a hostile object. */
const hostileMessage: fc.Arbitrary<HostileObject<ReceivedMessage>> = fc.record({ message: hostileObject(FIELDS), attributes: fc.option(hostileObject(ATTRIBUTE_KEYS)) }).map(({ message, attributes }) => ({
  describe: `${message.describe}${attributes ? `; attributes ${attributes.describe}` : ''}`,
  build: (): ReceivedMessage => {
    const m = message.build() as Record<string, unknown>;
    if (attributes === null) return m as unknown as ReceivedMessage;
    try {
      if (Object.isExtensible(m)) Object.defineProperty(m, 'attributes', { value: attributes.build(), enumerable: true });
    } catch {
      // a proxy: left as it is
    }
    return m as unknown as ReceivedMessage;
  },
}));

function readAll(message: ReceivedMessage): { facts: ReturnType<typeof messageFacts>[]; attributes: Record<string, unknown>[]; time: unknown; attempt: unknown } {
  const facts = ['billing', ''].map((subscription) => messageFacts(message, subscription));
  return { facts, attributes: facts.map((f) => processAttributes(message, f)), time: publishTimeMs(message), attempt: deliveryAttempt(message) };
}

describe('Pub/Sub facts readers under hostile input', () => {
  test('never throw, and return only safe values', () => {
    fc.assert(
      fc.property(hostileMessage, ({ build }) => {
        const out = readAll(build());
        const { bad, check } = problems();
        for (const facts of out.facts) checkFacts(facts, check);
        for (const attributes of out.attributes) {
          for (const [key, v] of Object.entries(attributes)) check(isSafeAttributeValue(v) && (typeof v !== 'number' || Number.isSafeInteger(v)), key, v);
        }
        check(out.time === undefined || (typeof out.time === 'number' && Number.isFinite(out.time) && out.time > 0), 'publishTimeMs', out.time);
        check(out.attempt === undefined || (typeof out.attempt === 'number' && Number.isSafeInteger(out.attempt) && out.attempt > 0), 'deliveryAttempt', out.attempt);
        expect(bad).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  test('never write to the message or its attributes', () => {
    fc.assert(
      fc.property(hostileMessage, ({ build }) => {
        const message = build();
        const before = snapshot(message);
        readAll(message);
        expect(snapshot(message)).toEqual(before);
        const writes: string[] = [];
        let w: ReceivedMessage;
        try {
          w = watched(message, writes);
        } catch {
          return; // a revoked proxy cannot be watched
        }
        readAll(w);
        expect(writes).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  test('the readers give known values for well-formed fields', () => {
    const message = {
      id: '42',
      publishTime: new Date(1_700_000_000_000),
      deliveryAttempt: 3,
      orderingKey: 'k',
      attributes: { CloudPubSubDeadLetterSourceSubscription: 'projects/p/subscriptions/s', CloudPubSubDeadLetterSourceDeliveryCount: '5' },
    } as unknown as ReceivedMessage;
    const facts = messageFacts(message, 'billing');
    expect(facts).toMatchObject({ destination: 'billing', messageId: '42', enqueuedAtMs: 1_700_000_000_000, deliveryCount: 3, replayedFromDeadLetter: true });
    expect(Object.values(processAttributes(message, facts))).toEqual(expect.arrayContaining(['42', 'k', 3, 'projects/p/subscriptions/s', 5]));
  });
});
