// The sender side against the harness's SQS server: SQS's 10-attribute budget counted by us (moto accepts 11),
// the size budget, a context per batch entry, and caller objects never written.
import { SpanStatusCode } from '@opentelemetry/api';
import { setupTestTelemetry } from '@brokertrace/testing';
import { sqsTracing } from '@brokertrace/sqs';
import { current } from '../../packages/sqs/test/sdk.js';
import { sqs } from '../harness/index.js';
import { createQueue, drain, plainClient } from './helpers.js';

const { SendMessageBatchCommand, SendMessageCommand, SQSClient } = current;
type Attrs = Record<string, current.MessageAttributeValue>;
const t = setupTestTelemetry();
beforeEach(() => t.reset());

async function tracedClient(config?: Parameters<typeof sqsTracing>[0]): Promise<InstanceType<typeof SQSClient>> {
  const client = new SQSClient({ ...(await sqs()), maxAttempts: 1 });
  client.middlewareStack.use(sqsTracing(config));
  return client;
}

function userAttributes(n: number): Attrs {
  const out: Attrs = {};
  for (let i = 0; i < n; i++) out[`attr${i}`] = { DataType: 'String', StringValue: `value-${i}` };
  return out;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

const nameOf = (url: string): string => url.slice(url.lastIndexOf('/') + 1);

it('adds traceparent to a message with 9 attributes: exactly 10 arrive', async () => {
  const client = await tracedClient();
  const url = await createQueue(client, 'nine');
  await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'nine', MessageAttributes: userAttributes(9) }));
  const [message] = await drain(await plainClient(), url, 1);
  const names = Object.keys(message!.MessageAttributes!).sort();
  expect(names).toHaveLength(10);
  expect(names).toContain('traceparent');
  const [send] = t.spansNamed(`send ${nameOf(url)}`);
  expect(message!.MessageAttributes!.traceparent!.StringValue).toBe(`00-${send!.spanContext().traceId}-${send!.spanContext().spanId}-01`);
  expect(send!.attributes['brokertrace.context.dropped_fields']).toBeUndefined();
});

it('leaves a message with 10 attributes as it is and records what was dropped', async () => {
  const client = await tracedClient();
  const url = await createQueue(client, 'ten');
  await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'ten', MessageAttributes: userAttributes(10) }));
  const [message] = await drain(await plainClient(), url, 1);
  expect(Object.keys(message!.MessageAttributes!).sort()).toEqual(Object.keys(userAttributes(10)).sort());
  expect(message!.Body).toBe('ten');
  const [send] = t.spansNamed(`send ${nameOf(url)}`);
  expect(send!.attributes['brokertrace.context.dropped_fields']).toEqual(['traceparent']);
  const metrics = await t.metrics();
  expect(metrics['brokertrace.context.dropped']).toEqual([
    expect.objectContaining({ value: 1, attributes: expect.objectContaining({ 'brokertrace.context.field': 'traceparent', 'messaging.destination.name': nameOf(url) }) }),
  ]);
});

it('sends a message too close to the size limit intact, without our attributes', async () => {
  const client = await tracedClient({ maxMessageBytes: 1024 });
  const url = await createQueue(client, 'full', { MaximumMessageSize: '1024' });
  // 1000 bytes of body + a 4-byte attribute of 6 bytes type + 3 bytes name: 13 bytes; a traceparent needs 72.
  const body = 'x'.repeat(1000);
  await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body, MessageAttributes: { app: { DataType: 'String', StringValue: 'shop' } } }));
  const [message] = await drain(await plainClient(), url, 1);
  expect(message!.Body).toBe(body);
  expect(Object.keys(message!.MessageAttributes!)).toEqual(['app']);
  const [send] = t.spansNamed(`send ${nameOf(url)}`);
  expect(send!.attributes['brokertrace.context.dropped_fields']).toEqual(['traceparent']);
  // With room for it (body 900 bytes), the same queue gets the context.
  await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'y'.repeat(900) }));
  const [roomy] = await drain(await plainClient(), url, 1);
  expect(Object.keys(roomy!.MessageAttributes!)).toEqual(['traceparent']);
});

it('sends an input that is a class instance, its body behind a getter on a private field, with the same body', async () => {
  const client = await tracedClient();
  const url = await createQueue(client, 'classy');
  class OrderInput {
    readonly #order: string;
    readonly QueueUrl = url;
    constructor(order: string) {
      this.#order = order;
    }
    get MessageBody(): string {
      return JSON.stringify({ order: this.#order });
    }
  }
  const input = new OrderInput('o-7');
  await client.send(new SendMessageCommand(input as never));
  const [message] = await drain(await plainClient(), url, 1);
  expect(message!.Body).toBe('{"order":"o-7"}');
  const [send] = t.spansNamed(`send ${nameOf(url)}`);
  expect(message!.MessageAttributes!.traceparent!.StringValue).toContain(send!.spanContext().spanId);
  expect(Object.hasOwn(input, 'MessageAttributes')).toBe(false);
});

it('gives each of 10 batch entries its own context and create span; the send span links to all', async () => {
  const client = await tracedClient();
  const url = await createQueue(client, 'batch');
  const Entries = Array.from({ length: 10 }, (_, i) => ({ Id: `m${i}`, MessageBody: `body-${i}` }));
  const output = await client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries }));
  expect(output.Successful).toHaveLength(10);
  const messages = await drain(await plainClient(), url, 10);
  const queue = nameOf(url);
  const creates = t.spansNamed(`create ${queue}`);
  const [send] = t.spansNamed(`send ${queue}`);
  expect(creates).toHaveLength(10);
  expect(send!.attributes['messaging.batch.message_count']).toBe(10);
  expect(send!.attributes['rpc.method']).toBe('SendMessageBatch');
  for (const c of creates) expect(c.attributes).not.toHaveProperty(['rpc.method']);
  expect(send!.kind).toBe(2 /* CLIENT */);
  expect(send!.links.map((l) => l.context.spanId).sort()).toEqual(creates.map((c) => c.spanContext().spanId).sort());
  const contexts = new Set(messages.map((m) => m.MessageAttributes!.traceparent!.StringValue));
  expect(contexts.size).toBe(10);
  for (const c of creates) expect(contexts.has(`00-${c.spanContext().traceId}-${c.spanContext().spanId}-01`)).toBe(true);
  expect(messages.map((m) => m.Body).sort()).toEqual(Entries.map((e) => e.MessageBody).sort());
});

