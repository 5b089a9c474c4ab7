// Kafka pieces of the reliability tests: clients on the harness's broker, the test messages, and a consumer
// that records every delivery.
import { Kafka, logLevel } from 'kafkajs';
import type { Consumer, EachMessagePayload, IHeaders, Message, Producer } from 'kafkajs';
import { kafka, uniqueName } from '../harness/index';
import { bytesDiff, payloadOf } from './support';

export async function kafkaClient(clientId: string): Promise<Kafka> {
  const { brokers } = await kafka();
  // BROKERTRACE_KAFKA_LOG=1 shows kafkajs's own log (reconnects, rebalances) when a test needs explaining.
  return new Kafka({ clientId, brokers, logLevel: process.env.BROKERTRACE_KAFKA_LOG === '1' ? logLevel.INFO : logLevel.NOTHING });
}

export async function createTopic(client: Kafka, prefix: string, partitions: number): Promise<string> {
  const topic = uniqueName(prefix);
  const admin = client.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
  return topic;
}

/** The context keys an instrumented producer may add; everything else must arrive as the user sent it. */
export const CONTEXT_KEYS = new Set(['traceparent', 'tracestate', 'baggage']);

/**
 * Message `i`: keys of several shapes (string, binary with invalid UTF-8, empty), payloads of 0-2 KiB with every
 * byte value, an occasional tombstone, and user headers of every kind kafkajs sends: strings, bytes, repeated
 * keys, an empty value, a key differing only in case from ours.
 */
export function kafkaMessage(i: number): Message {
  const headers: IHeaders = { 'x-index': String(i), 'x-bin': Buffer.from([0xff, 0xfe, i & 0xff, 0x00]), 'x-empty': '' };
  if (i % 3 === 0) headers['x-repeated'] = ['first', Buffer.from(`second-${i}`)];
  if (i % 7 === 0) headers.TraceParent = 'user-owned header, not ours';
  const key = i % 11 === 0 ? Buffer.from([0xc0, 0xb0, i & 0xff]) : i % 13 === 0 ? '' : `key-${i % 64}`;
  return { key, value: i % 500 === 7 ? null : payloadOf(i), headers };
}

export interface KafkaDelivery {
  index: number;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

function asBuffer(v: Buffer | string | null | undefined): Buffer | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? Buffer.from(v) : v;
}

/** Names every way a delivery differs from what message `index` was (empty when it is exact). */
export function kafkaDiffs(d: KafkaDelivery): string[] {
  const sent = kafkaMessage(d.index);
  const out: string[] = [];
  const key = bytesDiff(`#${d.index} key`, asBuffer(sent.key), d.key);
  if (key) out.push(key);
  const value = bytesDiff(`#${d.index} value`, asBuffer(sent.value), d.value);
  if (value) out.push(value);
  const sentHeaders = sent.headers ?? {};
  const userKeys = Object.keys(d.headers).filter((k) => !CONTEXT_KEYS.has(k));
  if (userKeys.sort().join() !== Object.keys(sentHeaders).sort().join()) out.push(`#${d.index} header keys: sent ${Object.keys(sentHeaders).sort().join()}, got ${userKeys.join()}`);
  for (const k of Object.keys(sentHeaders)) {
    const expected = sentHeaders[k];
    const got = d.headers[k];
    const e = Array.isArray(expected) ? expected : [expected];
    const g = Array.isArray(got) ? got : [got];
    if (e.length !== g.length) out.push(`#${d.index} header ${k}: ${e.length} values sent, ${g.length} received`);
    else e.forEach((v, j) => {
      const diff = bytesDiff(`#${d.index} header ${k}[${j}]`, asBuffer(v), asBuffer(g[j]));
      if (diff) out.push(diff);
    });
  }
  return out;
}

/** Sends messages `from..to-1` in chunks, alternating `send` and `sendBatch`; resolves with every answer. */
export async function sendRange(producer: Producer, topic: string, from: number, to: number, chunk = 500): Promise<unknown[]> {
  const answers: unknown[] = [];
  for (let start = from, n = 0; start < to; start += chunk, n++) {
    const messages = Array.from({ length: Math.min(chunk, to - start) }, (_, j) => kafkaMessage(start + j));
    answers.push(n % 2 === 0 ? await producer.send({ topic, messages }) : await producer.sendBatch({ topicMessages: [{ topic, messages }] }));
  }
  return answers;
}

export function deliveryOf(p: EachMessagePayload): KafkaDelivery {
  const { message, partition } = p;
  const index = Number(asBuffer(message.headers?.['x-index'] as Buffer | undefined)?.toString());
  return { index, partition, offset: message.offset, key: message.key, value: message.value, headers: message.headers ?? {} };
}

export async function subscribed(client: Kafka, topic: string, groupPrefix: string): Promise<Consumer> {
  const consumer = client.consumer({ groupId: uniqueName(groupPrefix), maxWaitTimeInMs: 100, retry: { retries: 2, initialRetryTime: 100 } });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  return consumer;
}

/** Checks a run: every index 0..n-1 exactly once, in order per partition, each exactly as sent. */
export function checkExactlyOnceInOrder(deliveries: KafkaDelivery[], n: number): { diffs: string[]; perPartition: Map<number, number> } {
  const diffs: string[] = [];
  const seen = new Set<number>();
  const last = new Map<number, number>();
  const perPartition = new Map<number, number>();
  for (const d of deliveries) {
    if (!Number.isInteger(d.index) || d.index < 0 || d.index >= n) diffs.push(`unexpected message ${d.index}`);
    if (seen.has(d.index)) diffs.push(`#${d.index} delivered twice`);
    seen.add(d.index);
    const previous = last.get(d.partition) ?? -1;
    if (d.index <= previous) diffs.push(`#${d.index} after #${previous} on partition ${d.partition}`);
    last.set(d.partition, d.index);
    perPartition.set(d.partition, (perPartition.get(d.partition) ?? 0) + 1);
    diffs.push(...kafkaDiffs(d));
  }
  if (seen.size !== n) diffs.push(`${n - seen.size} of ${n} messages missing`);
  return { diffs: diffs.slice(0, 20), perPartition };
}
