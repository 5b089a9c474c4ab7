// The brokertrace demo: one order through Kafka and RabbitMQ, traced end to end with real brokers.
//
//   checkout ──Kafka "orders"──▶ billing ──RabbitMQ "notifications"──▶ email, sms      (one trace: child)
//   an order replayed from an archive, one hour old                                    (its own trace: link, stale)
//   a notification that fails four times and is requeued                               (child ×3, then link, redelivered)
//
// Brokers come from the integration harness (your endpoint, Docker, or a native server it starts).
// Run: scripts/pnpm demo   (add OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 to see it in Jaeger too)
import { trace } from '@opentelemetry/api';
import { connect } from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';
import { traceConnection } from '@brokertrace/amqplib';
import { traceConsumer, traceProducer } from '@brokertrace/kafkajs';
import { cleanUpBrokers, startBroker } from '../integration/harness/standalone';
import { printTraces } from './print';
import { startTracing } from './tracing';

const HOUR_MS = 3_600_000;

/** Resolves when `count` calls to `tick` have happened. */
function countdown(count: number): { tick(): void; done: Promise<void> } {
  let left = count;
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  return { tick: () => void (--left === 0 && resolve()), done };
}

// kafkajs 2.2.4 sets a negative timeout on Node >= 24, which Node reports as a warning: harmless, and noise here.
process.removeAllListeners('warning').on('warning', (warning) => {
  if (warning.name !== 'TimeoutNegativeWarning') console.warn(warning);
});

async function main(): Promise<void> {
  const tracing = startTracing('brokertrace-demo');
  console.log('Starting Kafka and RabbitMQ...');
  const [kafkaBroker, rabbitBroker] = await Promise.all([startBroker('kafka'), startBroker('rabbitmq')]);
  console.log(`Kafka (${kafkaBroker.source}, ${kafkaBroker.startSeconds.toFixed(1)} s) and RabbitMQ (${rabbitBroker.source}, ${rabbitBroker.startSeconds.toFixed(1)} s) are up.`);
  try {
    const kafka = new Kafka({ clientId: 'demo', brokers: kafkaBroker.settings.brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'orders' }], waitForLeaders: true });
    await admin.disconnect();

    const rabbit = traceConnection(await connect(rabbitBroker.settings.url));
    const channel = await rabbit.createChannel();
    await channel.assertExchange('notifications', 'topic', { durable: false });
    await channel.assertQueue('email', { durable: false });
    await channel.assertQueue('sms', { durable: false });
    // A quorum queue counts deliveries (x-delivery-count); a classic one only says "redelivered".
    await channel.assertQueue('retries', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await channel.purgeQueue('retries');
    await channel.bindQueue('email', 'notifications', 'order.*');
    await channel.bindQueue('sms', 'notifications', 'order.*');

    const delivered = countdown(2 + 2 + 5); // email + sms for each of 2 orders, 5 deliveries on `retries`
    for (const queue of ['email', 'sms']) {
      await channel.consume(queue, (msg) => {
        if (!msg) return;
        channel.ack(msg);
        delivered.tick();
      });
    }
    let attempts = 0;
    await channel.consume('retries', (msg) => {
      if (!msg) return;
      attempts += 1;
      if (attempts < 5) channel.nack(msg, false, true); // the handler fails: back to the queue
      else channel.ack(msg);
      delivered.tick();
    });

    // billing: consumes orders, publishes a notification for each.
    const consumer = traceConsumer(kafka.consumer({ groupId: 'billing', maxWaitTimeInMs: 100 }));
    await consumer.connect();
    await consumer.subscribe({ topic: 'orders', fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        await Promise.resolve(); // the billing work
        channel.publish('notifications', 'order.created', Buffer.from(message.value ?? ''));
      },
    });

    const producer = traceProducer(kafka.producer());
    await producer.connect();
    const tracer = trace.getTracer('demo');
    await tracer.startActiveSpan('checkout', async (span) => {
      await producer.send({ topic: 'orders', messages: [{ key: 'order-1', value: '{"order":1,"total":42}' }] });
      span.end();
    });
    // Replayed from an archive: the record's timestamp says it was created an hour ago.
    await tracer.startActiveSpan('archive replay', async (span) => {
      const timestamp = String(Date.now() - HOUR_MS);
      await producer.send({ topic: 'orders', messages: [{ key: 'order-0', value: '{"order":0,"total":7}', timestamp }] });
      span.end();
    });
    tracer.startActiveSpan('retry demo', (span) => {
      channel.sendToQueue('retries', Buffer.from('flaky'));
      span.end();
    });

    await delivered.done;
    await consumer.disconnect();
    await producer.disconnect();
    await rabbit.close();
  } finally {
    await Promise.all([kafkaBroker.stop(), rabbitBroker.stop()]);
    cleanUpBrokers();
  }

  const spans = tracing.spans();
  await tracing.shutdown(); // flushes the OTLP export, when there is one
  console.log('\nTraces (decision, reason, message age and delivery count on every consumer span):');
  printTraces(spans);
  if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT) console.log(`\nAlso exported to ${process.env.OTEL_EXPORTER_OTLP_ENDPOINT}.`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
