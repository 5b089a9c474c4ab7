import { BrokerTraceConfigError } from '@brokertrace/core';
import { DEFAULT_RETRY_COUNT_HEADERS, resolveKafkaOptions } from '../src/config';
import { consumedFacts, findHeader, hasAnyHeader, HeaderMarkers, keyToString, retryCount, timestampMs } from '../src/facts';
import { recordLimits } from '../src/producer';
import { PACKAGE_VERSION } from '../src/version';
import { KafkaJsInstrumentation, traceConsumer, traceProducer } from '../src/index';
import { fakeConsumer, fakeProducer } from './fakes';
import { readFileSync } from 'node:fs';
import { setupTestTelemetry } from '@brokertrace/testing';
import { kafkaErrorType } from '../src/errors';

const t = setupTestTelemetry();
beforeEach(() => t.reset());
import { join } from 'node:path';

describe('facts', () => {
  it('reads retry counts as text, Java ints and longs, first valid value of a repeated header', () => {
    const int = Buffer.alloc(4);
    int.writeInt32BE(7);
    const long = Buffer.alloc(8);
    long.writeBigInt64BE(9n);
    expect(retryCount({ 'x-retry-count': '3' }, ['x-retry-count'])).toBe(3);
    expect(retryCount({ 'x-retry-count': Buffer.from('12') }, ['x-retry-count'])).toBe(12);
    expect(retryCount({ attempts: int }, ['attempts'])).toBe(7);
    expect(retryCount({ attempts: long }, ['attempts'])).toBe(9);
    expect(retryCount({ attempts: [Buffer.from('x'), '4'] }, ['attempts'])).toBe(4);
    expect(retryCount({ 'X-Retry-Count': '2' }, ['x-retry-count'])).toBe(2);
    expect(retryCount({ b: '5' }, ['a', 'b'])).toBe(5);
    expect(retryCount({ a: 'nope', b: '-1' }, ['a', 'b'])).toBeUndefined();
    expect(retryCount(undefined, ['a'])).toBeUndefined();
    // Spring Kafka's retry topics: the header is the number of this attempt (4-byte int), one less were before it.
    const springAttempt = Buffer.alloc(4);
    springAttempt.writeInt32BE(3);
    expect(retryCount({ 'retry_topic-attempts': springAttempt }, DEFAULT_RETRY_COUNT_HEADERS)).toBe(2);
  });

  it('reads timestamps, keys and header presence', () => {
    expect(timestampMs('1700000000000')).toBe(1700000000000);
    expect(timestampMs('-1')).toBeUndefined();
    // kafkajs 1.4.0 writes 0 when the message has no timestamp of its own.
    expect(timestampMs('0')).toBeUndefined();
    expect(timestampMs('abc')).toBeUndefined();
    expect(keyToString(Buffer.from('k1'))).toBe('k1');
    expect(keyToString(null)).toBeUndefined();
    // A binary key with no canonical string form (an int64, UUID bytes, Avro) is left out, not mangled.
    expect(keyToString(Buffer.from([0x00, 0xff, 0xfe, 0x80]))).toBeUndefined();
    expect(keyToString(Buffer.from('clé-ü'))).toBe('clé-ü');
    expect(hasAnyHeader({ 'kafka_dlt-original-topic': Buffer.from('t') }, ['kafka_dlt-original-topic'])).toBe(true);
    expect(hasAnyHeader({}, ['kafka_dlt-original-topic'])).toBe(false);
    expect(findHeader({ TraceParent: 'x' }, 'traceparent')).toBe('x');
  });

  it('builds policy facts: delivery count = earlier attempts + times seen', () => {
    const facts = consumedFacts({
      topic: 'orders',
      partition: 0,
      offset: '4',
      timestamp: '1000',
      headers: { 'x-retry-count': '2' },
      seenCount: 2,
      markers: new HeaderMarkers(['x-retry-count'], ['dlt']),
    });
    expect(facts).toEqual({ destination: 'orders', messageId: undefined, enqueuedAtMs: 1000, deliveryCount: 4, replayedFromDeadLetter: undefined });
  });

  it('budgets headers within what key, value and framing leave of the record', () => {
    expect(recordLimits({ key: 'ab', value: Buffer.alloc(100) }, 1000)).toEqual({ maxTotalBytes: 1000 - 96 - 102, entryOverheadBytes: 4 });
    expect(recordLimits({ value: 'x'.repeat(2000) }, 1000).maxTotalBytes).toBe(0);
  });

  it('keeps the instrumentation version in step with package.json', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { name: string; version: string };
    expect(PACKAGE_VERSION).toBe(pkg.version);
  });
});

