// HeaderMarkers reads a message's retry-count and dead-letter headers in one pass; it must answer exactly what
// the name-by-name readers (retryCount, hasAnyHeader) answer, for any mix of names, cases, orders and values.
import fc from 'fast-check';
import { hasAnyHeader, HeaderMarkers, retryCount } from '../src/facts';
import type { KafkaHeaders } from '../src/internal-types';

const NAMES = ['x-retry-count', 'Retry-Count', 'retry_topic-attempts', 'kafka_dlt-original-topic', 'DLT', 'traceparent', 'other'];

/** One spelling of a name: as configured, lower, upper, or mixed case. */
const spelling = fc.tuple(fc.constantFrom(...NAMES), fc.integer({ min: 0, max: 3 })).map(([name, how]) =>
  how === 0 ? name : how === 1 ? name.toLowerCase() : how === 2 ? name.toUpperCase() : name.replace(/^./, (c) => c.toUpperCase()),
);

const four = Buffer.alloc(4);
four.writeInt32BE(7);
const value = fc.oneof(
  fc.constantFrom('3', ' 12 ', 'x', '', '-1', '99999999999999999'),
  fc.constantFrom(Buffer.from('4'), Buffer.from('no'), four, Buffer.alloc(8)),
  fc.constant(undefined),
  fc.array(fc.constantFrom('x', '2', Buffer.from('5')), { maxLength: 3 }),
);

const headers = fc.array(fc.tuple(spelling, value), { maxLength: 6 }).map((entries) => Object.fromEntries(entries) as KafkaHeaders);
const names = fc.uniqueArray(spelling, { maxLength: 4 });

describe('HeaderMarkers', () => {
  test('reads as retryCount and hasAnyHeader do, whatever the names, cases and values', () => {
    fc.assert(
      fc.property(headers, names, names, (h, retry, deadLetter) => {
        const read = new HeaderMarkers(retry, deadLetter).read(h);
        expect(read).toEqual({ earlier: retryCount(h, retry) ?? 0, replayed: hasAnyHeader(h, deadLetter) });
      }),
      { numRuns: 2000 },
    );
  });

  test('an exact key wins over one differing in case; a name without a valid count gives way to the next', () => {
    const markers = new HeaderMarkers(['x-retry-count', 'retry-count'], ['dlt']);
    expect(markers.read({ 'X-Retry-Count': '5', 'x-retry-count': '2' }).earlier).toBe(2);
    expect(markers.read({ 'X-RETRY-COUNT': 'bad', 'Retry-Count': '3' }).earlier).toBe(3);
    expect(markers.read({ DLT: Buffer.from('orders') })).toEqual({ earlier: 0, replayed: true });
    expect(markers.read({ traceparent: 'x' })).toEqual({ earlier: 0, replayed: false });
    expect(markers.read(undefined)).toEqual({ earlier: 0, replayed: false });
  });

  test("only the headers' own keys count: an inherited enumerable one is no header", () => {
    const markers = new HeaderMarkers(['x-retry-count'], ['dlt']);
    const inherited = Object.assign(Object.create({ 'x-retry-count': '9', dlt: 'orders' }) as KafkaHeaders, { traceparent: 'x' });
    expect(markers.read(inherited)).toEqual({ earlier: 0, replayed: false });
    expect(markers.read(Object.assign(Object.create({ dlt: 'orders' }) as KafkaHeaders, { 'x-retry-count': '2' }))).toEqual({ earlier: 2, replayed: false });
  });
});
