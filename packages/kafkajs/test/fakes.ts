// Minimal stand-ins for kafkajs clients: they record what they were given and answer like kafkajs does
// (RecordMetadata per topic partition), so the unit tests can check exactly what would reach the broker.
import type { ConsumerRunConfig, EachBatchPayload, EachMessagePayload, ProducerBatch, ProducerRecord, RecordMetadata } from '../src/internal-types';

type Listener = (event: { payload?: Record<string, unknown> }) => void;

/** kafkajs's event API: `on(name, listener)` returns a remover. */
export class FakeEvents {
  readonly events = { REQUEST: 'fake.network.request', GROUP_JOIN: 'fake.group_join', COMMIT_OFFSETS: 'fake.commit_offsets' };
  readonly listeners = new Map<string, Set<Listener>>();
  on(name: string, listener: Listener): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }
  emit(name: string, payload: Record<string, unknown>): void {
    for (const l of [...(this.listeners.get(name) ?? [])]) l({ payload });
  }
  listenerCount(): number {
    let n = 0;
    for (const s of this.listeners.values()) n += s.size;
    return n;
  }
}

export interface FakeProducerOptions {
  /** Partition each message goes to (default: its `partition`, else 0). */
  partitionOf?: (topic: string, index: number) => number;
  /** Makes every send reject with this error. */
  fail?: unknown;
}

/** Every call as the fake client received it. */
export interface SentBatch {
  topic: string;
  messages: ProducerRecord['messages'];
}

export function fakeProducer(options: FakeProducerOptions = {}) {
  const sent: SentBatch[] = [];
  const offsets = new Map<string, number>();
  const commits: string[] = [];
  const produce = async (topicMessages: ReadonlyArray<SentBatch>): Promise<RecordMetadata[]> => {
    await Promise.resolve();
    if (options.fail !== undefined) throw options.fail as Error;
    const byPartition = new Map<string, { topicName: string; partition: number; baseOffset: string }>();
    for (const { topic, messages } of topicMessages) {
      sent.push({ topic, messages });
      messages.forEach((m, i) => {
        const partition = options.partitionOf?.(topic, i) ?? m.partition ?? 0;
        const key = `${topic}/${partition}`;
        const next = offsets.get(key) ?? 0;
        offsets.set(key, next + 1);
        if (!byPartition.has(key)) byPartition.set(key, { topicName: topic, partition, baseOffset: String(next) });
      });
    }
    return [...byPartition.values()].map((r) => ({ ...r, errorCode: 0 }));
  };
  const events = new FakeEvents();
  const producer = {
    events: events.events,
    on: (name: string, l: Listener) => events.on(name, l),
    send: async (record: ProducerRecord) => produce([{ topic: record.topic, messages: record.messages }]),
    sendBatch: async (batch: ProducerBatch) => produce(batch.topicMessages ?? []),
    transaction: () => Promise.resolve({
      send: async (record: ProducerRecord) => produce([{ topic: record.topic, messages: record.messages }]),
      sendBatch: async (batch: ProducerBatch) => produce(batch.topicMessages ?? []),
      commit: () => Promise.resolve(void commits.push('commit')),
      abort: () => Promise.resolve(void commits.push('abort')),
      sendOffsets: () => Promise.resolve(),
      isActive: () => true,
    }),
  };
  return { producer, sent, commits, events };
}

/** A consumer whose `run` keeps the handlers; the test delivers messages through them. */
export function fakeConsumer() {
  const events = new FakeEvents();
  let config: ConsumerRunConfig | undefined;
  const committed: unknown[] = [];
  const consumer = {
    events: events.events,
    on: (name: string, l: Listener) => events.on(name, l),
    run: (c?: ConsumerRunConfig) => {
      config = c;
      return Promise.resolve();
    },
    commitOffsets: (offsets: unknown) => {
      committed.push(offsets);
      return Promise.resolve();
    },
  };
  return {
    consumer,
    events,
    committed,
    /** The config object kafkajs would have received. */
    runConfig: () => config,
    deliver: (payload: EachMessagePayload) => config!.eachMessage!(payload),
    deliverBatch: (payload: EachBatchPayload) => config!.eachBatch!(payload),
  };
}

let offset = 0;

/** A consumed message as kafkajs hands it over: Buffers for key and header values. */
export function consumed(headers: Record<string, Buffer | string | (Buffer | string)[]> = {}, over: Partial<{ offset: string; timestamp: string; key: Buffer | null; value: Buffer | null }> = {}) {
  return {
    key: over.key === undefined ? Buffer.from('k') : over.key,
    value: over.value === undefined ? Buffer.from('v') : over.value,
    timestamp: over.timestamp ?? String(Date.now()),
    offset: over.offset ?? String(offset++),
    attributes: 0,
    headers,
  };
}
