// Producer side: a send span per topic of each send/sendBatch call, a create span per message of a
// multi-message send (linked from the send span), the context fitted into a COPY of every message's headers, the
// broker's reply on the send span.
import { context } from '@opentelemetry/api';
import type { Attributes, Context, Span } from '@opentelemetry/api';
import {
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_KAFKA_OFFSET,
} from '@brokertrace/core';
import { copyWith, isThenable } from '@brokertrace/core';
import type { CarrierLimits, InjectResult, OutgoingMessage, SendResult } from '@brokertrace/core';
import { ATTR_BROKERTRACE_KAFKA_TRANSACTIONAL, ATTR_MESSAGING_KAFKA_CLUSTER_ID, clientAttributes, messageAttributes, offsetNumber } from './attributes.js';
import { PRODUCE_VERSION_WITH_HEADERS } from './client-info.js';
import type { ClientInfo } from './client-info.js';
import { log } from './diag.js';
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
  readonly info: ClientInfo;
  readonly send: Span;
  /** The send span's context (what its messages carry): the client's call runs in it when it is the only topic. */
  readonly context: Context;
  /** The messages as they go out (copies where we added headers). */
  readonly messages: ProducerMessage[];
}

/** The budget of a record whose broker takes no headers: nothing fits. */
const NO_ROOM: CarrierLimits = Object.freeze({ maxEntries: 0, maxTotalBytes: 0 });

/** The budget our headers get in one record: what the key, value and framing leave of `maxRecordBytes`. */
export function recordLimits(message: ProducerMessage, maxRecordBytes: number): CarrierLimits {
  const used = RECORD_FRAMING_BYTES + payloadBytes(message.key) + payloadBytes(message.value);
  return { maxTotalBytes: Math.max(0, maxRecordBytes - used), entryOverheadBytes: HEADER_OVERHEAD_BYTES };
}

/**
 * A copy of `message` whose headers (also a copy) carry `fields`; the message itself when there is nothing to add,
 * unless `copy` (a client that rewrites the messages it is given gets a copy of each, so the caller's stay as they were).
 */
function withFields(message: ProducerMessage, injection: InjectResult | undefined, copy: boolean): ProducerMessage {
  if (message === null || typeof message !== 'object') return message;
  let any = false;
  if (injection !== undefined) {
    for (const _ in injection.fields) {
      any = true;
      break;
    }
  }
  if (!any) return copy ? copyWith(message) : message;
  return copyWith(message, 'headers', { ...message.headers, ...injection!.fields });
}

function commonAttributes(tracing: KafkaTracing, info: ClientInfo, txn: TransactionTrace | undefined): Attributes {
  const attributes = clientAttributes(tracing.options.clientId ?? info.clientId, info.clusterId());
  if (txn) attributes[ATTR_BROKERTRACE_KAFKA_TRANSACTIONAL] = true;
  return attributes;
}

/**
 * False (with a warning, once per client) when the broker cannot take record headers: kafkajs would drop them,
 * so no context is written and the caller's messages go out as they are.
 */
function headersSupported(info: ClientInfo): boolean {
  if (info.headersSupported() !== false) return true;
  if (!info.warnedNoHeaders) {
    info.warnedNoHeaders = true;
    log.warn(
      `the Kafka broker${info.serverAddress ? ` at ${info.serverAddress}` : ''} does not support record headers ` +
        `(Produce API below v${PRODUCE_VERSION_WITH_HEADERS}): messages are sent without trace context, and consumers start new traces`,
    );
  }
  return false;
}

/**
 * Starts the spans of one topic and builds its outgoing messages; undefined for an ignored topic.
 * A multi-message call (several messages, or any `sendBatch`) is a batch: with create spans on, core starts one
 * `create` span per message in the caller's context and ends it once its context is in the message, then a CLIENT
 * `send` span linked to every create span. A single message gets a PRODUCER `send` span whose own context goes into
 * it. A message that already carries a context keeps it (`existingContext: 'keep'`) and the send span links to it.
 * A failure while preparing ends what was started with that error; the caller then sends untraced.
 */
