// Shared pieces of the kafkajs integration tests: a client on the harness's broker, topics, and waiting for
// messages by event (never by sleeping).
import { Kafka, logLevel } from 'kafkajs';
import type { Consumer, ConsumerConfig, KafkaMessage } from 'kafkajs';
import { kafka } from '../harness/index.js';
export { Countdown } from '../harness/countdown.js';

export async function kafkaClient(clientId: string): Promise<Kafka> {
  const { brokers } = await kafka();
  return new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING });
}

export async function createTopics(client: Kafka, topics: string[], numPartitions = 1): Promise<void> {
  const admin = client.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions })), waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/** A consumer subscribed from the beginning of `topics`, connected; the caller traces it and runs it. */
export async function subscribedConsumer(client: Kafka, topics: string[], config: Partial<ConsumerConfig> & { groupId: string }): Promise<Consumer> {
  const consumer = client.consumer({ maxWaitTimeInMs: 100, ...config });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  return consumer;
}

export function headerString(message: KafkaMessage, key: string): string | undefined {
  const value = message.headers?.[key];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}
