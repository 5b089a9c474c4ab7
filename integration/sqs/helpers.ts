// Shared pieces of the SQS integration tests: clients on the harness's SQS server (moto), queues, receiving
// until a count arrived (long polls, never sleeps), and counting what the broker really holds.
import { current } from '../../packages/sqs/test/sdk.js';
import { sqs, uniqueName } from '../harness/index.js';
export { Countdown } from '../harness/countdown.js';

const { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } = current;
type Message = current.Message;
type Client = InstanceType<typeof SQSClient>;

/** A plain client (no tracing) on the harness's server. */
export async function plainClient(): Promise<Client> {
  return new SQSClient({ ...(await sqs()), maxAttempts: 1 });
}

/** Creates a queue with a unique name; returns its URL. */
export async function createQueue(client: { send: Client['send'] }, prefix: string, attributes: Record<string, string> = {}, fifo = false): Promise<string> {
  const name = uniqueName(prefix).slice(0, fifo ? 75 : 80) + (fifo ? '.fifo' : '');
  const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: fifo ? { FifoQueue: 'true', ...attributes } : attributes }));
  return QueueUrl!;
}

export async function deleteQueue(client: Client, url: string): Promise<void> {
  await client.send(new DeleteQueueCommand({ QueueUrl: url }));
}

export async function queueArn(client: Client, url: string): Promise<string> {
  const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  return Attributes!.QueueArn!;
}

/**
 * Receives until `count` messages arrived (short long-polls) with a plain client, asking for everything, so a
 * test sees what the broker holds.
 */
export async function drain(client: Client, url: string, count: number, extra: Partial<current.ReceiveMessageCommandInput> = {}): Promise<Message[]> {
  const got: Message[] = [];
  const deadline = Date.now() + 20_000;
  while (got.length < count && Date.now() < deadline) {
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'], ...extra }),
    );
    got.push(...Messages);
  }
  if (got.length < count) throw new Error(`received ${got.length} of ${count} messages`);
  return got;
}
