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
import type { SqsSettings } from '../harness/index.js';

/**
 * Messages of the SQS no-harm run on a standard queue: `BROKERTRACE_RELIABILITY_MESSAGES`, default issue 19's
 * 10,000. Only kept short queues make that affordable on moto (see {@link flowRange}).
 */
export const SQS_CI_MESSAGES = 10_000;
/**
 * Messages through a FIFO queue, all sent before the first receive so that group order is checked over a deep
 * queue: moto's FIFO sends slow down with the queue (about 3 s per batch at 1,000).
 */
export const SQS_FIFO_MESSAGES = 100;


/** A client on the harness's shared SQS, or on `settings` (a private broker's); `maxAttempts` 3 unless told. */
export async function sqsClient(maxAttempts = 3, settings?: SqsSettings): Promise<SQSClient> {
  return new SQSClient({ ...(settings ?? (await sqs())), maxAttempts });
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

/**
 * Why moto is slow with a backlog, and what keeps it fast: moto 5 recomputes every queue attribute, counting
 * all the queue's messages, for each message sent (`queue.attributes` in `send_message`) and two or three times
 * for each message received (the retention check reads `MessageRetentionPeriod` the same way). A call's cost
 * therefore grows with the queue's depth: with 500 queued, a receive of 10 took 250 ms; with all 10,000 sent
 * first it would take seconds. Depth, not the number of messages, is the cost, so the messages go in groups of 10
 * (a `SendMessageBatch`, or ten `SendMessage` every tenth group, as {@link sendRange}), each group received and
 * deleted before its queue gets the next one, over `urls.length` queues at once (group g to queue g mod n).
 * Returns how many `handle` accepted.
 */
export async function flowRange(
  sender: SQSClient,
  receiver: SQSClient,
  urls: readonly string[],
  from: number,
  to: number,
  handle: (m: Message) => unknown,
  options: { fifo?: boolean; timeoutMs?: number } = {},
): Promise<number> {
  let handled = 0;
  const groups = Math.ceil((to - from) / 10);
  await Promise.all(
    urls.map(async (url, q) => {
      for (let g = q; g < groups; g += urls.length) {
        const start = from + g * 10;
        const end = Math.min(to, start + 10);
        await sendRange(sender, url, start, end, options.fifo ?? false);
        const got = await receiveAll(receiver, url, end - start, handle, options.timeoutMs ?? 120_000);
        handled += got;
        if (got < end - start) throw new Error(`queue ${q}: ${got} of messages ${start}..${end - 1} handled in time`);
      }
    }),
  );
  return handled;
}

/** Creates `count` queues of its own (see {@link testQueue}). */
export function testQueues(client: SQSClient, label: string, count: number, fifo: boolean): Promise<string[]> {
  return Promise.all(Array.from({ length: count }, () => testQueue(client, label, fifo)));
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
