// Azure Service Bus through @azure/service-bus 7.9 (against the harness's emulator, or the user's namespace): one
// message per `sendMessages`, a `createMessageBatch` batch of 100 per `sendMessages`, the `subscribe()` push handler
// (automatic complete), and the pull loop of `receiveMessages` with a `completeMessage` per message.
// Service Bus entities are not created per run (the emulator has no management API): every run uses one queue
// of integration/servicebus-emulator/config.json, emptied before and after it.
import { createRequire } from 'node:module';
import type { ServiceBusClient, ServiceBusMessage, ServiceBusReceivedMessage, ServiceBusReceiver, ServiceBusSender } from '@azure/service-bus';
import { endWhenSent, Floor } from '../lib/floor.js';
import { ConsumeCountdown, measureProducer, type Meter } from '../lib/meter.js';
import { creationTraceparent, payload } from '../lib/messages.js';
import { load, type BrokerAdmin, type Workload } from '../lib/workload.js';
import { instrumentationOf, type BrokerSettings, type ChildTask } from '../lib/types.js';

type ServiceBus = typeof import('@azure/service-bus');

/** The queue every run uses (emptied before and after each run). */
export const SERVICEBUS_QUEUE = 'bench';
/** Messages per `createMessageBatch` batch on `produce-100`, and at most per `receiveMessages` on `consume-batch`. */
const BATCH = 100;
/** Handlers `subscribe()` runs at once: the client's default is 1, which waits a round trip per message. */
const MAX_CONCURRENT_CALLS = 10;

function client(settings: BrokerSettings): ServiceBusClient {
  const { ServiceBusClient } = load('@azure/service-bus') as ServiceBus;
  return new ServiceBusClient(settings.connectionString as string);
}

/** The application's own property on every message. */
function message(index: number): ServiceBusMessage {
  return { body: payload(index), applicationProperties: { app: 'bench' } };
}

const floorOf = (): Floor => new Floor('servicebus', SERVICEBUS_QUEUE, 'send');

/** Traces the client with brokertrace, as our README shows: every sender and receiver it creates. */
function traced(sb: ServiceBusClient): ServiceBusClient {
  const { traceServiceBusClient } = load('@brokertrace/service-bus') as typeof import('@brokertrace/service-bus');
  return traceServiceBusClient(sb);
}

async function produce(task: ChildTask, meter: Meter, sb: ServiceBusClient, batchSize: number): Promise<void> {
  const sender: ServiceBusSender = sb.createSender(SERVICEBUS_QUEUE);
  const floor = instrumentationOf(task.variant) === 'floor' ? floorOf() : undefined;
  try {
    await measureProducer(task.size, meter, batchSize, async (first, count) => {
      if (batchSize === 1) {
        const m = message(first);
        if (!floor) return sender.sendMessages(m);
        const { span, headers } = floor.startSend(m.applicationProperties);
        return endWhenSent([span], sender.sendMessages({ ...m, applicationProperties: headers }));
      }
      const batch = await sender.createMessageBatch();
      const spans = [];
      for (let i = first; i < first + count; i++) {
        let m = message(i);
        if (floor) {
          const started = floor.startSend(m.applicationProperties);
          m = { ...m, applicationProperties: started.headers };
          spans.push(started.span);
        }
        if (!batch.tryAddMessage(m)) throw new Error(`servicebus: message ${i} does not fit a batch of ${count}`);
      }
      await endWhenSent(spans, sender.sendMessages(batch));
    });
  } finally {
    await sender.close();
  }
}

/**
 * Waits until the queue holds no message, locked ones included (peek sees every state): a consumer's last
 * automatic completes may still be on their way when its window closes.
 */
