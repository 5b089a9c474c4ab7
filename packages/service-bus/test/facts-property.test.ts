// Property-based hostile input through the Service Bus facts readers (src/facts.ts, and the carrier read of
// src/carrier.ts): whatever a received message holds — ids, times, counts, sequence numbers, dead-letter
// markers and application properties of every wrong type, null, huge, NaN, throwing getters, hostile proxies,
// frozen objects — the readers never throw, return only values a span or core's policy can take, and never
// write to the message.
import { checkFacts, hostileObject, isId, isSafeAttributeValue, problems, snapshot, watched } from '@brokertrace/testing';
import type { HostileObject } from '@brokertrace/testing';
import fc from 'fast-check';
import { deliveryCount, enqueuedAtMs, fromDeadLetter, idString, messageAttributes, messageFacts, sequenceNumber } from '../src/facts.js';
import { propertiesGetter, propertiesOf } from '../src/carrier.js';
import { entityOf } from '../src/destination.js';
import type { ReceivedMessageLike } from '../src/internal-types.js';

const FIELDS = [
  'messageId',
  'correlationId',
  'enqueuedTimeUtc',
  'deliveryCount',
  'sequenceNumber',
  'deadLetterSource',
  'deadLetterReason',
  'applicationProperties',
  'body',
  'lockToken',
] as const;

const hostileMessage = hostileObject(FIELDS) as fc.Arbitrary<HostileObject<ReceivedMessageLike>>;

const ENTITIES = [entityOf('orders', {}), entityOf('orders/$DeadLetterQueue', {}), entityOf('events/Subscriptions/audit', { host: 'h', port: 5671 })];

/** Everything every reader returns for one message (each call on its own: one must not depend on another). */
function readAll(message: ReceivedMessageLike): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const m = message as unknown as Record<string, unknown>;
  const read = (key: string): unknown => {
    try {
      return m[key];
    } catch {
      return undefined;
    }
  };
  out.id = idString(read('messageId'));
  out.correlation = idString(read('correlationId'));
  out.enqueued = enqueuedAtMs(message);
  out.count = deliveryCount(message);
  out.sequence = sequenceNumber(read('sequenceNumber') as never);
  out.facts = ENTITIES.map((e) => messageFacts(message, e));
  out.deadLetter = ENTITIES.map((e) => fromDeadLetter(message, e));
  out.attributes = ENTITIES.map((e) => messageAttributes(message, messageFacts(message, e)));
  const props = propertiesOf(message);
  out.props = props;
  out.keys = propertiesGetter.keys(props);
  out.traceparent = propertiesGetter.get(props, 'traceparent');
  return out;
}

describe('Service Bus facts readers under hostile input', () => {
  test('never throw, and return only safe values', () => {
    fc.assert(
      fc.property(hostileMessage, ({ build }) => {
        const out = readAll(build());
        const { bad, check } = problems();
        for (const facts of out.facts as ReturnType<typeof messageFacts>[]) {
          checkFacts(facts, check);
          for (const v of Object.values(facts.linkAttributes ?? {})) check(Number.isSafeInteger(v), 'link attribute', v);
        }
        for (const attributes of out.attributes as Record<string, unknown>[]) {
          for (const [key, v] of Object.entries(attributes)) check(isSafeAttributeValue(v) && (typeof v !== 'string' || v.length <= 256), key, v);
        }
        check(isId(out.id), 'id', out.id);
        check(isId(out.correlation), 'correlation id', out.correlation);
        check(out.sequence === undefined || Number.isSafeInteger(out.sequence), 'sequence', out.sequence);
        check(out.traceparent === undefined || typeof out.traceparent === 'string', 'traceparent', out.traceparent);
        check(Array.isArray(out.keys), 'keys', out.keys);
        expect(bad).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  test('never write to the message or its properties', () => {
    fc.assert(
      fc.property(hostileMessage, ({ build }) => {
        const message = build();
        const before = snapshot(message);
        readAll(message);
        expect(snapshot(message)).toEqual(before);
      }),
      { numRuns: 200 },
    );
  });

  test('a message whose every access is recorded: only reads happen', () => {
    fc.assert(
      fc.property(hostileMessage, ({ build }) => {
        const writes: string[] = [];
        let message: ReceivedMessageLike;
        try {
          message = watched(build(), writes);
        } catch {
          return; // a revoked proxy cannot be watched
        }
        readAll(message);
        expect(writes).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  test('the readers give known values for well-formed fields', () => {
    const entity = ENTITIES[0]!;
    const message = {
      messageId: 'm-1',
      correlationId: Buffer.from([1, 2]),
      enqueuedTimeUtc: new Date(1_700_000_000_000),
      deliveryCount: 0,
      sequenceNumber: { toString: () => '42' },
      deadLetterReason: 'MaxDeliveryCountExceeded',
    } as unknown as ReceivedMessageLike;
    const facts = messageFacts(message, entity);
    expect(facts).toMatchObject({ destination: 'orders', messageId: 'm-1', enqueuedAtMs: 1_700_000_000_000, deliveryCount: 1, replayedFromDeadLetter: true });
    expect(idString(Buffer.from([1, 2]))).toBe('0102');
    expect(sequenceNumber({ toString: () => String(2n ** 64n) })).toBeUndefined();
  });
});
