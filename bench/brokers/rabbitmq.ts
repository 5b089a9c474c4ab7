// RabbitMQ through amqplib (promise API): publishes on a confirm channel to the default exchange, so each
// send is acknowledged by the broker before it counts; consumes with manual acks.
import type { ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { end, Floor } from '../lib/floor.js';
import { ConsumeCountdown, measureProducer, type Meter } from '../lib/meter.js';
import { creationTraceparent, payload } from '../lib/messages.js';
import { load, type BrokerAdmin, type Workload } from '../lib/workload.js';
import { instrumentationOf, type ChildTask } from '../lib/types.js';

// Unacked messages the broker may push to the consumer at once (a common production setting).
const PREFETCH = 100;

interface PublishOptions {
  messageId: string;
  timestamp: number;
  contentType: string;
  headers?: Record<string, unknown>;
}

function publishOptions(index: number): PublishOptions {
  return { messageId: `msg-${index}`, timestamp: Math.floor(Date.now() / 1000), contentType: 'application/json' };
}

type Publish = (index: number, confirmed?: (error: Error | null | undefined) => void) => void;

/**
 * Publishes message `index` to `queue` through the default exchange; with `floor`, under a PRODUCER span
 * ended on the broker's confirm, its context in a copy of the headers (the options object is the caller's).
 */
function publisher(channel: ConfirmChannel, queue: string, floor: Floor | undefined): Publish {
  if (!floor) return (index, confirmed) => void channel.publish('', queue, payload(index), publishOptions(index), confirmed);
  return (index, confirmed) => {
    const options = publishOptions(index);
    const { span, headers } = floor.startSend(options.headers);
    try {
      channel.publish('', queue, payload(index), { ...options, headers }, (error: Error | null | undefined) => {
        end(span, error);
        confirmed?.(error);
      });
    } catch (error) {
      end(span, error);
      throw error;
    }
  };
}

async function connect(url: string): Promise<ChannelModel> {
  const amqp = load('amqplib') as typeof import('amqplib');
  return amqp.connect(url);
}

/** Publishes one message and waits for the broker's confirm. */
function publishConfirmed(publish: Publish, index: number): Promise<void> {
  return new Promise((resolve, reject) => {
    publish(index, (error) => (error ? reject(error) : resolve()));
  });
}

const floorOf = (task: ChildTask): Floor => new Floor('rabbitmq', task.destination, 'publish');

async function produce(task: ChildTask, meter: Meter, connection: ChannelModel, batchSize: number): Promise<void> {
  const instrumentation = instrumentationOf(task.variant);
  let channel = await connection.createConfirmChannel();
  if (instrumentation === 'brokertrace') {
    const { traceChannel } = load('@brokertrace/amqplib') as typeof import('@brokertrace/amqplib');
    channel = traceChannel(channel);
  }
  const publish = publisher(channel, task.destination, instrumentation === 'floor' ? floorOf(task) : undefined);
  await measureProducer(task.size, meter, batchSize, async (first, count) => {
    if (count === 1) return publishConfirmed(publish, first);
    for (let i = first; i < first + count; i++) publish(i);
    await channel.waitForConfirms();
  });
  await channel.close();
}

async function consume(task: ChildTask, meter: Meter, connection: ChannelModel): Promise<void> {
  const instrumentation = instrumentationOf(task.variant);
  let channel = await connection.createChannel();
  if (instrumentation === 'brokertrace') {
    const { traceChannel } = load('@brokertrace/amqplib') as typeof import('@brokertrace/amqplib');
    channel = traceChannel(channel);
  }
  await channel.prefetch(PREFETCH);
  const countdown = new ConsumeCountdown(task.size, meter);
  let bytes = 0; // the handler reads each message, as an application would
  const handle = (message: ConsumeMessage | null): void => {
    if (message === null) return;
    bytes += message.content.length;
    channel.ack(message);
    countdown.add();
  };
  const floor = instrumentation === 'floor' ? floorOf(task) : undefined;
  await channel.consume(
    task.destination,
    floor ? (message: ConsumeMessage | null) => (message === null ? undefined : floor.process(message.properties.headers, () => handle(message))) : handle,
  );
  await countdown.done;
  await channel.close();
  if (bytes === 0) throw new Error('rabbitmq: the consumer read no payload');
}

export const rabbitmq: Workload = {
  peer: '@opentelemetry/instrumentation-amqplib',
  peerRecordsMetrics: false, // 0.71 records none
  paths: ['produce-1', 'produce-100', 'consume'],

  async admin(settings) {
    const connection = await connect(settings.url as string);
    const channel = await connection.createConfirmChannel();
    const helper: BrokerAdmin = {
      async prepare(path, queue, count) {
        await channel.assertQueue(queue, { durable: false });
        if (path !== 'consume') return;
        for (let sent = 0; sent < count; sent += 100) {
          for (let i = sent; i < Math.min(sent + 100, count); i++) {
            channel.publish('', queue, payload(i), { ...publishOptions(i), headers: { traceparent: creationTraceparent() } });
          }
          await channel.waitForConfirms();
        }
      },
      async remove(queue) {
        await channel.deleteQueue(queue);
      },
      async close() {
        await connection.close();
      },
    };
    return helper;
  },

  installPeer() {
    const { AmqplibInstrumentation } = load('@opentelemetry/instrumentation-amqplib') as typeof import('@opentelemetry/instrumentation-amqplib');
    new AmqplibInstrumentation().enable();
  },

  async run(task, meter) {
    const connection = await connect(task.settings.url as string);
    try {
      switch (task.path) {
        case 'produce-1':
          return await produce(task, meter, connection, 1);
        case 'produce-100':
          return await produce(task, meter, connection, 100);
        case 'consume':
          return await consume(task, meter, connection);
        case 'consume-batch':
          throw new Error('rabbitmq: amqplib has no batch consume API');
      }
    } finally {
      await connection.close();
    }
  },
};