async function untilEmpty(receiver: ServiceBusReceiver, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // From the first sequence number each time (a receiver's peeks otherwise go on from the last one peeked), as
  // the client's own `long` (it checks Long.isLong).
  const Long = createRequire(require.resolve('@azure/service-bus'))('long') as { ONE: unknown };
  const fromSequenceNumber = Long.ONE as NonNullable<Parameters<ServiceBusReceiver['peekMessages']>[1]>['fromSequenceNumber'];
  while ((await receiver.peekMessages(1, { fromSequenceNumber })).length > 0) {
    if (Date.now() > deadline) throw new Error(`servicebus: ${SERVICEBUS_QUEUE} still holds messages after ${timeoutMs / 1000}s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function consume(task: ChildTask, meter: Meter, sb: ServiceBusClient, pull: boolean): Promise<void> {
  const receiver = sb.createReceiver(SERVICEBUS_QUEUE);
  const countdown = new ConsumeCountdown(task.size, meter);
  let bytes = 0; // the handler reads each message, as an application would
  const handle = (m: ServiceBusReceivedMessage): void => {
    bytes += (m.body as Buffer).length;
    countdown.add();
  };
  const floor = instrumentationOf(task.variant) === 'floor' ? floorOf() : undefined;
  try {
    if (pull) {
      let finished = false;
      const done = countdown.done.finally(() => (finished = true));
      const perMessage = floor ? (m: ServiceBusReceivedMessage) => floor.process(m.applicationProperties, () => handle(m)) : handle;
      while (!finished) {
        const messages = await receiver.receiveMessages(BATCH, { maxWaitTimeInMs: 1000 });
        for (const m of messages) perMessage(m);
        await Promise.all(messages.map((m) => receiver.completeMessage(m)));
        // The window closes on the next turn after the last handler: let it, before receiving again.
        await new Promise((resolve) => setImmediate(resolve));
      }
      await done;
    } else {
      const processMessage = (m: ServiceBusReceivedMessage): Promise<void> => {
        handle(m);
        return Promise.resolve();
      };
      let failed: (error: unknown) => void = () => undefined;
      const failure = new Promise<never>((_, reject) => (failed = reject));
      failure.catch(() => undefined); // an error after the window closed has nobody waiting for it
      const subscription = receiver.subscribe(
        {
          processMessage: floor ? (m) => floor.process(m.applicationProperties, () => processMessage(m)) : processMessage,
          // Any error the client reports fails the run (a retried link would make the figures meaningless).
          processError: (args) => Promise.resolve(failed(args.error)),
        },
        { maxConcurrentCalls: MAX_CONCURRENT_CALLS },
      );
      try {
        await Promise.race([countdown.done, failure]);
      } finally {
        await subscription.close();
      }
    }
    await untilEmpty(receiver);
  } finally {
    await receiver.close();
  }
  if (bytes === 0) throw new Error('servicebus: the consumer read no payload');
}

/** Removes every message the queue holds (receive-and-delete until a receive comes back empty). */
async function drain(sb: ServiceBusClient): Promise<void> {
  const receiver = sb.createReceiver(SERVICEBUS_QUEUE, { receiveMode: 'receiveAndDelete' });
  try {
    while ((await receiver.receiveMessages(500, { maxWaitTimeInMs: 300 })).length > 0);
    await untilEmpty(receiver);
  } finally {
    await receiver.close();
  }
}

export const servicebus: Workload = {
  peer: '@azure/opentelemetry-instrumentation-azure-sdk',
  peerRecordsMetrics: false, // Azure's instrumentation records no metrics
  paths: ['produce-1', 'produce-100', 'consume', 'consume-batch'],
  // The emulator (TypeScript on rhea, on the same cores) handles a few hundred to a few thousand messages a second.
  fullSizes: {
    'produce-1': { warmup: 2000, measured: 800 },
    'produce-100': { warmup: 500, measured: 3000 },
    consume: { warmup: 1000, measured: 2000 },
    'consume-batch': { warmup: 1000, measured: 2000 },
  },

  admin(settings) {
    const admin = client(settings);
    const helper: BrokerAdmin = {
      async prepare(path, _destination, count) {
        await drain(admin);
        if (!path.startsWith('consume')) return;
        const sender = admin.createSender(SERVICEBUS_QUEUE);
        try {
          for (let sent = 0; sent < count; ) {
            const batch = await sender.createMessageBatch();
            for (; sent < count && batch.count < 500; sent++) {
              // Both keys, as a producer traced by brokertrace writes them (writeDiagnosticId, the default): Azure's
              // tracing reads only Diagnostic-Id, brokertrace traceparent first.
              const traceparent = creationTraceparent();
              const m = message(sent);
              if (!batch.tryAddMessage({ ...m, applicationProperties: { ...m.applicationProperties, traceparent, 'Diagnostic-Id': traceparent } })) break;
            }
            await sender.sendMessages(batch);
          }
        } finally {
          await sender.close();
        }
      },
      async remove() {
        await drain(admin);
      },
      async close() {
        await admin.close();
      },
    };
    return Promise.resolve(helper);
  },

  installPeer() {
    // As Azure's README shows: registered before the client library (and its @azure/core-tracing) is loaded.
    const { registerInstrumentations } = load('@opentelemetry/instrumentation') as typeof import('@opentelemetry/instrumentation');
    const { createAzureSdkInstrumentation } = load('@azure/opentelemetry-instrumentation-azure-sdk') as typeof import('@azure/opentelemetry-instrumentation-azure-sdk');
    registerInstrumentations({ instrumentations: [createAzureSdkInstrumentation()] });
  },

  async run(task, meter) {
    const plain = client(task.settings);
    const sb = instrumentationOf(task.variant) === 'brokertrace' ? traced(plain) : plain;
    try {
      switch (task.path) {
        case 'produce-1':
          return await produce(task, meter, sb, 1);
        case 'produce-100':
          return await produce(task, meter, sb, BATCH);
        case 'consume':
          return await consume(task, meter, sb, false);
        case 'consume-batch':
          return await consume(task, meter, sb, true);
        default:
          throw new Error(`servicebus: no ${task.path} path`);
      }
    } finally {
      await sb.close();
    }
  },
};
