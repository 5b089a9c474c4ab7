// The SQS package's own logic without a server: attribute names SQS accepts, queue names, the receive plan
// (copies, never the caller's arrays), config validation, and processMessage on AWS Lambda records.
import { BrokerTraceConfigError } from '@brokertrace/core';
import { setupTestTelemetry } from '@brokertrace/testing';
import { isValidAttributeName, processBatch, processMessage, sqsTracing } from '@brokertrace/sqs';
import type { LambdaSqsRecord } from '@brokertrace/sqs';
import { md5OfAttributes } from '../src/attributes';
import { snsEnvelopeAttributes } from '../src/carrier';
import { Endpoints, queueNameOf } from '../src/queue';
import { planReceive } from '../src/receive';

const t = setupTestTelemetry();
beforeEach(() => t.reset());

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('endpoints', () => {
  it('server address and port of a queue URL, one frozen object per endpoint, and the region an AWS URL names', () => {
    const e = new Endpoints();
    const url = 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders';
    expect(e.attributesOf(url)).toEqual({ 'server.address': 'sqs.eu-west-1.amazonaws.com', 'server.port': 443 });
    expect(e.attributesOf('https://sqs.eu-west-1.amazonaws.com/123456789012/other')).toBe(e.attributesOf(url));
    expect(Object.isFrozen(e.attributesOf(url))).toBe(true);
    expect(e.regionOf(url)).toBe('eu-west-1');
    expect(e.regionOf('https://sqs.cn-north-1.amazonaws.com.cn/1/q')).toBe('cn-north-1');
    expect(e.regionOf('https://us-east-2.queue.amazonaws.com/1/q')).toBe('us-east-2');
    expect(e.regionOf('https://vpce-0abc-xyz.sqs.ap-south-1.vpce.amazonaws.com/1/q')).toBe('ap-south-1');
    expect(e.regionOf('https://sqs-fips.us-gov-west-1.amazonaws.com/1/q')).toBe('us-gov-west-1');
    expect(e.regionOf('https://sqs.eu-central-1.api.aws/1/q')).toBe('eu-central-1');
    expect(e.regionOf('https://queue.amazonaws.com/1/q')).toBe('us-east-1');
    // moto, LocalStack, ElasticMQ: no region in the host
    expect(e.regionOf('http://127.0.0.1:5000/123456789012/orders')).toBeUndefined();
    expect(e.attributesOf('http://127.0.0.1:5000/123456789012/orders')).toEqual({ 'server.address': '127.0.0.1', 'server.port': 5000 });
    expect(e.regionOf('not a url')).toBeUndefined();
  });
});

describe('attribute names', () => {
  it.each(['traceparent', 'tracestate', 'baggage', 'x-b3-traceid', 'uber-trace-id', 'a.b_c-d'])('accepts %s', (name) => {
    expect(isValidAttributeName(name)).toBe(true);
  });
  it.each(['', 'AWS.trace', 'amazon.x', '.lead', 'trail.', 'a..b', 'has space', 'ünï', 'x'.repeat(257)])('refuses %j', (name) => {
    expect(isValidAttributeName(name)).toBe(false);
  });
});

it('reads queue names from URLs and ARNs', () => {
  expect(queueNameOf('https://sqs.us-east-1.amazonaws.com/123456789012/orders')).toBe('orders');
  expect(queueNameOf('http://127.0.0.1:4566/000000000000/jobs.fifo/')).toBe('jobs.fifo');
  expect(queueNameOf('arn:aws:sqs:eu-west-1:123456789012:events')).toBe('events');
  expect(queueNameOf(undefined)).toBe('');
});

describe('the receive plan', () => {
  it('asks for the policy facts and propagation fields on a copy; the caller\'s arrays stay as they were', () => {
    const names = Object.freeze(['app']);
    const input = Object.freeze({ QueueUrl: 'q', MessageAttributeNames: names as string[], MessageSystemAttributeNames: Object.freeze(['SentTimestamp']) as string[] });
    const plan = planReceive(input);
    expect(plan.input).not.toBe(input);
    expect(plan.input.MessageAttributeNames).toEqual(['app', 'traceparent', 'tracestate', 'baggage']);
    expect(plan.input.MessageSystemAttributeNames).toEqual([
      'SentTimestamp',
      'ApproximateReceiveCount',
      'MessageDeduplicationId',
      'MessageGroupId',
      'DeadLetterQueueSourceArn',
      'AWSTraceHeader',
    ]);
    expect(names).toEqual(['app']);
    // Planned twice from the same input (sqs-consumer reuses its arrays): the same, never growing.
    expect(planReceive(input).input.MessageAttributeNames).toEqual(plan.input.MessageAttributeNames);
  });

  it('adds nothing to All, .* or a matching prefix', () => {
    const plan = planReceive({ QueueUrl: 'q', MessageAttributeNames: ['All'], AttributeNames: ['All'] });
    expect(plan.addedAttributes).toEqual([]);
    expect(plan.addedSystem).toEqual([]);
    expect(planReceive({ QueueUrl: 'q', MessageAttributeNames: ['trace.*', '.*'] }).addedAttributes).toEqual([]);
  });
});

