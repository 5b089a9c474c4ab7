// Amazon SQS through @aws-sdk/client-sqs v3 (against moto, or the user's endpoint): SendMessage, SendMessageBatch
// of 10 (SQS's limit), and the pull loop every SQS consumer runs: ReceiveMessage of up to 10, a handler per
// message, then DeleteMessageBatch of what was handled.
import type { Message, MessageAttributeValue, SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import { endWhenSent, Floor, sqsAttributeSetter } from '../lib/floor.js';
import { ConsumeCountdown, measureProducer, type Meter } from '../lib/meter.js';
import { creationTraceparent, payload } from '../lib/messages.js';
import { load, type BrokerAdmin, type Workload } from '../lib/workload.js';
import { instrumentationOf, type BrokerSettings, type ChildTask } from '../lib/types.js';

type Sqs = typeof import('@aws-sdk/client-sqs');

/** SQS's most per ReceiveMessage and per SendMessageBatch. */
const BATCH = 10;

function client(settings: BrokerSettings): SQSClient {
  const { SQSClient } = load('@aws-sdk/client-sqs') as Sqs;
  return new SQSClient({
    endpoint: settings.endpoint as string,
    region: settings.region as string,
    credentials: settings.credentials as { accessKeyId: string; secretAccessKey: string },
  });
}

/** The application's own attribute on every message (SQS bodies are strings: the payload as text). */
function entry(index: number): { MessageBody: string; MessageAttributes: Record<string, MessageAttributeValue> } {
  return { MessageBody: payload(index).toString('utf8'), MessageAttributes: { app: { DataType: 'String', StringValue: 'bench' } } };
}

const floorOf = (task: ChildTask): Floor => new Floor('aws_sqs', task.destination, 'send');

/** Traces the client with brokertrace's plugin, as our README shows (once per client). */
function traced(sqs: SQSClient): SQSClient {
  const { sqsTracing } = load('@brokertrace/sqs') as typeof import('@brokertrace/sqs');
  sqs.middlewareStack.use(sqsTracing());
  return sqs;
}

async function queueUrl(sqs: SQSClient, name: string): Promise<string> {
  const { GetQueueUrlCommand } = load('@aws-sdk/client-sqs') as Sqs;
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
  if (!QueueUrl) throw new Error(`sqs: no URL for queue ${name}`);
  return QueueUrl;
}

async function produce(task: ChildTask, meter: Meter, sqs: SQSClient, batchSize: number): Promise<void> {
  const { SendMessageBatchCommand, SendMessageCommand } = load('@aws-sdk/client-sqs') as Sqs;
  const QueueUrl = await queueUrl(sqs, task.destination);
  const floor = instrumentationOf(task.variant) === 'floor' ? floorOf(task) : undefined;
  await measureProducer(task.size, meter, batchSize, async (first, count) => {
    if (batchSize === 1) {
      const message = entry(first);
      if (!floor) return void (await sqs.send(new SendMessageCommand({ QueueUrl, ...message })));
      const { span, headers } = floor.startSend(message.MessageAttributes, sqsAttributeSetter);
      const sent = sqs.send(new SendMessageCommand({ QueueUrl, ...message, MessageAttributes: headers }));
      return void (await endWhenSent([span], sent));
    }
    const Entries: SendMessageBatchRequestEntry[] = Array.from({ length: count }, (_, i) => ({ Id: String(i), ...entry(first + i) }));
    const spans = floor
      ? Entries.map((e, i) => {
          const started = floor.startSend(e.MessageAttributes, sqsAttributeSetter);
          Entries[i] = { ...e, MessageAttributes: started.headers };
          return started.span;
        })
      : [];
    const { Failed = [] } = await endWhenSent(spans, sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries })));
    if (Failed.length > 0) throw new Error(`sqs: ${Failed.length} batch entries failed: ${Failed[0]?.Message ?? ''}`);
  });
}