it('works with frozen inputs, never writes them, and gives the same input sent twice two contexts', async () => {
  const client = await tracedClient();
  const url = await createQueue(client, 'frozen');
  const input = deepFreeze({ QueueUrl: url, MessageBody: 'frozen', MessageAttributes: { app: { DataType: 'String', StringValue: 'a' } } });
  const command = new SendMessageCommand(input);
  await client.send(command);
  await client.send(command);
  expect(command.input).toBe(input);
  expect(input.MessageAttributes).toEqual({ app: { DataType: 'String', StringValue: 'a' } });
  const batchInput = deepFreeze({ QueueUrl: url, Entries: [{ Id: 'a', MessageBody: 'frozen-batch', MessageAttributes: { app: { DataType: 'String', StringValue: 'b' } } }] });
  await client.send(new SendMessageBatchCommand(batchInput));
  expect(batchInput.Entries[0]!.MessageAttributes).toEqual({ app: { DataType: 'String', StringValue: 'b' } });

  const messages = await drain(await plainClient(), url, 3);
  const contexts = messages.map((m) => m.MessageAttributes!.traceparent!.StringValue);
  expect(new Set(contexts).size).toBe(3);
  const sends = t.spansNamed(`send ${nameOf(url)}`);
  expect(sends).toHaveLength(3);
});

it('keeps a context the message already carries: no create span, the send span links to it', async () => {
  const client = await tracedClient();
  const url = await createQueue(client, 'keep');
  const own = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  await client.send(
    new SendMessageBatchCommand({
      QueueUrl: url,
      Entries: [
        { Id: 'own', MessageBody: 'own', MessageAttributes: { traceparent: { DataType: 'String', StringValue: own } } },
        { Id: 'new', MessageBody: 'new' },
      ],
    }),
  );
  const messages = await drain(await plainClient(), url, 2);
  const byBody = Object.fromEntries(messages.map((m) => [m.Body, m.MessageAttributes!.traceparent!.StringValue]));
  expect(byBody.own).toBe(own);
  const queue = nameOf(url);
  expect(t.spansNamed(`create ${queue}`)).toHaveLength(1);
  const [send] = t.spansNamed(`send ${queue}`);
  expect(send!.links.map((l) => l.context.spanId)).toContain('b7ad6b7169203331');
});

it('records a batch entry SQS refused on the send span, and the call still returns the SDK answer', async () => {
  const client = await tracedClient();
  const url = await createQueue(client, 'partial');
  const output = await client.send(
    new SendMessageBatchCommand({
      QueueUrl: url,
      Entries: [
        { Id: 'ok', MessageBody: 'fine' },
        { Id: 'bad', MessageBody: 'late', DelaySeconds: 1000 },
      ],
    }),
  );
  // SQS answers 200 with the refused entry in Failed (the SDK does not throw): the span says how many failed.
  expect(output.Failed?.map((f) => f.Id)).toEqual(['bad']);
  expect(output.Successful?.map((s) => s.Id)).toEqual(['ok']);
  const [send] = t.spansNamed(`send ${nameOf(url)}`);
  expect(send!.attributes['brokertrace.sqs.batch.failed_count']).toBe(1);
  expect(send!.status.code).not.toBe(2 /* ERROR */);
  // Each entry's outcome on its own create span.
  const creates = t.spansNamed(`create ${nameOf(url)}`);
  const failed = creates.filter((c) => c.status.code === SpanStatusCode.ERROR);
  expect(failed).toHaveLength(1);
  expect(failed[0]!.attributes['error.type']).toBe(output.Failed![0]!.Code);
  const okCreate = creates.find((c) => c.status.code !== SpanStatusCode.ERROR);
  expect(okCreate!.attributes['messaging.message.id']).toBe(output.Successful![0]!.MessageId);
});

it('writes AWSTraceHeader too when asked, at no attribute cost', async () => {
  const client = await tracedClient({ writeAwsTraceHeader: true });
  const url = await createQueue(client, 'xray');
  await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'xray', MessageAttributes: userAttributes(9) }));
  const [message] = await drain(await plainClient(), url, 1);
  const [send] = t.spansNamed(`send ${nameOf(url)}`);
  const { traceId, spanId } = send!.spanContext();
  expect(message!.Attributes!.AWSTraceHeader).toBe(`Root=1-${traceId.slice(0, 8)}-${traceId.slice(8)};Parent=${spanId};Sampled=1`);
  expect(Object.keys(message!.MessageAttributes!)).toHaveLength(10);
});
