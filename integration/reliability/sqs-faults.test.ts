// SQS endpoint unreachable, then back: a moto of this file's own (privateBroker) is stopped while the application
// sends and receives, and started again on the same port. Traced and untraced, the application sees the same failures (the SDK's
// own error objects, passed through unchanged), recovers the same way, and gets every message sent once the
// endpoint is back; in the traced run no span is left open and every failed call's span says why.
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { ATTR_ERROR_TYPE } from '@brokertrace/core';
import { processMessage, sqsTracing } from '@brokertrace/sqs';
import { SpanStatusCode } from '@opentelemetry/api';
import { privateBroker, uniqueName } from '../harness/index';
import type { PrivateBroker } from '../harness/index';
import { quietDiag, telemetry } from './support';
import { deliveryOf, receiveAll, sendRange, sqsClient, sqsDiffs, sqsMessage } from './sqs-support';

const t = telemetry();
const BEFORE = 20;
const AFTER = 30;

/** What the application saw of one failed call. */
interface Failure {
  call: string;
  name: string;
  message: string;
  /** The error reached the application as the object the SDK's lowest middleware threw. */
  sameObject: boolean;
}

interface Outcome {
  failures: Failure[];
  /** Indices delivered before the outage and after it. */
  before: number[];
  after: number[];
  diffs: string[];
  /** Queue re-creations the application needed (moto keeps its queues in memory). */
  recreated: number;
}

/** Records the errors the SDK's own middlewares throw, below ours (initialize, low priority; ours is high). */
function recordErrors(client: SQSClient): Set<unknown> {
  const seen = new Set<unknown>();
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        seen.add(error);
        throw error;
      }
    },
    { step: 'initialize', name: 'reliabilityErrorRecorder', priority: 'low' },
  );
  return seen;
}

async function attempt(call: string, seen: Set<unknown>, failures: Failure[], fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (error) {
    const e = error as Error;
    failures.push({ call, name: e.name, message: e.message, sameObject: seen.has(error) });
    return false;
  }
}

async function outage(broker: PrivateBroker<'sqs'>, traced: boolean): Promise<Outcome> {
  // One attempt per call: the application's own retry loop below is what recovers.
  const client = await sqsClient(1, broker.settings);
  if (traced) client.middlewareStack.use(sqsTracing());
  const seen = recordErrors(client);
  const name = uniqueName(traced ? 'outage-traced' : 'outage-plain');
  const createQueue = async (): Promise<string> => (await client.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '60' } }))).QueueUrl!;
  let url = await createQueue();
  const outcome: Outcome = { failures: [], before: [], after: [], diffs: [], recreated: 0 };
  const handle = (into: number[]) => (m: Message): void => {
    const d = deliveryOf(m);
    into.push(d.index);
    outcome.diffs.push(...sqsDiffs(d, traced, false));
  };
  const consume = (m: Message, into: number[]): unknown => (traced ? processMessage(m, { queueUrl: url }, handle(into)) : handle(into)(m));
  try {
    await sendRange(client, url, 0, BEFORE, false);
    await receiveAll(client, url, BEFORE, (m) => consume(m, outcome.before), 60_000);

    await broker.stop();
    // Unreachable: each kind of call fails, as the application's loop meets it.
    const m = sqsMessage(BEFORE);
    await attempt('SendMessage', seen, outcome.failures, () => client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: m.body, MessageAttributes: m.attributes })));
    await attempt('SendMessageBatch', seen, outcome.failures, () => sendRange(client, url, BEFORE + 10, BEFORE + 20, false));
    await attempt('ReceiveMessage', seen, outcome.failures, () => client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 })));
    await broker.start();

    // Back: the application retries its send; moto lost its queues, so the queue is made again first.
    for (let tries = 0; ; tries++) {
      const ok = await attempt('SendMessageBatch (retry)', seen, outcome.failures, () => sendRange(client, url, BEFORE, BEFORE + AFTER, false));
      if (ok) break;
      if (tries > 2) throw new Error(`no recovery after ${tries} tries: ${JSON.stringify(outcome.failures.at(-1))}`);
      url = await createQueue();
      outcome.recreated++;
    }
    await receiveAll(client, url, AFTER, (msg) => consume(msg, outcome.after), 60_000);
    return outcome;
  } finally {
    client.destroy();
  }
}

describe('SQS endpoint unreachable, then back on the same port', () => {
  let restoreDiag: () => void;
  let broker: PrivateBroker<'sqs'> | undefined;
  beforeAll(async () => void (broker = await privateBroker('sqs')));
  afterAll(async () => broker?.dispose());
  beforeEach(() => (restoreDiag = quietDiag()));
  afterEach(() => restoreDiag());

  test('traced and untraced: the same failures, unchanged, the same recovery, every later message intact, no span left open', async () => {
    const plain = await outage(broker!, false);
    await t.reset();
    const traced = await outage(broker!, true);

    // Moto names its port in connection errors; the port is the same for both runs (same server, restarted).
    expect(traced.failures).toEqual(plain.failures);
    expect(plain.failures.map((f) => f.call)).toEqual(['SendMessage', 'SendMessageBatch', 'ReceiveMessage', 'SendMessageBatch (retry)']);
    expect(plain.failures.every((f) => f.sameObject)).toBe(true);
    expect(plain.recreated).toBe(1);
    expect(traced.recreated).toBe(1);
    for (const o of [plain, traced]) {
      expect(o.before.slice().sort((a, b) => a - b)).toEqual(Array.from({ length: BEFORE }, (_, i) => i));
      expect(o.after.slice().sort((a, b) => a - b)).toEqual(Array.from({ length: AFTER }, (_, i) => BEFORE + i));
      expect(o.diffs.slice(0, 5)).toEqual([]);
    }

    // Spans of the traced run: none open; each failed call's span ended with its error.
    expect(t.openSpans().map((s) => s.name)).toEqual([]);
    const failed = t.spans().filter((s) => s.attributes[ATTR_ERROR_TYPE] !== undefined);
    const names = failed.map((s) => s.name.split(' ')[0]);
    // SendMessage, SendMessageBatch (one send span per call), ReceiveMessage, the retried send's first batch
    expect(names.filter((n) => n === 'send')).toHaveLength(3);
    expect(names.filter((n) => n === 'receive')).toHaveLength(1);
    expect(failed.every((s) => s.status.code === SpanStatusCode.ERROR)).toBe(true);
    expect(t.spans().filter((s) => s.name.startsWith('process ')).length).toBe(BEFORE + AFTER);
  }, 180_000);
});
