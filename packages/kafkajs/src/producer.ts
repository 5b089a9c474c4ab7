// Producer side: a send span per topic of each send/sendBatch call, a create span per message of a
// multi-message send, the context fitted into a COPY of every message's headers, the broker's reply on the spans.
import { context, diag, trace } from '@opentelemetry/api';
import type { Attributes, Span } from '@opentelemetry/api';
import {
  ATTR_MESSAGING_CLIENT_ID,
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_KAFKA_OFFSET,
} from '@brokertrace/core';
import type { CarrierLimits } from '@brokertrace/core';
import { ATTR_BROKERTRACE_KAFKA_TRANSACTIONAL, messageAttributes, offsetNumber } from './attributes.js';
import type { ClientInfo } from './client-info.js';
import { payloadBytes } from './facts.js';
import type { ProducerBatch, ProducerMessage, ProducerRecord, RecordMetadata, TopicMessages } from './internal-types.js';
import type { KafkaTracing } from './tracing.js';
import type { TransactionTrace } from './transaction.js';

/**
 * Bytes of a record that are neither key, value nor header text: the record batch header (61) and the record's
 * own varint framing (up to ~35). Our headers must fit in what `maxRecordBytes` leaves after these.
 */
export const RECORD_FRAMING_BYTES = 96;
/** Varint length prefixes of one header's key and value. */
export const HEADER_OVERHEAD_BYTES = 4;

/** One topic of a send call, traced. */
interface OutgoingTopic {
  readonly topic: string;
  readonly send: Span;
  /** One per message, in order, when create spans are on for this call. */
  readonly creates: Span[] | undefined;
  /** The messages as they go out (copies where we added headers). */
  readonly messages: ProducerMessage[];
}

/** The budget our headers get in one record: what the key, value and framing leave of `maxRecordBytes`. */
export function recordLimits(message: ProducerMessage, maxRecordBytes: number): CarrierLimits {
  const used = RECORD_FRAMING_BYTES + payloadBytes(message.key) + payloadBytes(message.value);
  return { maxTotalBytes: Math.max(0, maxRecordBytes - used), entryOverheadBytes: HEADER_OVERHEAD_BYTES };
}

/** A copy of `message` whose headers (also a copy) carry the context of `span`; the message itself if none fit. */
function withContext(tracing: KafkaTracing, span: Span, message: ProducerMessage): ProducerMessage {
  if (message === null || typeof message !== 'object') return message;
  const headers = message.headers;
  const { fields } = tracing.telemetry.inject(span, headers, recordLimits(message, tracing.options.maxRecordBytes));
  let any = false;
  for (const _ in fields) {
    any = true;
    break;
  }
  if (!any) return message;
  return { ...message, headers: { ...headers, ...fields } };
}

function commonAttributes(tracing: KafkaTracing, info: ClientInfo, txn: TransactionTrace | undefined): Attributes {
  const attributes: Attributes = {};
  const clientId = tracing.options.clientId ?? info.clientId;
  if (clientId !== undefined) attributes[ATTR_MESSAGING_CLIENT_ID] = clientId;
  if (txn) attributes[ATTR_BROKERTRACE_KAFKA_TRANSACTIONAL] = true;
  return attributes;
}

/** Starts the spans of one topic and builds its outgoing messages; undefined for an ignored topic. */
function prepareTopic(
  tracing: KafkaTracing,
  info: ClientInfo,
  topic: string,
  messages: ReadonlyArray<ProducerMessage>,
  txn: TransactionTrace | undefined,
): OutgoingTopic | undefined {
  const { telemetry, options } = tracing;
  if (typeof topic !== 'string' || telemetry.isIgnored(topic)) return undefined;
  const count = messages.length;
  const common = commonAttributes(tracing, info, txn);
  const sendAttributes = count === 1 ? messageAttributes(messages[0] ?? {}, options.captureMessageKey, { ...common }) : common;
  const send = telemetry.startSend({ destination: topic, messageCount: count, attributes: sendAttributes });
  const creates = telemetry.createSpans && count > 1 ? new Array<Span>() : undefined;
  const prepared: OutgoingTopic = { topic, send, creates, messages: new Array<ProducerMessage>(count) };
  try {
    const sendContext = creates ? trace.setSpan(context.active(), send) : undefined;
    for (let i = 0; i < count; i++) {
      const message = messages[i]!;
      let carrier = send;
      if (creates) {
        const attributes = messageAttributes(message ?? {}, options.captureMessageKey, { ...common });
        carrier = telemetry.startCreate({ destination: topic, parent: sendContext, attributes });
        creates.push(carrier);
      }
      const out = withContext(tracing, carrier, message);
      prepared.messages[i] = out;
      telemetry.runHook(options.producerHook, carrier, { topic, message: out });
    }
  } catch (err) {
    endAll(tracing, [prepared], undefined);
    throw err;
  }
  txn?.record(topic, send, count);
  return prepared;
}