function prepareTopic(
  tracing: KafkaTracing,
  info: ClientInfo,
  topic: string,
  messages: ReadonlyArray<ProducerMessage>,
  txn: TransactionTrace | undefined,
  batchCall: boolean,
): OutgoingTopic | undefined {
  const { telemetry, options } = tracing;
  if (typeof topic !== 'string' || telemetry.isIgnored(topic)) return undefined;
  info.refresh();
  const count = messages.length;
  const common = commonAttributes(tracing, info, txn);
  const batch = batchCall || count > 1;
  const inject = headersSupported(info);
  const outgoing = new Array<OutgoingMessage>(count);
  for (let i = 0; i < count; i++) {
    const message = messages[i] ?? ({} as ProducerMessage);
    outgoing[i] = {
      // No headers to give (the broker drops them): an entry full budget-wise, so nothing is injected.
      existing: message.headers,
      limits: inject ? recordLimits(message, options.maxRecordBytes) : NO_ROOM,
      attributes: batch ? messageAttributes(message, options.captureMessageKey, { ...common }) : undefined,
    };
  }
  // `common` is this call's own object: a single message's attributes are written into it, not into a copy.
  const attributes = batch ? common : messageAttributes(messages[0] ?? {}, options.captureMessageKey, common);
  const hook = options.producerHook;
  let started: SendResult | undefined;
  try {
    started = telemetry.startSend({
      destination: topic,
      batch,
      messages: outgoing,
      attributes,
      metricAttributes: info.metricAttributes(),
      // The hook sees the message as the caller built it: the create span ends with the injection.
      onCreate: hook === undefined ? undefined : (span, i) => telemetry.runHook(hook, span, { topic, message: messages[i]! }),
    });
    const out = new Array<ProducerMessage>(count);
    const copy = info.flavour.rewritesMessages;
    for (let i = 0; i < count; i++) out[i] = withFields(messages[i]!, started.injections[i], copy);
    if (!batch) telemetry.runHook(hook, started.span, { topic, message: out[0]! });
    txn?.record(topic, started.span, count);
    return { topic, info, send: started.span, context: started.context, messages: out };
  } catch (err) {
    // The real send still happens (untraced, by the caller): the span says why it has no outcome, and nothing
    // is counted as sent by it.
    if (started !== undefined) telemetry.endUnsent(started.span, err);
    throw err;
  }
}

/**
 * Partition (and, for one message, offset) from the broker's reply on the send span. Create spans have ended by
 * then (they cover the message's creation); the consumer's process span carries each message's offset.
 */
function applyReply(outgoing: OutgoingTopic, reply: unknown): void {
  // kafkajs fetches the cluster's metadata inside its first send: the id is known by the time the broker answered.
  const clusterId = outgoing.info.clusterId();
  if (clusterId !== undefined) outgoing.send.setAttribute(ATTR_MESSAGING_KAFKA_CLUSTER_ID, clusterId);
  if (!Array.isArray(reply)) return;
  let r: RecordMetadata | undefined;
  for (const entry of reply as unknown[]) {
    if (entry === null || typeof entry !== 'object' || (entry as RecordMetadata).topicName !== outgoing.topic) continue;
    // Several partitions of the topic answered: no single partition or offset to tell.
    if (r !== undefined) return;
    r = entry as RecordMetadata;
  }
  if (r === undefined) return;
  outgoing.send.setAttribute(ATTR_MESSAGING_DESTINATION_PARTITION_ID, String(r.partition));
  const base = offsetNumber(r.baseOffset ?? r.offset);
  if (outgoing.messages.length === 1 && base !== undefined) outgoing.send.setAttribute(ATTR_MESSAGING_KAFKA_OFFSET, base);
}

function finish(tracing: KafkaTracing, topics: ReadonlyArray<OutgoingTopic>, reply: unknown, error?: unknown): void {
  const { telemetry } = tracing;
  for (const outgoing of topics) {
    if (error === undefined) {
      try {
        applyReply(outgoing, reply);
      } catch (err) {
        log.debug('could not read the broker reply', err);
      }
    }
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
  const ctx = topics.length === 1 ? topics[0]!.context : context.active();
  let result: R;
  try {
    result = context.with(ctx, call);
  } catch (err) {
    endAll(tracing, topics, err);
    throw err;
  }
  if (!isThenable(result)) {
    endAll(tracing, topics, undefined);
    return result;
  }
  return (result as unknown as Promise<unknown>).then(
    (reply) => {
      try {
        finish(tracing, topics, reply);
      } catch (err) {
        log.debug('could not end send spans', err);
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
    // A traced sendBatch that calls send itself (Confluent's) has traced these messages already.
    if (!tracing.isActive() || info.inSendBatch > 0 || record === null || typeof record !== 'object' || !Array.isArray(record.messages)) {
      return original.call(this, record);
    }
    let outgoing: OutgoingTopic | undefined;
    let traced: ProducerRecord = record;
    try {
      outgoing = prepareTopic(tracing, info, record.topic, record.messages, txn ?? info.transaction, false);
      if (outgoing) traced = { ...record, messages: outgoing.messages };
    } catch (err) {
      // prepareTopic ended its spans with this error; the caller's record goes out as it was.
      log.error('send left untraced', err);
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
    // Confluent's sendBatch calls this.send per topic, synchronously: those calls pass straight through.
    const call = (argument: ProducerBatch): Promise<RecordMetadata[]> => {
      info.inSendBatch++;
      try {
        return original.call(this, argument);
      } finally {
        info.inSendBatch--;
      }
    };
    const given: unknown = batch?.topicMessages;
    if (!tracing.isActive() || info.inSendBatch > 0 || !Array.isArray(given)) return call(batch);
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
        const prepared = prepareTopic(tracing, info, topic, messages, txn ?? info.transaction, true);
        if (!prepared) continue;
        topics.push(prepared);
        outgoing.set(topic, prepared.messages);
      }
      if (topics.length === 0) return call(batch);
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
      // The topics prepared so far end with the same error (the failing one ended its own): the batch goes out untraced.
      log.error('sendBatch left untraced', err);
      endAll(tracing, topics, err);
      return call(batch);
    }
    return callTraced(tracing, topics, () => call(traced));
  };
}
