// What the SQS reliability tests share: clients on the harness's SQS (moto), FIFO test queues, test messages
// (bodies across Unicode, every attribute type, 0 to 10 attributes, several message groups) sent singly and
// in batches, a receive loop, and a comparison that names the first difference.
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';
import { sqs, uniqueName } from '../harness/index.js';

/**
 * Messages of the SQS no-harm run: `BROKERTRACE_RELIABILITY_MESSAGES` (issue 19's count is 10,000), default
 * 200 in CI: moto answers a few ReceiveMessage calls per second on the shared 2-core machine (measured: 1,000
 * messages, plain then traced, took 543 s), so 10,000 twice would take well over an hour.
 */
export const SQS_CI_MESSAGES = 200;
/** Messages through a FIFO queue (group order checked): moto's FIFO sends slow down with the queue (about 3 s per batch at 1,000). */
export const SQS_FIFO_MESSAGES = 100;


/** A client on the harness's SQS; `maxAttempts` 1 unless told (the tests see every failure). */
export async function sqsClient(maxAttempts = 3): Promise<SQSClient> {
  return new SQSClient({ ...(await sqs()), maxAttempts });
}

/** Creates a queue of its own (FIFO: `.fifo`, explicit deduplication ids); returns its URL. */
export async function testQueue(client: SQSClient, label: string, fifo: boolean): Promise<string> {
  const name = fifo ? `${uniqueName(label).slice(0, 75)}.fifo` : uniqueName(label);
  const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: fifo ? { FifoQueue: 'true', VisibilityTimeout: '60' } : { VisibilityTimeout: '60' } }));
  if (!QueueUrl) throw new Error(`CreateQueue ${name}: no URL`);
  return QueueUrl;
}

export async function deleteQueue(client: SQSClient, url: string): Promise<void> {
  await client.send(new DeleteQueueCommand({ QueueUrl: url }));
}

/** Characters SQS allows in a body: tab, newline, CR, ASCII, Latin, CJK, private use, U+FFFD, astral. */
const CODE_POINTS = [0x9, 0xa, 0xd, 0x20, 0x22, 0x26, 0x3c, 0x5c, 0x7e, 0xe9, 0x4e2d, 0xe000, 0xfffd, 0x1f600, 0x10ffff];

export interface SqsTestMessage {
  index: number;
  body: string;
  group: string;
  attributes: Record<string, MessageAttributeValue>;
}

/** Message `i`: a body of 1 to ~600 UTF-16 units, 0 to 10 attributes of every type, one of 4 groups. */
export function sqsMessage(i: number): SqsTestMessage {
  let body = `${i}|`;
  for (let j = 0; j < (i * 13) % 300; j++) body += String.fromCodePoint(CODE_POINTS[(i + j * 7) % CODE_POINTS.length]!);
  const attributes: Record<string, MessageAttributeValue> = {};
  const count = i % 11; // 10: SQS's limit, no room left for a context
  for (let k = 0; k < count; k++) {
    const name = ['Content-Type', 'app', 'x.y_z-1', 'n', 'bin', 'custom', 'empty-ish', 'long', 'unicode', 'TraceParent'][k]!;
    switch (k % 5) {
      case 0:
        attributes[name] = { DataType: 'String', StringValue: k === 0 ? 'application/json' : `v${i}-${k}` };
        break;
      case 1:
        attributes[name] = { DataType: 'String', StringValue: k === 6 ? ' ' : k === 1 ? 'checkout' : '\u00e9\u4e2d\u{1f600}' };
        break;
      case 2:
        attributes[name] = { DataType: 'Number', StringValue: k === 7 ? '-1.5e3' : String(i) };
        break;
      case 3:
        attributes[name] = { DataType: 'Number.int', StringValue: String(i * 3) };
        break;
      default:
        attributes[name] = k === 4 ? { DataType: 'Binary', BinaryValue: Uint8Array.from([0, 255, i & 0xff, (i >> 8) & 0xff]) } : { DataType: 'String.custom', StringValue: 'x'.repeat((i % 50) + 1) };
    }
  }
  return { index: i, body, group: `g${i % 4}`, attributes };
}