/** Partition and offsets from the broker's reply, where they can be told per message. */
function applyReply(outgoing: OutgoingTopic, reply: unknown): void {
  if (!Array.isArray(reply)) return;
  const mine = (reply as RecordMetadata[]).filter((r) => r !== null && typeof r === 'object' && r.topicName === outgoing.topic);
  const { send, creates, messages } = outgoing;
  if (mine.length === 1) {
    // Every message of this topic went to one partition, in order: offsets are base + index.
    const r = mine[0]!;
    const partition = String(r.partition);
    const base = offsetNumber(r.baseOffset ?? r.offset);
    send.setAttribute(ATTR_MESSAGING_DESTINATION_PARTITION_ID, partition);
    if (messages.length === 1 && base !== undefined) send.setAttribute(ATTR_MESSAGING_KAFKA_OFFSET, base);
    creates?.forEach((span, i) => {
      span.setAttribute(ATTR_MESSAGING_DESTINATION_PARTITION_ID, partition);
      if (base !== undefined) span.setAttribute(ATTR_MESSAGING_KAFKA_OFFSET, base + i);
    });
    return;
  }
  // Several partitions: only messages that named their partition can be matched to a reply.
  if (!creates || !messages.every((m) => typeof m?.partition === 'number')) return;
  const bases = new Map<number, number | undefined>();
  for (const r of mine) bases.set(r.partition, offsetNumber(r.baseOffset ?? r.offset));
  const index = new Map<number, number>();
  messages.forEach((m, i) => {
    const partition = m.partition as number;
    const nth = index.get(partition) ?? 0;
    index.set(partition, nth + 1);
    const base = bases.get(partition);
    if (base !== undefined) creates[i]!.setAttribute(ATTR_MESSAGING_KAFKA_OFFSET, base + nth);
  });
}

function finish(tracing: KafkaTracing, topics: ReadonlyArray<OutgoingTopic>, reply: unknown, error?: unknown): void {
  const { telemetry } = tracing;
  for (const outgoing of topics) {
    if (error === undefined) {
      try {
        applyReply(outgoing, reply);
      } catch (err) {
        diag.debug('brokertrace/kafkajs: could not read the broker reply', err);
      }
    }
    outgoing.creates?.forEach((span) => telemetry.end(span, error));
    telemetry.end(outgoing.send, error);
  }
}

function endAll(tracing: KafkaTracing, topics: ReadonlyArray<OutgoingTopic>, error: unknown): void {
  try {
    finish(tracing, topics, undefined, error);
  } catch {
    // Ending spans must never cost the caller its call.
  }
}

/** Calls the client with the traced argument; ends the spans when its promise settles; results pass unchanged. */
function callTraced<R>(tracing: KafkaTracing, topics: ReadonlyArray<OutgoingTopic>, call: () => R): R {
  // With one topic its send span is active during the call (anything the client logs or traces nests under it).
  const only = topics.length === 1 ? topics[0] : undefined;
  const ctx = only ? trace.setSpan(context.active(), only.send) : context.active();
  let result: R;
  try {
    result = context.with(ctx, call);
  } catch (err) {
    endAll(tracing, topics, err);
    throw err;
  }
  if (result === null || typeof (result as { then?: unknown })?.then !== 'function') {
    endAll(tracing, topics, undefined);
    return result;
  }
  return (result as unknown as Promise<unknown>).then(
    (reply) => {
      try {
        finish(tracing, topics, reply);
      } catch (err) {
        diag.debug('brokertrace/kafkajs: could not end send spans', err);
      }
      return reply;
    },
    (err: unknown) => {
      endAll(tracing, topics, err);
      throw err;
    },
  ) as unknown as R;
}

