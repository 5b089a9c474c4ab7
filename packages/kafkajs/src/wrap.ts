// Wrapping one client object in place (shared by the explicit wrappers and the instrumentation).
import { ClientInfo, learnFromRequests, learnOnce } from './client-info.js';
import { createConsumerState, traceCommitOffsets, traceRun, watchCommits } from './consumer.js';
import { log, warnOnce } from './diag.js';
import type { CommitOffset, ConsumerRunConfig, ProducerBatch, ProducerRecord, RecordMetadata, KafkaTransaction } from './internal-types.js';
import { isPatched, patchMethods } from '@brokertrace/core';
import { traceSend, traceSendBatch } from './producer.js';
import type { KafkaTracing } from './tracing.js';
import { traceProducerOutcome, traceTransaction } from './transaction.js';
import type { End } from './transaction.js';

type Method<A extends unknown[], R> = (this: unknown, ...args: A) => R;

/**
 * True when `value` is an object with every method named (what the wrappers replace); otherwise says so once per
 * kind through `diag.warn` (an untested kafkajs version, or not a kafkajs client at all), and the caller returns it
 * untraced.
 */
export function recognised(value: unknown, kind: string, methods: readonly string[]): value is object {
  const missing =
    value === null || typeof value !== 'object'
      ? methods
      : methods.filter((m) => typeof (value as Record<string, unknown>)[m] !== 'function');
  if (missing.length === 0) return true;
  const what = value === null ? 'null' : typeof value === 'object' ? `an object without ${missing.join(', ')}` : typeof value;
  warnOnce(`unrecognised:${kind}`, `expected a kafkajs ${kind} (with ${methods.join(', ')}), got ${what}; returned untraced (an untested kafkajs version?)`);
  return false;
}

function alreadyTraced(client: object): boolean {
  if (!isPatched(client)) return false;
  log.debug('client already traced, left as it is');
  return true;
}

/** Traces `producer` in place with `tracing`; false when it was already traced or cannot be changed. */
export function wrapProducer(producer: unknown, tracing: KafkaTracing, info: ClientInfo = new ClientInfo()): boolean {
  if (!recognised(producer, 'producer', ['send', 'sendBatch']) || alreadyTraced(producer)) return false;
  info.attach(producer);
  const patched = patchMethods(producer, {
    send: (original) => traceSend(tracing, info, original as Method<[ProducerRecord], Promise<RecordMetadata[]>>),
    sendBatch: (original) => traceSendBatch(tracing, info, original as Method<[ProducerBatch], Promise<RecordMetadata[]>>),
    transaction: (original) => traceTransaction(tracing, info, original as Method<unknown[], Promise<KafkaTransaction>>),
    // Only a producer that is its own transaction object (Confluent's) has these; a kafkajs producer has neither.
    commit: (original) => traceProducerOutcome(tracing, info, 'commit', original as End),
    abort: (original) => traceProducerOutcome(tracing, info, 'abort', original as End),
  });
  if (patched && info.flavour.events) learnFromRequests(producer, info, true);
  return patched;
}

/** Traces `consumer` in place with `tracing`; false when it was already traced or cannot be changed. */
export function wrapConsumer(consumer: unknown, tracing: KafkaTracing, info: ClientInfo = new ClientInfo()): boolean {
  if (!recognised(consumer, 'consumer', ['run']) || alreadyTraced(consumer)) return false;
  info.attach(consumer);
  const state = createConsumerState(tracing, info);
  const patched = patchMethods(consumer, {
    run: (original) => traceRun(state, original as Method<[ConsumerRunConfig?], Promise<void>>),
    commitOffsets: (original) => traceCommitOffsets(state, original as Method<[ReadonlyArray<CommitOffset>], Promise<void>>),
  });
  if (!patched) return false;
  // Confluent's consumer has no instrumentation events (reading `consumer.events` throws): its flavour learns
  // from the client's own config instead, and its automatic commits (librdkafka's) are not seen.
  if (!info.flavour.events) return true;
  learnFromRequests(consumer, info, false);
  if (info.groupId === undefined) learnOnce(consumer, 'GROUP_JOIN', 'groupId', (id) => info.setGroupId(id));
  watchCommits(consumer, state);
  return true;
}
