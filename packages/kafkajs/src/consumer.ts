// Consumer side: a process span per message of `eachMessage`, a receive span linked to every message of
// `eachBatch` (and `traceBatchMessage` for a process span per message inside it), delivery counts from offsets
// this consumer has been handed before, and a settle span for explicit `commitOffsets`.
import { log } from './diag.js';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import type { Attributes, Context } from '@opentelemetry/api';
import {
  ATTR_MESSAGING_CLIENT_ID,
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_KAFKA_OFFSET,
  DeliveryCounter,
} from '@brokertrace/core';
import type { MessageFacts } from '@brokertrace/core';
import { messageAttributes, offsetNumber } from './attributes.js';
import type { ClientInfo } from './client-info.js';
import { consumedFacts, recordId } from './facts.js';
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
}

export function createConsumerState(tracing: KafkaTracing, info: ClientInfo): ConsumerState {
  return { tracing, info, highest: new Map(), redeliveries: new DeliveryCounter(tracing.options.deliveryTracking, 'deliveryTracking') };
}

/**
 * How many times this consumer has been handed this offset, 1 the first time. The common case (an offset past
 * the partition's highest so far) costs two array reads and no allocation; a re-seen offset (the handler threw,
 * a rebalance, a seek back) is counted in the bounded redelivery memory.
 */
function handOverCount(state: ConsumerState, topic: string, partition: number, offset: string): number {
  const key = () => `${state.info.groupId ?? ''}/${topic}/${partition}/${offset}`;
  const n = Number(offset);
  if (!Number.isSafeInteger(n)) return state.redeliveries.record(key()); // beyond 2^53: every offset remembered
  let byPartition = state.highest.get(topic);
  if (byPartition === undefined) state.highest.set(topic, (byPartition = []));
  const highest = byPartition[partition];
  if (highest === undefined || n > highest) {
    byPartition[partition] = n;
    return 1;
  }
  return 1 + state.redeliveries.record(key());
}

/** Facts of each message of an `eachBatch` call, recorded once when the batch arrived (read by the helper). */
const batchFacts = new WeakMap<ConsumedMessage, MessageFacts>();
/** The consumer each traced batch came from. */
const batchStates = new WeakMap<ConsumedBatch, ConsumerState>();

function groupAttributes(state: ConsumerState, attributes: Attributes): Attributes {
  const clientId = state.tracing.options.clientId ?? state.info.clientId;
  if (clientId !== undefined) attributes[ATTR_MESSAGING_CLIENT_ID] = clientId;
  if (state.info.groupId !== undefined) attributes[ATTR_MESSAGING_CONSUMER_GROUP_NAME] = state.info.groupId;
  return attributes;
}

/** Counts this hand-over of the message (a re-seen offset is a redelivery) and reads its facts. */
function recordDelivery(
  state: ConsumerState,
  topic: string,
  partition: number,
  message: ConsumedMessage,
): MessageFacts {
  const { options } = state.tracing;
  return consumedFacts({
    topic,
    partition,
    offset: message.offset,
    timestamp: message.timestamp,
    headers: message.headers,
    seenCount: handOverCount(state, topic, partition, message.offset),
    retryCountHeaders: options.retryCountHeaders,
    deadLetterHeaders: options.deadLetterHeaders,
  });
}

