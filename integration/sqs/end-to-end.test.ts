// Sender to consumer through the harness's SQS server: one trace, the broker's facts on the spans, caller
// objects unchanged, every message received once with its payload.
import { randomBytes } from 'node:crypto';
import { setupTestTelemetry } from '@brokertrace/testing';
import { processMessage, sqsTracing } from '@brokertrace/sqs';
import { current } from '../../packages/sqs/test/sdk.js';
import { sqs } from '../harness/index.js';
import { createQueue } from './helpers.js';

const { ReceiveMessageCommand, SendMessageCommand, SQSClient } = current;
const t = setupTestTelemetry();
beforeEach(() => t.reset());

async function tracedClient(config?: Parameters<typeof sqsTracing>[0]): Promise<InstanceType<typeof SQSClient>> {
  const client = new SQSClient({ ...(await sqs()), maxAttempts: 1 });
  client.middlewareStack.use(sqsTracing(config));
  return client;
}

it('puts send and process spans in one trace (child), with the facts on the spans', async () => {
  const client = await tracedClient();
  const url = await createQueue(client, 'e2e');
  const body = randomBytes(32).toString('base64');
  const input = { QueueUrl: url, MessageBody: body, MessageAttributes: { app: { DataType: 'String', StringValue: 'checkout' } } };
  const sent = await client.send(new SendMessageCommand(input));
  expect(input.MessageAttributes).toEqual({ app: { DataType: 'String', StringValue: 'checkout' } });

  const receiveInput = { QueueUrl: url, WaitTimeSeconds: 2, MessageAttributeNames: ['app'] };
  const { Messages = [] } = await client.send(new ReceiveMessageCommand(receiveInput));
  expect(receiveInput).toEqual({ QueueUrl: url, WaitTimeSeconds: 2, MessageAttributeNames: ['app'] });
  expect(Messages).toHaveLength(1);
  const [message] = Messages;
  // The caller sees what it asked for: its attribute, none of ours, no system attributes.
  expect(message!.Body).toBe(body);
  expect(Object.keys(message!.MessageAttributes ?? {})).toEqual(['app']);
  expect(message!.Attributes).toBeUndefined();

  const result = await processMessage(message!, {}, (m) => Promise.resolve(m.MessageId));
  expect(result).toBe(sent.MessageId);

  const queue = url.slice(url.lastIndexOf('/') + 1);
  const [send] = t.spansNamed(`send ${queue}`);
  const [receive] = t.spansNamed(`receive ${queue}`);
  const [process] = t.spansNamed(`process ${queue}`);
  expect(send!.attributes).toMatchObject({
    'messaging.system': 'aws_sqs',
    'messaging.operation.type': 'send',
    'messaging.destination.name': queue,
    'messaging.message.id': sent.MessageId,
    'aws.sqs.queue.url': url,
  });
  expect(process!.spanContext().traceId).toBe(send!.spanContext().traceId);
  expect(process!.parentSpanContext?.spanId).toBe(send!.spanContext().spanId);
  expect(process!.attributes).toMatchObject({
    'messaging.message.id': sent.MessageId,
    'brokertrace.decision.relationship': 'child',
    'brokertrace.decision.reason': 'fresh',
    'brokertrace.message.delivery_count': 1,
  });
  expect(receive!.links.map((l) => l.context.spanId)).toEqual([send!.spanContext().spanId]);
  // The spans around SDK calls carry the AWS SDK conventions' RPC attributes; the process span is no call.
  expect(send!.attributes).toMatchObject({ 'rpc.system': 'aws-api', 'rpc.service': 'SQS', 'rpc.method': 'SendMessage' });
  expect(receive!.attributes).toMatchObject({ 'rpc.system': 'aws-api', 'rpc.service': 'SQS', 'rpc.method': 'ReceiveMessage' });
  expect(process!.attributes).not.toHaveProperty(['rpc.system']);
  expect(t.openSpans()).toEqual([]);
});