export type Send = (this: unknown, record: ProducerRecord) => Promise<RecordMetadata[]>;
export type SendBatch = (this: unknown, batch: ProducerBatch) => Promise<RecordMetadata[]>;

/** `producer.send` (or a transaction's), traced. */
export function traceSend(tracing: KafkaTracing, info: ClientInfo, original: Send, txn?: TransactionTrace): Send {
  return function send(this: unknown, record: ProducerRecord): Promise<RecordMetadata[]> {
    if (!tracing.isActive() || record === null || typeof record !== 'object' || !Array.isArray(record.messages)) {
      return original.call(this, record);
    }
    let outgoing: OutgoingTopic | undefined;
    let traced: ProducerRecord = record;
    try {
      outgoing = prepareTopic(tracing, info, record.topic, record.messages, txn);
      if (outgoing) traced = { ...record, messages: outgoing.messages };
    } catch (err) {
      diag.error('brokertrace/kafkajs: send left untraced', err);
      if (outgoing) endAll(tracing, [outgoing], undefined);
      return original.call(this, record);
    }
    if (!outgoing) return original.call(this, record);
    return callTraced(tracing, [outgoing], () => original.call(this, traced));
  };
}

/** The messages of one `topicMessages` entry, when it is well-formed (kafkajs rejects the call otherwise). */
function messagesOf(entry: unknown): ReadonlyArray<ProducerMessage> | undefined {
  if (entry === null || typeof entry !== 'object') return undefined;
  const messages: unknown = (entry as TopicMessages).messages;
  return Array.isArray(messages) ? (messages as ReadonlyArray<ProducerMessage>) : undefined;
}

/** `producer.sendBatch` (or a transaction's), traced: one send span per topic, whatever order the caller used. */
export function traceSendBatch(tracing: KafkaTracing, info: ClientInfo, original: SendBatch, txn?: TransactionTrace): SendBatch {
  return function sendBatch(this: unknown, batch: ProducerBatch): Promise<RecordMetadata[]> {
    const given: unknown = batch?.topicMessages;
    if (!tracing.isActive() || !Array.isArray(given)) return original.call(this, batch);
    const entries = given as ReadonlyArray<TopicMessages>;
    const topics: OutgoingTopic[] = [];
    let traced: ProducerBatch = batch;
    try {
      // kafkajs merges entries of one topic in order; we trace them the same way, then split them back.
      const byTopic = new Map<string, ProducerMessage[]>();
      for (const entry of entries) {
        const messages = messagesOf(entry);
        if (!messages) continue;
        const list = byTopic.get(entry.topic);
        if (list) list.push(...messages);
        else byTopic.set(entry.topic, [...messages]);
      }
      const outgoing = new Map<string, ProducerMessage[]>();
      for (const [topic, messages] of byTopic) {
        const prepared = prepareTopic(tracing, info, topic, messages, txn);
        if (!prepared) continue;
        topics.push(prepared);
        outgoing.set(topic, prepared.messages);
      }
      if (topics.length === 0) return original.call(this, batch);
      const taken = new Map<string, number>();
      const topicMessages = entries.map((entry: TopicMessages) => {
        const messages = messagesOf(entry);
        const out = messages ? outgoing.get(entry.topic) : undefined;
        if (!messages || !out) return entry;
        const from = taken.get(entry.topic) ?? 0;
        taken.set(entry.topic, from + messages.length);
        return { ...entry, messages: out.slice(from, from + messages.length) };
      });
      traced = { ...batch, topicMessages };
    } catch (err) {
      diag.error('brokertrace/kafkajs: sendBatch left untraced', err);
      endAll(tracing, topics, undefined);
      return original.call(this, batch);
    }
    return callTraced(tracing, topics, () => original.call(this, traced));
  };
}