/** Sends messages `from`..`to-1`: batches of 10, except every tenth group of ten sent one by one. */
export async function sendRange(client: SQSClient, url: string, from: number, to: number, fifo: boolean): Promise<void> {
  const fifoIds = (m: SqsTestMessage): { MessageGroupId?: string; MessageDeduplicationId?: string } =>
    fifo ? { MessageGroupId: m.group, MessageDeduplicationId: `d${m.index}` } : {};
  for (let start = from; start < to; start += 10) {
    const messages = Array.from({ length: Math.min(10, to - start) }, (_, k) => sqsMessage(start + k));
    if ((start / 10) % 10 === 0) {
      for (const m of messages) {
        await client.send(
          new SendMessageCommand({ QueueUrl: url, MessageBody: m.body, MessageAttributes: m.attributes, ...fifoIds(m) }),
        );
      }
      continue;
    }
    const { Failed = [] } = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: messages.map((m, k) => ({ Id: `e${k}`, MessageBody: m.body, MessageAttributes: m.attributes, ...fifoIds(m) })),
      }),
    );
    if (Failed.length > 0) throw new Error(`SendMessageBatch: ${Failed.length} entries failed: ${Failed[0]?.Message ?? ''}`);
  }
}

/** What the application saw of one delivery. */
export interface SqsDelivery {
  index: number;
  body: string;
  group: string | undefined;
  attributes: Record<string, MessageAttributeValue>;
}

export function deliveryOf(m: Message): SqsDelivery {
  const body = m.Body ?? '';
  return { index: Number(body.slice(0, body.indexOf('|'))), body, group: m.Attributes?.MessageGroupId, attributes: m.MessageAttributes ?? {} };
}

/**
 * Receives until `n` messages were handled (or `timeoutMs` passed): ReceiveMessage of 10, `handle` for each,
 * then DeleteMessageBatch of those `handle` did not refuse (returned false or threw).
 */
export async function receiveAll(client: SQSClient, url: string, n: number, handle: (m: Message) => unknown, timeoutMs = 240_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let handled = 0;
  while (handled < n && Date.now() < deadline) {
    const { Messages = [] } = await client.send(
      // Short polls: moto holds a long poll for its whole wait unless it has 10 messages to give.
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['MessageGroupId'] }),
    );
    if (Messages.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    const done: Message[] = [];
    for (const m of Messages) {
      try {
        if ((await handle(m)) !== false) done.push(m);
      } catch {
        // not deleted: the application lets it come back
      }
    }
    handled += done.length;
    if (done.length > 0) {
      await client.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: done.map((m, k) => ({ Id: `e${k}`, ReceiptHandle: m.ReceiptHandle })) }));
    }
  }
  return handled;
}

/** Keys the tracing may add to a message (the context); anything else must be the sender's, unchanged. */
export const CONTEXT_KEYS = new Set(['traceparent', 'tracestate', 'baggage']);

const bytesEqual = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean =>
  a === undefined || b === undefined ? a === b : Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

/** Names the differences between a delivery and what was sent (`traced`: context keys may be added). */
export function sqsDiffs(d: SqsDelivery, traced: boolean, fifo: boolean): string[] {
  const sent = sqsMessage(d.index);
  const out: string[] = [];
  if (d.body !== sent.body) out.push(`#${d.index}: body differs (${d.body.length} vs ${sent.body.length} units)`);
  if (fifo && d.group !== sent.group) out.push(`#${d.index}: group ${String(d.group)}, sent ${sent.group}`);
  for (const key of Object.keys(d.attributes)) {
    if (!(key in sent.attributes) && !(traced && CONTEXT_KEYS.has(key))) out.push(`#${d.index}: attribute ${key} was not sent`);
  }
  for (const [key, value] of Object.entries(sent.attributes)) {
    const got = d.attributes[key];
    if (!got) out.push(`#${d.index}: attribute ${key} missing`);
    else if (got.DataType !== value.DataType || got.StringValue !== value.StringValue || !bytesEqual(got.BinaryValue, value.BinaryValue)) {
      out.push(`#${d.index}: attribute ${key} = ${JSON.stringify(got)}, sent ${JSON.stringify(value)}`);
    }
  }
  return out;
}
