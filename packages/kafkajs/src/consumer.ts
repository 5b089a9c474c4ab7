// Consumer side: a process span per message of `eachMessage`; for `eachBatch` one span over the handler linked
// to every message (and `traceBatchMessage` for a process span per message under it); delivery counts from
// offsets this consumer has been handed before; settle spans for commits, explicit and automatic.
import { ROOT_CONTEXT } from '@opentelemetry/api';
import type { Attributes, Context } from '@opentelemetry/api';
import {
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_KAFKA_OFFSET,
  DeliveryCounter,
} from '@brokertrace/core';
import type { MessageFacts, SettleStart } from '@brokertrace/core';
import { ATTR_BROKERTRACE_KAFKA_COMMIT_PARTITIONS, clientAttributes, messageAttributes, offsetNumber } from './attributes.js';
import { listen } from './client-info.js';
import type { ClientInfo } from './client-info.js';
import { log } from './diag.js';
import { consumedFacts } from './facts.js';
import type {
  CommitOffset,
  ConsumedBatch,
  ConsumedMessage,
  ConsumerRunConfig,
  EachBatchPayload,
  EachMessagePayload,
} from './internal-types.js';
import type { KafkaTracing } from './tracing.js';

/** Per traced consumer: what it is, and which offsets it has been handed. */
export interface ConsumerState {
  readonly tracing: KafkaTracing;
  readonly info: ClientInfo;
  /** The highest offset handed over, per topic and partition: kafkajs hands a partition's offsets in order. */
  readonly highest: Map<string, number[]>;
  /** Offsets handed over again (at or below the highest), with how often: only re-deliveries are kept. */
  readonly redeliveries: DeliveryCounter;
  /** Inside our `commitOffsets` wrapper: its own span covers the commit, the commit event must not add one. */
  explicitCommits: number;
}

export function createConsumerState(tracing: KafkaTracing, info: ClientInfo): ConsumerState {
  return {
    tracing,
    info,
    highest: new Map(),
    redeliveries: new DeliveryCounter(tracing.options.deliveryTracking, 'deliveryTracking'),
    explicitCommits: 0,
  };
}

/**
 * How many times this consumer has been handed this offset, 1 the first time; `record: false` only looks (what
 * the count would be). The common case (an offset past the partition's highest so far) costs two array reads and
 * no allocation; a re-seen offset (the handler threw, a rebalance, a seek back) is counted in the bounded memory.
 */
function handOverCount(state: ConsumerState, topic: string, partition: number, offset: string, record = true): number {
  const n = Number(offset);
  if (!Number.isSafeInteger(n)) return redelivered(state, topic, partition, offset, record);
  let byPartition = state.highest.get(topic);
  if (byPartition === undefined) {
    if (!record) return 1;
    state.highest.set(topic, (byPartition = []));
  }
  const highest = byPartition[partition];
  if (highest === undefined || n > highest) {
    if (record) byPartition[partition] = n;
    return 1;
  }
  // A re-delivery: the memory counts re-deliveries only (1 the first time), so this is its count + 1.
  return 1 + redelivered(state, topic, partition, offset, record);
}

/** The bounded memory's count for this offset of this group, recorded (or, `record: false`, as it would be). */
function redelivered(state: ConsumerState, topic: string, partition: number, offset: string, record: boolean): number {
  const key = `${state.info.groupId ?? ''}/${topic}/${partition}/${offset}`;
  return record ? state.redeliveries.record(key) : state.redeliveries.peek(key) + 1;
}

/** The facts of one message handed over (its delivery recorded); `seen`: its hand-over count, when known. */
function deliveryFacts(state: ConsumerState, topic: string, partition: number, message: ConsumedMessage, seen?: number): MessageFacts {
  return consumedFacts({
    topic,
    partition,
    offset: message.offset,
    timestamp: message.timestamp,
    headers: message.headers,
    seenCount: seen ?? handOverCount(state, topic, partition, message.offset),
    markers: state.tracing.options.markers,
  });
}