describe('configuration', () => {
  it.each([
    [{ retryCountHeaders: 'x' }, 'retryCountHeaders'],
    [{ retryCountHeaders: ['ok', ''] }, 'retryCountHeaders[1]'],
    [{ deadLetterHeaders: [3] }, 'deadLetterHeaders[0]'],
    [{ maxRecordBytes: 0 }, 'maxRecordBytes'],
    [{ maxRecordBytes: 1.5 }, 'maxRecordBytes'],
    [{ deliveryTracking: { maxEntries: -1 } }, 'deliveryTracking.maxEntries'],
    [{ deliveryTracking: { ttlMs: 'long' } }, 'deliveryTracking.ttlMs'],
    [{ deliveryTracking: { maxEntriez: 5 } }, 'deliveryTracking.maxEntriez'],
    [{ captureMessageKey: 'yes' }, 'captureMessageKey'],
    [{ clientId: 5 }, 'clientId'],
    [{ consumerHook: 'nope' }, 'consumerHook'],
  ])('rejects %j naming %s', (config, option) => {
    expect(() => resolveKafkaOptions(config as never)).toThrow(BrokerTraceConfigError);
    try {
      resolveKafkaOptions(config as never);
    } catch (err) {
      expect((err as BrokerTraceConfigError).option).toBe(option);
    }
  });

  it('throws from the wrappers before touching the client, for Kafka and core options alike', () => {
    const { producer } = fakeProducer();
    const send = producer.send;
    expect(() => traceProducer(producer, { maxRecordBytes: -5 })).toThrow(/maxRecordBytes/);
    expect(() => traceProducer(producer, { policy: { maxChildAgeMs: -1 } })).toThrow(/policy\.maxChildAgeMs/);
    expect(producer.send).toBe(send);
    const { consumer } = fakeConsumer();
    expect(() => traceConsumer(consumer, { deliveryTracking: { maxEntries: 0 } })).toThrow(/deliveryTracking\.maxEntries/);
  });

  it('rejects an unknown (misspelt) top-level option, naming it, and accepts every documented one', () => {
    const { producer } = fakeProducer();
    expect(() => traceProducer(producer, { captureMesageKey: false } as never)).toThrow(BrokerTraceConfigError);
    expect(() => traceProducer(producer, { captureMesageKey: false } as never)).toThrow(/captureMesageKey/);
    expect(() => new KafkaJsInstrumentation({ ignoreDestination: ['x'] } as never)).toThrow(/ignoreDestination/);
    expect(() =>
      traceProducer(fakeProducer().producer, {
        clientId: 'c', captureMessageKey: true, retryCountHeaders: ['r'], deadLetterHeaders: ['d'],
        deliveryTracking: { maxEntries: 5 }, maxRecordBytes: 100, producerHook: () => undefined,
        consumerHook: () => undefined, batchHook: () => undefined, existingContext: 'replace',
      }),
    ).not.toThrow();
  });

  it('resolves defaults', () => {
    const o = resolveKafkaOptions();
    expect(o).toMatchObject({
      captureMessageKey: true,
      retryCountHeaders: ['x-retry-count', 'retry-count', 'retry_topic-attempts'],
      deadLetterHeaders: ['kafka_dlt-original-topic'],
      deliveryTracking: { maxEntries: 10000, ttlMs: 600000 },
      maxRecordBytes: 1048576,
    });
  });
});

describe('error.type', () => {
  it('is the Kafka protocol error type, found through kafkajs wrappers, else left to the class name', () => {
    const protocol = Object.assign(new Error('This server does not host this topic-partition'), {
      name: 'KafkaJSProtocolError',
      type: 'UNKNOWN_TOPIC_OR_PARTITION',
    });
    const retries = Object.assign(new Error('retries exceeded'), { name: 'KafkaJSNumberOfRetriesExceeded', cause: protocol });
    const oldStyle = Object.assign(new Error('retries exceeded'), { name: 'KafkaJSNumberOfRetriesExceeded', originalError: protocol });
    expect(kafkaErrorType(protocol)).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(kafkaErrorType(retries)).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(kafkaErrorType(oldStyle)).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(kafkaErrorType(Object.assign(new Error('x'), { name: 'KafkaJSConnectionError' }))).toBeUndefined();
    // A handler's own error with a `type` field is not a broker answer.
    expect(kafkaErrorType(Object.assign(new TypeError('bad'), { type: 'VALIDATION_FAILED' }))).toBeUndefined();
    const hostile = new Proxy({}, { get: () => { throw new Error('trap'); } });
    expect(kafkaErrorType(hostile)).toBeUndefined();
    const loop: { name: string; cause?: unknown } = { name: 'KafkaJSError' };
    loop.cause = loop;
    expect(kafkaErrorType(loop)).toBeUndefined();
  });

  it('reaches the spans of a failed send', async () => {
    const protocol = Object.assign(new Error('leader moved'), { name: 'KafkaJSProtocolError', type: 'NOT_LEADER_FOR_PARTITION' });
    const { producer } = fakeProducer({ fail: protocol });
    traceProducer(producer);
    await expect(producer.send({ topic: 'orders', messages: [{ value: 'a' }] })).rejects.toBe(protocol);
    expect(t.spans()[0]!.attributes['error.type']).toBe('NOT_LEADER_FOR_PARTITION');
  });
});