function processAttributes(state: ConsumerState, partition: number, message: ConsumedMessage): Attributes {
  const attributes = groupAttributes(state, { [ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(partition) });
  const offset = offsetNumber(message.offset);
  if (offset !== undefined) attributes[ATTR_MESSAGING_KAFKA_OFFSET] = offset;
  return messageAttributes(message, state.tracing.options.captureMessageKey, attributes);
}

/** Runs `handler` inside a process span for one message; the span ends when the handler's promise settles. */
function processMessage<R>(
  state: ConsumerState,
  topic: string,
  partition: number,
  message: ConsumedMessage,
  facts: MessageFacts,
  parent: Context | undefined,
  handler: () => R,
  countedByReceive = false,
): R {
  const { telemetry, options } = state.tracing;
  let started: ReturnType<typeof telemetry.startProcess>;
  try {
    started = telemetry.startProcess({
      destination: topic,
      parent,
      facts,
      countedByReceive,
      carrier: message.headers,
      attributes: processAttributes(state, partition, message),
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
      facts = recordDelivery(state, topic, partition, message);
    } catch (err) {
      log.error('message left untraced', err);
      return handler.call(this, payload);
    }
    // kafkajs's fetch loop carries whatever context `run()` was called in: not a parent for its messages.
    return processMessage(state, topic, partition, message, facts, ROOT_CONTEXT, () => handler.call(this, payload));
  };
}

function traceEachBatch(state: ConsumerState, handler: EachBatch): EachBatch {
  return function eachBatch(this: unknown, payload: EachBatchPayload): Promise<void> {
    const { tracing } = state;
    const batch = payload?.batch;
    if (!tracing.isActive() || batch === null || typeof batch !== 'object' || !Array.isArray(batch.messages)) {
      return handler.call(this, payload);
    }
    const { topic, partition, messages } = batch;
    if (tracing.telemetry.isIgnored(topic)) return handler.call(this, payload);
    let started: ReturnType<typeof tracing.telemetry.startReceive>;
    try {
      const links = new Array<{ facts: MessageFacts; carrier: unknown }>();
      for (const message of messages) {
        if (!isMessage(message)) continue;
        const facts = recordDelivery(state, topic, partition, message);
        batchFacts.set(message, facts);
        // The receive span's links name their message (batch spans never reach the duplicate rule).
        links.push({ facts: { ...facts, messageId: recordId(topic, partition, message.offset) }, carrier: message.headers });
      }
      batchStates.set(batch, state);
      started = tracing.telemetry.startReceive({
        destination: topic,
        parent: ROOT_CONTEXT,
        messages: links,
        attributes: groupAttributes(state, { [ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(partition) }),
      });
      tracing.telemetry.runHook(tracing.options.batchHook, started.span, { topic, partition, messages });
    } catch (err) {
      log.error('batch left untraced', err);
      return handler.call(this, payload);
    }
    return tracing.telemetry.run(started.span, () => handler.call(this, payload), started.context);
  };
}

/**
 * Runs `handler` for one message of a traced `eachBatch` inside its own `process` span (parented or linked by
 * the policy, like `eachMessage`), so per-message work inside a batch handler gets its own timing and trace.
 * The span ends when `handler`'s promise settles; its result or error is passed through unchanged. For a batch
 * that is not traced (instrumentation off, ignored topic), `handler` simply runs.
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
  const state = batchStates.get(batch as ConsumedBatch);
  const facts = batchFacts.get(message as ConsumedMessage);
  if (!state || !facts || !state.tracing.isActive()) return handler();
  // Under the active context: inside the batch handler, that is the receive span (kept as a link or parent).
  // The batch's receive span already counted this message as consumed.
  return processMessage(state, batch.topic, batch.partition, message as ConsumedMessage, facts, undefined, handler, true);
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
      const handlers = config as { eachMessage?: unknown; eachBatch?: unknown };
      const { eachMessage, eachBatch } = handlers;
      if (typeof eachMessage === 'function' || typeof eachBatch === 'function') {
        traced = { ...config };
        if (typeof eachMessage === 'function') traced.eachMessage = traceEachMessage(state, eachMessage as EachMessage);
        if (typeof eachBatch === 'function') traced.eachBatch = traceEachBatch(state, eachBatch as EachBatch);
      }
    } catch (err) {
      log.error('consumer left untraced', err);
      traced = config;
    }
    return original.call(this, traced);
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
    const counts = new Map<string, number>();
    for (const o of offsets as ReadonlyArray<CommitOffset>) {
      if (o !== null && typeof o === 'object' && typeof o.topic === 'string' && !telemetry.isIgnored(o.topic)) {
        counts.set(o.topic, (counts.get(o.topic) ?? 0) + 1);
      }
    }
    if (counts.size === 0) return original.call(this, offsets);
    const spans = [...counts].map(([topic]) =>
      telemetry.startSettle({ destination: topic, operationName: 'commit', attributes: groupAttributes(state, {}) }),
    );
    const [first, ...rest] = spans;
    const call = (): Promise<void> => original.call(this, offsets);
    if (rest.length === 0) return telemetry.run(first!, call);
    // Several topics: one span each, all ended by the same call.
    let pending: Promise<void>;
    try {
      pending = call();
    } catch (err) {
      spans.forEach((s) => telemetry.end(s, err));
      throw err;
    }
    return Promise.resolve(pending).then(
      () => spans.forEach((s) => telemetry.end(s)),
      (err: unknown) => {
        spans.forEach((s) => telemetry.end(s, err));
        throw err;
      },
    );
  };
}