async function consume(task: ChildTask, meter: Meter, sqs: SQSClient): Promise<void> {
  const { DeleteMessageBatchCommand, ReceiveMessageCommand } = load('@aws-sdk/client-sqs') as Sqs;
  const instrumentation = instrumentationOf(task.variant);
  const QueueUrl = await queueUrl(sqs, task.destination);
  const countdown = new ConsumeCountdown(task.size, meter);
  let finished = false;
  const done = countdown.done.finally(() => (finished = true));
  let bytes = 0; // the handler reads each message, as an application would
  const handle = (m: Message): void => {
    bytes += m.Body?.length ?? 0;
    countdown.add();
  };
  const floor = instrumentation === 'floor' ? floorOf(task) : undefined;
  const processMessage = instrumentation === 'brokertrace' ? (load('@brokertrace/sqs') as typeof import('@brokertrace/sqs')).processMessage : undefined;
  const perMessage: (m: Message) => void = processMessage
    ? (m) => processMessage(m, undefined, handle)
    : floor
      ? (m) => floor.process(m.MessageAttributes, () => handle(m))
      : handle;
  while (!finished) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: BATCH, MessageAttributeNames: ['All'], WaitTimeSeconds: 1 }),
    );
    if (Messages.length === 0) continue;
    // `forEach`: the peer made a process span per message by patching the array's forEach/map up to 0.57; since
    // open-telemetry/opentelemetry-js-contrib#2345 (0.79 here) it patches nothing and links every message to the
    // receive span instead (`peerRecords` below). Every variant runs this same loop.
    Messages.forEach(perMessage);
    const Entries = Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle }));
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl, Entries }));
    // The window closes on the next turn after the last handler: let it, before receiving again.
    await new Promise((resolve) => setImmediate(resolve));
  }
  await done;
  if (bytes === 0) throw new Error('sqs: the consumer read no payload');
}

export const sqs: Workload = {
  peer: '@opentelemetry/instrumentation-aws-sdk',
  peerRecordsMetrics: false, // 0.79 records no SQS metrics
  paths: ['produce-1', 'produce-10', 'consume'],
  // What 0.79 makes (dist/services/sqs.cjs): one PRODUCER span per SendMessage or SendMessageBatch call, and on
  // ReceiveMessage one CONSUMER span with a link per received message that carries a context, besides a CLIENT
  // span per DeleteMessageBatch. No span per message on consume: the comparison is with a batch-level tracer.
  peerRecords: {
    'produce-10': { spansPerMessage: 0.1, why: 'one send span per SendMessageBatch of 10' },
    consume: { spansPerMessage: 0.1, linksPerMessage: 1, why: 'a receive span per ReceiveMessage of up to 10, linking each message' },
  },
  // moto is slow and slows down as a queue fills (here: 0.2-0.5 s per SendMessageBatch and about 1 s per
  // ReceiveMessage with 600 messages queued, on 2 shared cores): a full run of FULL_SIZES would take hours.
  fullSizes: {
    'produce-1': { warmup: 500, measured: 200 },
    'produce-10': { warmup: 1000, measured: 300 },
    consume: { warmup: 50, measured: 150 },
  },

  admin(settings) {
    const { CreateQueueCommand, DeleteQueueCommand, SendMessageBatchCommand } = load('@aws-sdk/client-sqs') as Sqs;
    const admin = client(settings);
    const urls = new Map<string, string>();
    const helper: BrokerAdmin = {
      async prepare(path, queue, count) {
        const { QueueUrl } = await admin.send(new CreateQueueCommand({ QueueName: queue }));
        if (!QueueUrl) throw new Error(`sqs: CreateQueue ${queue} returned no URL`);
        urls.set(queue, QueueUrl);
        if (path !== 'consume') return;
        for (let sent = 0; sent < count; sent += BATCH) {
          const Entries = Array.from({ length: Math.min(BATCH, count - sent) }, (_, i) => {
            const e = entry(sent + i);
            return { Id: String(i), ...e, MessageAttributes: { ...e.MessageAttributes, traceparent: { DataType: 'String', StringValue: creationTraceparent() } } };
          });
          const { Failed = [] } = await admin.send(new SendMessageBatchCommand({ QueueUrl, Entries }));
          if (Failed.length > 0) throw new Error(`sqs: filling ${queue}: ${Failed[0]?.Message ?? 'entries failed'}`);
        }
      },
      async remove(queue) {
        const QueueUrl = urls.get(queue);
        urls.delete(queue);
        if (QueueUrl) await admin.send(new DeleteQueueCommand({ QueueUrl }));
      },
      close() {
        admin.destroy();
        return Promise.resolve();
      },
    };
    return Promise.resolve(helper);
  },

  installPeer() {
    const { AwsInstrumentation } = load('@opentelemetry/instrumentation-aws-sdk') as typeof import('@opentelemetry/instrumentation-aws-sdk');
    new AwsInstrumentation().enable();
  },

  async run(task, meter) {
    const plain = client(task.settings);
    const sqs = instrumentationOf(task.variant) === 'brokertrace' ? traced(plain) : plain;
    try {
      switch (task.path) {
        case 'produce-1':
          return await produce(task, meter, sqs, 1);
        case 'produce-10':
          return await produce(task, meter, sqs, BATCH);
        case 'consume':
          return await consume(task, meter, sqs);
        default:
          throw new Error(`sqs: no ${task.path} path`);
      }
    } finally {
      sqs.destroy();
    }
  },
};