/** A message's facts read before it is handed over, and the hand-over count they assume (not recorded). */
interface Preview {
  readonly facts: MessageFacts;
  readonly seen: number;
}

function preview(state: ConsumerState, topic: string, partition: number, message: ConsumedMessage): Preview {
  const seen = handOverCount(state, topic, partition, message.offset, false);
  return { facts: deliveryFacts(state, topic, partition, message, seen), seen };
}

function consumerAttributes(state: ConsumerState, attributes: Attributes): Attributes {
  const { tracing, info } = state;
  return clientAttributes(tracing.options.clientId ?? info.clientId, info.clusterId(), attributes);
}

function processAttributes(state: ConsumerState, partition: number, message: ConsumedMessage): Attributes {
  const attributes = consumerAttributes(state, { [ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(partition) });
  const offset = offsetNumber(message.offset);
  if (offset !== undefined) attributes[ATTR_MESSAGING_KAFKA_OFFSET] = offset;
  return messageAttributes(message, state.tracing.options.captureMessageKey, attributes);
}

/**
 * Runs `handler` inside a process span for one message; the span ends when the handler's promise settles.
 * `batchContext`: the message belongs to a traced `eachBatch` whose span is in that context (the parent).
 */
function processMessage<R>(
  state: ConsumerState,
  topic: string,
  partition: number,
  message: ConsumedMessage,
  facts: MessageFacts,
  handler: () => R,
  batchContext?: Context,
): R {
  const { telemetry, options } = state.tracing;
  let started: ReturnType<typeof telemetry.startProcess>;
  try {
    started = telemetry.startProcess({
      destination: topic,
      // kafkajs's fetch loop carries whatever context `run()` was called in: never a parent for its messages.
      // Inside a traced batch, the batch span is the parent (the message is linked to its creation context).
      parent: batchContext ?? ROOT_CONTEXT,
      inBatch: batchContext !== undefined,
      facts,
      carrier: message.headers,
      // Key, offset and client id only on a span that records (an unsampled message decodes no key); the
      // partition, group and broker reach samplers through the metric attributes.
      recordedAttributes: () => processAttributes(state, partition, message),
      metricAttributes: state.info.metricAttributes(partition),
    });
    telemetry.runHook(options.consumerHook, started.span, { topic, partition, message });
  } catch (err) {
    log.error('message left untraced', err);
    return handler();
  }
  return telemetry.run(started.span, handler, started.context);
}

function isMessage(value: unknown): value is ConsumedMessage {
  return value !== null && typeof value === 'object' && typeof (value as ConsumedMessage).offset === 'string';
}

type EachMessage = (this: unknown, payload: EachMessagePayload) => Promise<void>;
type EachBatch = (this: unknown, payload: EachBatchPayload) => Promise<void>;

function traceEachMessage(state: ConsumerState, handler: EachMessage): EachMessage {
  return function eachMessage(this: unknown, payload: EachMessagePayload): Promise<void> {
    const { tracing } = state;
    if (!tracing.isActive() || payload === null || typeof payload !== 'object' || !isMessage(payload.message)) {
      return handler.call(this, payload);
    }
    const { topic, partition, message } = payload;
    if (tracing.telemetry.isIgnored(topic)) return handler.call(this, payload);
    let facts: MessageFacts;
    try {
      state.info.refresh();
      facts = deliveryFacts(state, topic, partition, message);
    } catch (err) {
      log.error('message left untraced', err);
      return handler.call(this, payload);
    }
    return processMessage(state, topic, partition, message, facts, () => handler.call(this, payload));
  };
}

/**
 * One traced `eachBatch` call. A message counts as handed over (its delivery recorded) when the application
 * processes it (`traceBatchMessage`) or resolves its offset, or when the handler succeeded with auto-resolve on,
 * not when the batch arrives: kafkajs fetches the unresolved tail again after an early return or a rebalance,
 * and that must not look like a redelivery.
 */
export class BatchTrace {
  private readonly facts = new Map<ConsumedMessage, MessageFacts>();
  /** Index of the first message not yet counted, in the batch's offset order (counted in order). */
  private next = 0;

  /** `previews`: each message's facts as read for the batch span's links, reused when it is handed over. */
  constructor(
    readonly state: ConsumerState,
    readonly batch: ConsumedBatch,
    readonly context: Context,
    private readonly previews: ReadonlyMap<ConsumedMessage, Preview> = new Map(),
  ) {}

  /** Counts `message` (and any earlier one not counted yet) as handed over; its facts. */
  deliver(message: ConsumedMessage): MessageFacts {
    const known = this.facts.get(message);
    if (known !== undefined) return known;
    const { messages } = this.batch;
    const at = messages.indexOf(message, this.next);
    if (at >= 0) this.countUpTo(at);
    return this.facts.get(message) ?? this.count(message);
  }

  /** The application resolved `offset`: every message up to it has been processed. */
  resolved(offset: unknown): void {
    const upTo = typeof offset === 'string' || typeof offset === 'number' ? Number(offset) : NaN;
    if (Number.isNaN(upTo)) return;
    const { messages } = this.batch;
    let last = this.next - 1;
    for (let i = this.next; i < messages.length; i++) {
      const m = messages[i];
      if (isMessage(m) && Number(m.offset) <= upTo) last = i;
      else break;
    }
    this.countUpTo(last);
  }

  /** The handler succeeded and kafkajs resolves the whole batch (`eachBatchAutoResolve`, the default). */
  resolvedAll(): void {
    this.countUpTo(this.batch.messages.length - 1);
  }

  private countUpTo(index: number): void {
    const { messages } = this.batch;
    for (; this.next <= index; this.next++) {
      const m = messages[this.next];
      if (isMessage(m) && !this.facts.has(m)) this.count(m);
    }
  }

  private count(message: ConsumedMessage): MessageFacts {
    const { state, batch } = this;
    const previewed = this.previews.get(message);
    let facts: MessageFacts;
    if (previewed === undefined) {
      facts = deliveryFacts(state, batch.topic, batch.partition, message);
    } else {
      // The headers were read for the links: only the hand-over count is recorded now, and it may have moved.
      const seen = handOverCount(state, batch.topic, batch.partition, message.offset);
      facts = seen === previewed.seen ? previewed.facts : { ...previewed.facts, deliveryCount: (previewed.facts.deliveryCount ?? previewed.seen) - previewed.seen + seen };
    }
    this.facts.set(message, facts);
    return facts;
  }
}

/**
 * The traced batches, by batch object, shared by every copy of this package loaded in the process (the CJS and
 * ESM builds, or two versions): `traceBatchMessage` from one copy finds a batch traced by the other.
 */
const BATCHES_KEY = Symbol.for('@brokertrace/kafkajs.batches.v1');

function batches(): WeakMap<object, BatchTrace> {
  const holder = globalThis as { [BATCHES_KEY]?: WeakMap<object, BatchTrace> };
  return (holder[BATCHES_KEY] ??= new WeakMap());
}

function traceEachBatch(state: ConsumerState, handler: EachBatch, autoResolve: boolean): EachBatch {
  return function eachBatch(this: unknown, payload: EachBatchPayload): Promise<void> {
    const { tracing } = state;
    const batch = payload?.batch;
    if (!tracing.isActive() || batch === null || typeof batch !== 'object' || !Array.isArray(batch.messages)) {
      return handler.call(this, payload);
    }
    const { topic, partition, messages } = batch;
    if (tracing.telemetry.isIgnored(topic)) return handler.call(this, payload);
    let started: ReturnType<typeof tracing.telemetry.startBatch>;
    let trace: BatchTrace;
    let traced: EachBatchPayload = payload;
    try {
      state.info.refresh();
      const links = new Array<{ facts: MessageFacts; carrier: unknown }>();
      const previews = new Map<ConsumedMessage, Preview>();
      for (const message of messages) {
        if (!isMessage(message)) continue;
        // What its delivery count will be once handed over; recorded only then (see BatchTrace).
        const previewed = preview(state, topic, partition, message);
        previews.set(message, previewed);
        const { facts } = previewed;
        // A Kafka record is named by its partition and offset (there is no message id to make up). A batch is one
        // partition's: the batch span says which, and each link only its offset (the SDK copies every link
        // attribute before sampling, so a repeated one costs every message).
        const offset = offsetNumber(message.offset);
        links.push({ facts: offset === undefined ? facts : { ...facts, linkAttributes: { [ATTR_MESSAGING_KAFKA_OFFSET]: offset } }, carrier: message.headers });
      }
      // A push API: the span covers the handler (CONSUMER `process`, recorded in messaging.process.duration).
      started = tracing.telemetry.startBatch({
        operationType: 'process',
        destination: topic,
        parent: ROOT_CONTEXT,
        messages: links,
        attributes: consumerAttributes(state, { [ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(partition) }),
        metricAttributes: state.info.metricAttributes(partition),
      });
      tracing.telemetry.runHook(tracing.options.batchHook, started.span, { topic, partition, messages });
      trace = new BatchTrace(state, batch, started.context, previews);
      batches().set(batch, trace);
      const resolveOffset = (payload as { resolveOffset?: unknown }).resolveOffset;
      if (typeof resolveOffset === 'function') {
        // A copy of the payload (its functions are closures over kafkajs's runner): the caller's object is untouched.
        traced = {
          ...payload,
          resolveOffset(this: unknown, offset: unknown): unknown {
            try {
              trace.resolved(offset);
            } catch (err) {
              log.debug('could not count a resolved offset', err);
            }
            return (resolveOffset as (this: unknown, offset: unknown) => unknown).call(this, offset);
          },
        } as EachBatchPayload;
      }
    } catch (err) {
      log.error('batch left untraced', err);
      return handler.call(this, payload);
    }
    const result = tracing.telemetry.run(started.span, () => handler.call(this, traced), started.context);
    if (!autoResolve) return result;
    return Promise.resolve(result).then((value) => {
      try {
        trace.resolvedAll();
      } catch (err) {
        log.debug('could not count a resolved batch', err);
      }
      return value;
    });
  };
}

/**
 * Runs `handler` for one message of a traced `eachBatch` inside its own `process` span, a child of the batch's
 * span (linked to the message's creation context), so per-message work inside a batch handler gets its own
 * timing and its place in the trace. Counts the message as handed over (a message the handler never gets to
 * is not counted as delivered). The span ends when `handler`'s promise settles; its result or error is passed
 * through unchanged. For a batch that is not traced (instrumentation off, ignored topic), `handler` simply runs.
 *
 * @example
 * await consumer.run({
 *   eachBatch: async ({ batch }) => {
 *     for (const message of batch.messages) {
 *       await traceBatchMessage(batch, message, () => handle(message));
 *     }
 *   },
 * });
 */
export function traceBatchMessage<R>(
  batch: { readonly topic: string; readonly partition: number },
  message: object,
  handler: () => R,
): R {
  const trace = batches().get(batch);
  if (trace === undefined || !trace.state.tracing.isActive() || !isMessage(message)) return handler();
  let facts: MessageFacts;
  try {
    facts = trace.deliver(message);
  } catch (err) {
    log.error('message left untraced', err);
    return handler();
  }
  return processMessage(trace.state, batch.topic, batch.partition, message, facts, handler, trace.context);
}

/** `consumer.run`, traced: the caller's handlers are wrapped in a copy of its config. */
export function traceRun(
  state: ConsumerState,
  original: (this: unknown, config?: ConsumerRunConfig) => Promise<void>,
): (this: unknown, config?: ConsumerRunConfig) => Promise<void> {
  return function run(this: unknown, config?: ConsumerRunConfig): Promise<void> {
    if (!state.tracing.isActive() || config === null || typeof config !== 'object') return original.call(this, config);
    let traced: ConsumerRunConfig = config;
    try {
      const handlers = config as { eachMessage?: unknown; eachBatch?: unknown; eachBatchAutoResolve?: unknown };
      const { eachMessage, eachBatch } = handlers;
      if (typeof eachMessage === 'function' || typeof eachBatch === 'function') {
        traced = { ...config };
        if (typeof eachMessage === 'function') traced.eachMessage = traceEachMessage(state, eachMessage as EachMessage);
        if (typeof eachBatch === 'function') {
          traced.eachBatch = traceEachBatch(state, eachBatch as EachBatch, handlers.eachBatchAutoResolve !== false);
        }
      }
    } catch (err) {
      log.error('consumer left untraced', err);
      traced = config;
    }
    return original.call(this, traced);
  };
}

/** One topic of a commit: its partitions, and the offset when there is one partition. */
interface TopicCommit {
  readonly topic: string;
  readonly partitions: Array<{ partition: number; offset: unknown }>;
}

/**
 * Settle span attributes of one topic's commit (the committed offset is the next one to read): the partition and
 * offset for one partition; the number of partitions for several. That number is not
 * `messaging.batch.message_count`: a commit says how far each partition was read, not how many messages it settles.
 */
function commitAttributes(state: ConsumerState, commit: TopicCommit): Attributes {
  const attributes = consumerAttributes(state, {});
  const { partitions } = commit;
  if (partitions.length === 1) {
    const [only] = partitions;
    attributes[ATTR_MESSAGING_DESTINATION_PARTITION_ID] = String(only!.partition);
    const offset = offsetNumber(only!.offset);
    if (offset !== undefined) attributes[ATTR_MESSAGING_KAFKA_OFFSET] = offset;
  } else {
    attributes[ATTR_BROKERTRACE_KAFKA_COMMIT_PARTITIONS] = partitions.length;
  }
  return attributes;
}

function startCommit(state: ConsumerState, commit: TopicCommit, automatic: boolean, startTime?: number): ReturnType<KafkaTracing['telemetry']['startSettle']> {
  return state.tracing.telemetry.startSettle(commitStart(state, commit, automatic, startTime));
}

/** What the settle span of one topic's commit starts with (reads every field it needs: may throw on hostile ones). */
function commitStart(state: ConsumerState, commit: TopicCommit, automatic: boolean, startTime?: number): SettleStart {
  return {
    destination: commit.topic,
    operationName: 'commit',
    attributes: commitAttributes(state, commit),
    metricAttributes: state.info.metricAttributes(commit.partitions.length === 1 ? commit.partitions[0]!.partition : undefined),
    startTime,
    // A commit kafkajs makes on its own runs in its fetch loop, whose context is not the application's.
    parent: automatic ? ROOT_CONTEXT : undefined,
  };
}

/** `consumer.commitOffsets`, traced: one `commit {topic}` settle span per topic of the call. */
export function traceCommitOffsets(
  state: ConsumerState,
  original: (this: unknown, offsets: ReadonlyArray<CommitOffset>) => Promise<void>,
): (this: unknown, offsets: ReadonlyArray<CommitOffset>) => Promise<void> {
  return function commitOffsets(this: unknown, offsets: ReadonlyArray<CommitOffset>): Promise<void> {
    const { tracing } = state;
    if (!tracing.isActive() || !Array.isArray(offsets)) return original.call(this, offsets);
    const { telemetry } = tracing;
    const starts: SettleStart[] = [];
    try {
      const byTopic = new Map<string, TopicCommit>();
      for (const o of offsets as ReadonlyArray<CommitOffset>) {
        if (o !== null && typeof o === 'object' && typeof o.topic === 'string' && !telemetry.isIgnored(o.topic)) {
          let commit = byTopic.get(o.topic);
          if (!commit) byTopic.set(o.topic, (commit = { topic: o.topic, partitions: [] }));
          commit.partitions.push({ partition: o.partition, offset: o.offset });
        }
      }
      if (byTopic.size === 0) return original.call(this, offsets);
      state.info.refresh();
      // Every span's attributes before any span starts: a field that throws when read leaves no span behind.
      for (const commit of byTopic.values()) starts.push(commitStart(state, commit, false));
    } catch (err) {
      // Offsets whose fields cannot be read as we need (a throwing getter): the commit goes through untraced.
      log.error('commit left untraced', err);
      return original.call(this, offsets);
    }
    const spans = starts.map((start) => telemetry.startSettle(start));
    const end = (err?: unknown) => {
      state.explicitCommits--;
      spans.forEach((s) => telemetry.end(s, err));
    };
    state.explicitCommits++;
    let pending: Promise<void>;
    try {
      pending = original.call(this, offsets);
    } catch (err) {
      end(err);
      throw err;
    }
    return Promise.resolve(pending).then(
      () => end(),
      (err: unknown) => {
        end(err);
        throw err;
      },
    );
  };
}

/** The topics of a COMMIT_OFFSETS event payload (`{ topics: [{ topic, partitions: [{ partition, offset }] }] }`). */
function commitsOf(payload: Readonly<Record<string, unknown>>): TopicCommit[] {
  const topics = payload.topics;
  if (!Array.isArray(topics)) return [];
  const commits: TopicCommit[] = [];
  for (const t of topics as Array<{ topic?: unknown; partitions?: unknown }>) {
    if (t === null || typeof t !== 'object' || typeof t.topic !== 'string' || !Array.isArray(t.partitions)) continue;
    // kafkajs builds these from object keys: the partition may come as a decimal string.
    const partitions: Array<{ partition: number; offset: unknown }> = [];
    for (const p of t.partitions as Array<{ partition?: unknown; offset?: unknown }>) {
      const partition = p !== null && typeof p === 'object' ? Number(p.partition) : NaN;
      if (Number.isSafeInteger(partition) && partition >= 0) partitions.push({ partition, offset: p.offset });
    }
    commits.push({ topic: t.topic, partitions });
  }
  return commits;
}

/**
 * Commits kafkajs makes by itself (auto-commit, end of a batch, rebalance): one `commit {topic}` settle span per
 * topic when the consumer's COMMIT_OFFSETS event says a commit succeeded. The span starts when the OffsetCommit
 * request was created (from the REQUEST event before it) when that is known, so its duration is the round trip.
 */
export function watchCommits(consumer: object, state: ConsumerState): void {
  let requestStart: number | undefined;
  listen(consumer, 'REQUEST', (payload) => {
    if (payload.apiName !== 'OffsetCommit') return;
    const createdAt = payload.createdAt;
    requestStart = typeof createdAt === 'number' ? createdAt : undefined;
  });
  listen(consumer, 'COMMIT_OFFSETS', (payload) => {
    const createdAt = requestStart;
    requestStart = undefined;
    const { tracing } = state;
    if (!tracing.isActive() || state.explicitCommits > 0) return;
    const { telemetry } = tracing;
    try {
      // kafkajs stamps requests with Date.now(); spans use core's clock: carry the elapsed time over. Without a
      // REQUEST event (kafkajs before 1.5) the span starts now on the SDK's own clock, the one its end() reads:
      // a start on core's clock could lie after that end (found on kafkajs 1.4.0, where the SDK warned).
      const startTime = createdAt === undefined ? undefined : telemetry.now() - Math.max(0, Date.now() - createdAt);
      for (const commit of commitsOf(payload)) {
        if (telemetry.isIgnored(commit.topic)) continue;
        telemetry.end(startCommit(state, commit, true, startTime));
      }
    } catch (err) {
      log.debug('could not trace a commit', err);
    }
  });
}
