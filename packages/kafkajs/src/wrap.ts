// Wrapping one client object in place (shared by the explicit wrappers and the instrumentation).
import { ClientInfo, learnFromRequests, learnOnce } from './client-info.js';
import { createConsumerState, traceCommitOffsets, traceRun, watchCommits } from './consumer.js';
import { log } from './diag.js';
import type { CommitOffset, ConsumerRunConfig, ProducerBatch, ProducerRecord, RecordMetadata, KafkaTransaction } from './internal-types.js';
import { isPatched, patchMethods } from '@brokertrace/core';
import { traceSend, traceSendBatch } from './producer.js';
import type { KafkaTracing } from './tracing.js';
import { traceTransaction } from './transaction.js';

type Method<A extends unknown[], R> = (this: unknown, ...args: A) => R;

function alreadyTraced(client: object): boolean {
  if (!isPatched(client)) return false;
  log.debug('client already traced, left as it is');
  return true;
}

/** Traces `producer` in place with `tracing`; false when it was already traced or cannot be changed. */
export function wrapProducer(producer: object, tracing: KafkaTracing, info: ClientInfo = new ClientInfo()): boolean {
  if (producer === null || typeof producer !== 'object' || alreadyTraced(producer)) return false;
  const patched = patchMethods(producer, {
    send: (original) => traceSend(tracing, info, original as Method<[ProducerRecord], Promise<RecordMetadata[]>>),
    sendBatch: (original) => traceSendBatch(tracing, info, original as Method<[ProducerBatch], Promise<RecordMetadata[]>>),
    transaction: (original) => traceTransaction(tracing, info, original as Method<unknown[], Promise<KafkaTransaction>>),
  });
  if (patched) learnFromRequests(producer, info, true);
  return patched;
}

/** Traces `consumer` in place with `tracing`; false when it was already traced or cannot be changed. */
export function wrapConsumer(consumer: object, tracing: KafkaTracing, info: ClientInfo = new ClientInfo()): boolean {
  if (consumer === null || typeof consumer !== 'object' || alreadyTraced(consumer)) return false;
  const state = createConsumerState(tracing, info);
  const patched = patchMethods(consumer, {
    run: (original) => traceRun(state, original as Method<[ConsumerRunConfig?], Promise<void>>),
    commitOffsets: (original) => traceCommitOffsets(state, original as Method<[ReadonlyArray<CommitOffset>], Promise<void>>),
  });
  if (!patched) return false;
  learnFromRequests(consumer, info, false);
  if (info.groupId === undefined) learnOnce(consumer, 'GROUP_JOIN', 'groupId', (id) => info.setGroupId(id));
  watchCommits(consumer, state);
  return true;
}
