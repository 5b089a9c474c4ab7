// Property-based hostile input through the SQS facts readers (src/facts.ts, src/carrier.ts, src/queue.ts): whatever
// a received message or Lambda record holds — system attributes (SentTimestamp, ApproximateReceiveCount,
// DeadLetterQueueSourceArn), ids, message attributes and bodies of every wrong type, null, huge, NaN, throwing
// getters, hostile proxies, frozen objects — the readers never throw, return only values a span or core's policy
// can take, and never write to what they read.
import { checkFacts, hostileObject, hostileValue, problems, snapshot, unwrap, watched } from '@brokertrace/testing';
import fc from 'fast-check';
import { carrierOf, snsEnvelopeAttributes, sqsCarrierGetter } from '../src/carrier.js';
import { factsOf } from '../src/facts.js';
import { queueNameOf } from '../src/queue.js';

/** System attributes SQS may return, and a few it does not. */
const SYSTEM = ['SentTimestamp', 'ApproximateReceiveCount', 'DeadLetterQueueSourceArn', 'AWSTraceHeader', 'MessageGroupId', 'ApproximateFirstReceiveTimestamp', '__proto__', 'constructor'] as const;
/** Message attribute names, each holding a hostile value (or a hostile `{DataType, StringValue}`). */
const ATTRIBUTES = ['traceparent', 'tracestate', 'baggage', 'app', 'Content-Type'] as const;

const hostileSystem = hostileObject(SYSTEM);
const hostileAttributes = fc.oneof(
  hostileObject(ATTRIBUTES),
  // SDK and Lambda shapes whose fields are hostile
  fc.record({ key: fc.constantFrom(...ATTRIBUTES), shape: hostileObject(['DataType', 'StringValue', 'BinaryValue', 'stringValue', 'dataType', 'Type', 'Value']) }).map(({ key, shape }) => ({
    describe: `${key}: ${shape.describe}`,
    build: (): object => ({ [key]: shape.build() }),
  })),
);
const hostileId = hostileValue;
const hostileBody = fc.oneof(
  hostileValue,
  fc.constantFrom(
    '{"Type":"Notification","TopicArn":"arn","MessageAttributes":null}',
    '{"Type":"Notification","TopicArn":"arn","MessageAttributes":{"traceparent":{"Type":"String","Value":7}}}',
    '{"Type":"Notification","TopicArn":"arn","MessageAttributes":{"traceparent":{"Type":"String","Value":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}}',
    '{"Type":"Notification","TopicArn":"arn","MessageAttributes":[1,2]}',
    `{"TopicArn":"${'x'.repeat(100_000)}","MessageAttributes":{}`,
    '{"Type":"Notification","TopicArn":"arn","MessageAttributes":{"__proto__":{"polluted":1}}}',
  ),
);

/** Everything the readers return for one message: its id, system attributes, message attributes and body. */
function readAll(lazyId: unknown, system: object, attributes: object, lazyBody: unknown): { facts: ReturnType<typeof factsOf>[]; got: unknown[]; keys: string[]; names: string[] } {
  const [id, body] = [unwrap(lazyId), unwrap(lazyBody)];
  const facts = ['orders', ''].map((queue) => factsOf(queue, id as string, system as Record<string, string>));
  let xray: unknown;
  try {
    xray = (system as Record<string, unknown>).AWSTraceHeader; // the caller's read (process.ts), not the readers'
  } catch {
    xray = undefined;
  }
  const carriers = [true, false].map((sns) => carrierOf(attributes as Record<string, unknown>, xray as string, body, sns));
  const got = carriers.flatMap((c) => [...ATTRIBUTES, 'AWSTraceHeader'].map((key) => sqsCarrierGetter.get(c, key)));
  const keys = carriers.flatMap((c) => sqsCarrierGetter.keys(c));
  snsEnvelopeAttributes(body);
  const names = [queueNameOf(id as string), queueNameOf(body as string)];
  return { facts, got, keys, names };
}

describe('SQS facts readers under hostile input', () => {
  test('never throw, and return only safe values', () => {
    fc.assert(
      fc.property(hostileId, hostileSystem, hostileAttributes, hostileBody, (id, system, attributes, body) => {
        const out = readAll(id, system.build(), attributes.build(), body);
        const { bad, check } = problems();
        for (const facts of out.facts) checkFacts(facts, check);
        // The getter hands core strings, or the SDK's attribute object for core to normalise, or nothing.
        for (const v of out.got) check(v === undefined || typeof v === 'string' || (typeof v === 'object' && v !== null), 'carrier value', typeof v);
        for (const k of out.keys) check(typeof k === 'string', 'carrier key', k);
        for (const n of out.names) check(typeof n === 'string', 'queue name', n);
        expect(bad).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  test('never write to what they read', () => {
    fc.assert(
      fc.property(hostileId, hostileSystem, hostileAttributes, hostileBody, (id, systemArb, attributesArb, body) => {
        const [system, attributes] = [systemArb.build(), attributesArb.build()];
        const before = [snapshot(system), snapshot(attributes)];
        readAll(id, system, attributes, body);
        expect([snapshot(system), snapshot(attributes)]).toEqual(before);
        const writes: string[] = [];
        try {
          readAll(id, watched(system, writes), watched(attributes, writes), body);
        } catch {
          return; // a revoked proxy cannot be watched
        }
        expect(writes).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  test('the readers give known values for well-formed attributes', () => {
    expect(factsOf('q', 'id-1', { SentTimestamp: '1700000000000', ApproximateReceiveCount: '2', DeadLetterQueueSourceArn: 'arn:aws:sqs:r:1:dlq' })).toEqual({
      destination: 'q',
      messageId: 'id-1',
      enqueuedAtMs: 1_700_000_000_000,
      deliveryCount: 2,
      replayedFromDeadLetter: true,
    });
    // A timestamp of 0 is no time (it would make the message 56 years old)
    expect(factsOf('q', undefined, { SentTimestamp: '0' }).enqueuedAtMs).toBeUndefined();
    expect(queueNameOf('https://sqs.eu-west-1.amazonaws.com/123/orders')).toBe('orders');
  });
});
