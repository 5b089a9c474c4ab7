// sqs-consumer (the most used polling library) with a traced client and through SqsInstrumentation: a process
// span per message and per batch, the handler's return value passed through (sqs-consumer deletes only what the
// handler returns), the delete a settle span under the process span.
import { SpanStatusCode } from '@opentelemetry/api';
import { setupTestTelemetry } from '@brokertrace/testing';
import { SqsInstrumentation, processMessage, sqsTracing } from '@brokertrace/sqs';
import { current, sqsConsumer } from '../../packages/sqs/test/sdk.js';
import { sqs } from '../harness/index.js';
import { Countdown, createQueue, drain, plainClient } from './helpers.js';

const { SendMessageBatchCommand, SendMessageCommand, SQSClient } = current;
const { Consumer } = sqsConsumer;
const t = setupTestTelemetry();
beforeEach(() => t.reset());
const nameOf = (url: string): string => url.slice(url.lastIndexOf('/') + 1);

async function stopped(consumer: InstanceType<typeof Consumer>): Promise<void> {
  await new Promise<void>((resolve) => {
    consumer.once('stopped', () => resolve());
    consumer.stop({ abort: true });
  });
}

/** Resolves when sqs-consumer has deleted `count` messages. */
function processed(consumer: InstanceType<typeof Consumer>, count: number): Promise<unknown[]> {
  const done = new Countdown<unknown>(count);
  consumer.on('message_processed', (m) => done.push(m));
  return done.done;
}

it('with a traced client and processMessage: one trace per message, the return value passed through', async () => {
  const settings = await sqs();
  const client = new SQSClient({ ...settings, maxAttempts: 1 });
  client.middlewareStack.use(sqsTracing());
  const url = await createQueue(client, 'consumer');
  const returned: unknown[] = [];
  const consumer = Consumer.create({
    queueUrl: url,
    sqs: client,
    waitTimeSeconds: 1,
    handleMessage: (message) =>
      processMessage(message, {}, (m) => {
        returned.push(m);
        return Promise.resolve(m);
      }),
  });
  const done = processed(consumer, 2);
  consumer.start();
  await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'one' }));
  await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'two' }));
  await done;
  await stopped(consumer);

  const queue = nameOf(url);
  const sends = t.spansNamed(`send ${queue}`);
  const processes = t.spansNamed(`process ${queue}`);
  expect(processes).toHaveLength(2);
  for (const p of processes) {
    expect(sends.map((s) => s.spanContext().spanId)).toContain(p.parentSpanContext?.spanId);
    expect(p.attributes['brokertrace.decision.reason']).toBe('fresh');
  }
  // sqs-consumer deleted what the handler returned: the queue is empty, the deletes are traced.
  expect(t.spansNamed(`delete ${queue}`)).toHaveLength(2);
  expect(await drain(await plainClient(), url, 0)).toEqual([]);
  expect(t.openSpans().filter((s) => s.name.endsWith(queue))).toEqual([]);
});

it('through SqsInstrumentation: the client sqs-consumer creates is traced, process spans per message and per batch', async () => {
  const instrumentation = new SqsInstrumentation();
  // What require-in-the-middle does when the app loads the modules (jest has its own module loader).
  const [clientDefinition, consumerDefinition] = instrumentation.getModuleDefinitions();
  clientDefinition!.moduleExports = current;
  clientDefinition!.patch!(current, '3.1175.0');
  consumerDefinition!.moduleExports = sqsConsumer;
  consumerDefinition!.patch!(sqsConsumer, '15.0.3');
  try {
    const settings = await sqs();
    const producer = new SQSClient({ ...settings, maxAttempts: 1 });
    const url = await createQueue(producer, 'auto');
    const batchUrl = await createQueue(producer, 'autobatch');
    process.env.AWS_ACCESS_KEY_ID = settings.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = settings.credentials.secretAccessKey;
    // No `sqs` option: sqs-consumer builds its own SQSClient (useQueueUrlAsEndpoint reaches the harness).
    const single = Consumer.create({ queueUrl: url, region: settings.region, waitTimeSeconds: 1, handleMessage: (m) => Promise.resolve(m) });
    const failing = new Error('handler failed');
    let failed = false;
    const batch = Consumer.create({
      queueUrl: batchUrl,
      region: settings.region,
      waitTimeSeconds: 1,
      batchSize: 10,
      // A failed batch goes back to the queue at once (visibility 0), so the retry comes within the test.
      terminateVisibilityTimeout: true,
      handleMessageBatch: (messages) => {
        if (!failed) {
          failed = true;
          return Promise.reject(failing);
        }
        return Promise.resolve(messages);
      },
    });
    single.on('error', () => undefined);
    batch.on('error', () => undefined);
    batch.on('processing_error', () => undefined);
    const doneSingle = processed(single, 1);
    const doneBatch = processed(batch, 3);
    try {
    single.start();
    await producer.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'auto' }));
    await doneSingle;
    await producer.send(
      new SendMessageBatchCommand({ QueueUrl: batchUrl, Entries: [0, 1, 2].map((i) => ({ Id: `b${i}`, MessageBody: `batch-${i}`, DelaySeconds: 0 })) }),
    );
    batch.start();
    await doneBatch;
    } finally {
      await Promise.all([stopped(single), stopped(batch)]);
    }

    const queue = nameOf(url);
    const [send] = t.spansNamed(`send ${queue}`);
    const [processSpan] = t.spansNamed(`process ${queue}`);
    expect(processSpan!.parentSpanContext?.spanId).toBe(send!.spanContext().spanId);
    expect(t.spansNamed(`receive ${queue}`).length).toBeGreaterThan(0);
    const [del] = t.spansNamed(`delete ${queue}`);
    expect(del!.parentSpanContext?.spanId).toBe(processSpan!.spanContext().spanId);

    const batchQueue = nameOf(batchUrl);
    const creates = t.spansNamed(`create ${batchQueue}`);
    const batchProcesses = t.spansNamed(`process ${batchQueue}`);
    // The first batch failed (sqs-consumer caught it and left the messages), the redelivery succeeded.
    const failedSpan = batchProcesses.find((p) => p.status.code === SpanStatusCode.ERROR);
    expect(failedSpan).toBeDefined();
    const ok = batchProcesses.filter((p) => p.status.code !== SpanStatusCode.ERROR);
    const linked = ok.flatMap((p) => p.links.map((l) => l.context.spanId)).sort();
    expect(linked).toEqual(creates.map((c) => c.spanContext().spanId).sort());
    for (const p of batchProcesses) expect(p.kind).toBe(4 /* CONSUMER */);
  } finally {
    instrumentation.disable();
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
  }
}, 60_000);