it('computes MD5OfMessageAttributes as SQS does', () => {
  // Value SQS (and moto) return for { app: String "checkout" }.
  expect(md5OfAttributes({ app: { DataType: 'String', StringValue: 'checkout' } })).toMatch(/^[0-9a-f]{32}$/);
  expect(md5OfAttributes({})).toBeUndefined();
});

it('reads an SNS notification envelope only when the body is one', () => {
  expect(snsEnvelopeAttributes('{"Type":"Notification","TopicArn":"t","MessageAttributes":{"traceparent":{"Type":"String","Value":"x"}}}')).toEqual({
    traceparent: { Type: 'String', Value: 'x' },
  });
  expect(snsEnvelopeAttributes('{"TopicArn":"t","MessageAttributes":{}}')).toBeUndefined();
  expect(snsEnvelopeAttributes('not json "TopicArn" "MessageAttributes"')).toBeUndefined();
});

describe('configuration', () => {
  it('names a bad or unknown option at construction', () => {
    expect(() => sqsTracing({ maxMessageBytes: 10 })).toThrow(BrokerTraceConfigError);
    expect(() => sqsTracing({ maxMessageBytes: 10 })).toThrow(/maxMessageBytes/);
    expect(() => sqsTracing({ writeAwsTraceHeader: 'yes' } as never)).toThrow(/writeAwsTraceHeader/);
    expect(() => sqsTracing({ maxMessageByte: 1024 } as never)).toThrow(/maxMessageByte/);
    expect(() => sqsTracing({ policy: { maxChildAgeMs: -1 } })).toThrow(/policy.maxChildAgeMs/);
  });
});

function record(overrides: Partial<LambdaSqsRecord> = {}): LambdaSqsRecord {
  return {
    messageId: 'c80e8021-a70a-42c7-a470-796e1186f753',
    receiptHandle: 'AQEBJQ+/u6NsnT5t8Q/VbVxgdUl4TMKZ5FqhksRdIQvLBhwNvADoBxYSOVeCBXdnS9P+',
    body: '{"order":1}',
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()), SenderId: 'AIDA', ApproximateFirstReceiveTimestamp: String(Date.now()) },
    messageAttributes: { traceparent: { stringValue: TRACEPARENT, stringListValues: [], binaryListValues: [], dataType: 'String' } as never },
    md5OfBody: 'x',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:orders',
    awsRegion: 'us-east-1',
    ...overrides,
  } as LambdaSqsRecord;
}

describe('processMessage on AWS Lambda records', () => {
  it('continues the producer trace and returns what the handler returns', async () => {
    const out = await processMessage(record(), {}, (r) => Promise.resolve(r.messageId));
    expect(out).toBe('c80e8021-a70a-42c7-a470-796e1186f753');
    const [span] = t.spansNamed('process orders');
    expect(span!.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(span!.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(span!.attributes).toMatchObject({
      'messaging.system': 'aws_sqs',
      'messaging.destination.name': 'orders',
      'messaging.message.id': 'c80e8021-a70a-42c7-a470-796e1186f753',
      'brokertrace.decision.relationship': 'child',
      'brokertrace.message.delivery_count': 1,
    });
  });

  it('links a record replayed from a dead-letter queue (DeadLetterQueueSourceArn), reason redelivered', () => {
    processMessage(record({ attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()), DeadLetterQueueSourceArn: 'arn:aws:sqs:us-east-1:1:src' } }), {}, () => undefined);
    const [span] = t.spansNamed('process orders');
    expect(span!.attributes).toMatchObject({ 'brokertrace.decision.relationship': 'link', 'brokertrace.decision.reason': 'redelivered' });
    expect(span!.links[0]!.context.spanId).toBe('00f067aa0ba902b7');
  });

  it('records a handler error, rethrows it unchanged and ends the span', () => {
    const boom = new Error('boom');
    expect(() =>
      processMessage(record(), {}, () => {
        throw boom;
      }),
    ).toThrow(boom);
    const [span] = t.spansNamed('process orders');
    expect(span!.attributes['error.type']).toBe('Error');
    expect(t.openSpans()).toEqual([]);
  });

  it('continues an X-Ray trace from AWSTraceHeader alone', () => {
    processMessage(
      record({ messageId: 'xray-1', messageAttributes: {}, attributes: { ApproximateReceiveCount: '1', AWSTraceHeader: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1' } }),
      {},
      () => undefined,
    );
    const [span] = t.spansNamed('process orders');
    expect(span!.spanContext().traceId).toBe('5759e988bd862e3fe1be46a994272793');
  });

  it('makes one process span with a link per record for a batch', () => {
    const records = [record(), record({ messageId: 'two' }), record({ messageId: 'three', messageAttributes: {} })];
    const out = processBatch(records, {}, (rs) => rs.length);
    expect(out).toBe(3);
    const [span] = t.spansNamed('process orders');
    expect(span!.kind).toBe(4 /* CONSUMER */);
    expect(span!.links).toHaveLength(2);
    expect(span!.attributes['messaging.batch.message_count']).toBe(3);
  });
});
