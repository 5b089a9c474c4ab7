// Smoke test of the harness's SQS: the plain @aws-sdk/client-sqs client, no instrumentation.
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { sqs, uniqueName } from '../harness/index.js';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const BODY = 'sqs smoke ✓ {"json": true} <xml/> \t tab';

describe('SQS from the harness', () => {
  let client: SQSClient;

  beforeAll(async () => {
    client = new SQSClient(await sqs());
  });
  afterAll(() => client.destroy());

  it('delivers a message with its traceparent attribute and body unchanged', async () => {
    const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: uniqueName('smoke-sqs') }));
    const sent = await client.send(
      new SendMessageCommand({
        QueueUrl,
        MessageBody: BODY,
        MessageAttributes: { traceparent: { DataType: 'String', StringValue: TRACEPARENT } },
      }),
    );

    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({ QueueUrl, MessageAttributeNames: ['All'], WaitTimeSeconds: 5, MaxNumberOfMessages: 10 }),
    );
    expect(Messages).toHaveLength(1);
    const [received] = Messages;
    expect(received?.MessageId).toBe(sent.MessageId);
    expect(received?.Body).toBe(BODY);
    expect(received?.MessageAttributes?.traceparent).toEqual({ DataType: 'String', StringValue: TRACEPARENT });

    await client.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: received?.ReceiptHandle }));
    await client.send(new DeleteQueueCommand({ QueueUrl }));
  });
});
