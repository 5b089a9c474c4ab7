// RabbitMQ through amqplib (promise API): publishes on a confirm channel to the default exchange, so each
// send is acknowledged by the broker before it counts; consumes with manual acks.
import type { ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { ConsumeCountdown, measureProducer, type Meter } from '../lib/meter.js';
import { creationTraceparent, payload } from '../lib/messages.js';
import { load, type BrokerAdmin, type Workload } from '../lib/workload.js';
import type { ChildTask } from '../lib/types.js';

// Unacked messages the broker may push to the consumer at once (a common production setting).
const PREFETCH = 100;

function publishOptions(index: number): { messageId: string; timestamp: number; contentType: string } {
  return { messageId: `msg-${index}`, timestamp: Math.floor(Date.now() / 1000), contentType: 'application/json' };
}

async function connect(url: string): Promise<ChannelModel> {
  const amqp = load('amqplib') as typeof import('amqplib');
  return amqp.connect(url);
}

/** Publishes one message and waits for the broker's confirm. */
function publishConfirmed(channel: ConfirmChannel, queue: string, index: number): Promise<void> {
  return new Promise((resolve, reject) => {
    channel.publish('', queue, payload(index), publishOptions(index), (error) => (error ? reject(error as Error) : resolve()));
  });
}

async function produce(task: ChildTask, meter: Meter, connection: ChannelModel, batchSize: number): Promise<void> {
  let channel = await connection.createConfirmChannel();
  if (task.variant === 'brokertrace') {
    const { traceChannel } = load('@brokertrace/amqplib') as typeof import('@brokertrace/amqplib');
    channel = traceChannel(channel);
  }
  await measureProducer(task.size, meter, batchSize, async (first, count) => {
    if (count === 1) return publishConfirmed(channel, task.destination, first);
    for (let i = first; i < first + count; i++) channel.publish('', task.destination, payload(i), publishOptions(i));
    await channel.waitForConfirms();
  });
  await channel.close();
}

async function consume(task: ChildTask, meter: Meter, connection: ChannelModel): Promise<void> {
  let channel = await connection.createChannel();
  if (task.variant === 'brokertrace') {
    const { traceChannel } = load('@brokertrace/amqplib') as typeof import('@brokertrace/amqplib');
    channel = traceChannel(channel);
  }
  await channel.prefetch(PREFETCH);
  const countdown = new ConsumeCountdown(task.size, meter);
  let bytes = 0; // the handler reads each message, as an application would
  await channel.consume(task.destination, (message: ConsumeMessage | null) => {
    if (message === null) return;
    bytes += message.content.length;
    channel.ack(message);
    countdown.add();
  });
  await countdown.done;
  await channel.close();
  if (bytes === 0) throw new Error('rabbitmq: the consumer read no payload');
}

export const rabbitmq: Workload = {
  peer: '@opentelemetry/instrumentation-amqplib',
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
