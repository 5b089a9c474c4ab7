// Transactional producers: sends inside `producer.transaction()` are traced like any send (and marked
// transactional); `commit()` and `abort()` each get a span saying what became of the transaction's messages,
// named `commit_transaction` / `abort_transaction` so that they never mix with a consumer's offset `commit`, and
// of no `messaging.operation.type` (ending a producer's transaction is none of the conventions' types).
// kafkajs hands out a transaction object (traced as a copy); Confluent's producer is its own transaction object
// (followed on the producer, whose `commit()`/`abort()` wrap.ts traces).
import { log } from './diag.js';
import type { Span } from '@opentelemetry/api';
import { ATTR_MESSAGING_BATCH_MESSAGE_COUNT } from '@brokertrace/core';
import { clientAttributes } from './attributes.js';
import type { ClientInfo } from './client-info.js';
import type { KafkaTransaction } from './internal-types.js';
import type { Send, SendBatch } from './producer.js';
import { traceSend, traceSendBatch } from './producer.js';
import type { KafkaTracing } from './tracing.js';

/** `commit` or `abort` on the span that ends a transaction. */
export const ATTR_BROKERTRACE_KAFKA_TRANSACTION_OUTCOME = 'brokertrace.kafka.transaction.outcome';
/** The topics the transaction wrote to (string[]), on its commit/abort span. */
export const ATTR_BROKERTRACE_KAFKA_TRANSACTION_TOPICS = 'brokertrace.kafka.transaction.topics';

/** What one transaction has sent so far. */
export class TransactionTrace {
  readonly topics = new Set<string>();
  messageCount = 0;

  record(topic: string, _send: Span, count: number): void {
    this.topics.add(topic);
    this.messageCount += count;
  }

  /** The destination of the commit/abort span: the topic when the transaction wrote to exactly one, else none. */
  destination(): string {
    return this.topics.size === 1 ? (this.topics.values().next().value as string) : '';
  }
}

export type Outcome = 'commit' | 'abort';

/** `messaging.operation.name` of the span that ends a transaction (apart from the consumer's `commit`). */
export const TRANSACTION_OPERATION: Readonly<Record<Outcome, string>> = Object.freeze({
  commit: 'commit_transaction',
  abort: 'abort_transaction',
});
export type End = (this: unknown) => Promise<void>;

/**
 * A traced `commit()`/`abort()`: a span over the call for the transaction `current()` returns (passed straight
 * through when there is none); `ended` runs once the call succeeded.
 */
function traceOutcome(
  tracing: KafkaTracing,
  info: ClientInfo,
  current: () => TransactionTrace | undefined,
  outcome: Outcome,
  original: (this: unknown) => Promise<void>,
  ended?: (txn: TransactionTrace) => void,
): (this: unknown) => Promise<void> {
  return function end(this: unknown): Promise<void> {
    const txn = current();
    if (!tracing.isActive() || txn === undefined) return original.call(this);
    let span: Span;
    try {
      info.refresh();
      // Not a settlement of consumed messages nor any of the conventions' operation types: no operation type.
      span = tracing.telemetry.startClientOperation({
        destination: txn.destination(),
        operationName: TRANSACTION_OPERATION[outcome],
        metricAttributes: info.metricAttributes(),
        attributes: clientAttributes(tracing.options.clientId ?? info.clientId, info.clusterId(), {
          [ATTR_MESSAGING_BATCH_MESSAGE_COUNT]: txn.messageCount,
          [ATTR_BROKERTRACE_KAFKA_TRANSACTION_OUTCOME]: outcome,
          [ATTR_BROKERTRACE_KAFKA_TRANSACTION_TOPICS]: [...txn.topics].sort(),
        }),
      });
    } catch (err) {
      log.error(`transaction ${outcome} left untraced`, err);
      return original.call(this);
    }
    const result = tracing.telemetry.run(span, () => original.call(this));
    if (ended === undefined) return result;
    // A failed commit leaves the transaction open (it can still be aborted): only success ends it.
    return Promise.resolve(result).then((value) => {
      ended(txn);
      return value;
    });
  };
}

/** A copy of the transaction object whose send, sendBatch, commit and abort are traced. */
export function traceTransactionObject(tracing: KafkaTracing, info: ClientInfo, transaction: KafkaTransaction): KafkaTransaction {
  if (transaction === null || typeof transaction !== 'object') return transaction;
  const txn = new TransactionTrace();
  const { send, sendBatch, commit, abort } = transaction as { [K in keyof KafkaTransaction]?: unknown };
  const traced: KafkaTransaction = { ...transaction };
  if (typeof send === 'function') traced.send = traceSend(tracing, info, send as Send, txn);
  if (typeof sendBatch === 'function') traced.sendBatch = traceSendBatch(tracing, info, sendBatch as SendBatch, txn);
  if (typeof commit === 'function') traced.commit = traceOutcome(tracing, info, () => txn, 'commit', commit as End);
  if (typeof abort === 'function') traced.abort = traceOutcome(tracing, info, () => txn, 'abort', abort as End);
  return traced;
}

/**
 * `commit()` / `abort()` of a producer that is its own transaction object (Confluent's): ends the transaction its
 * traced `transaction()` opened; passes straight through when there is none.
 */
export function traceProducerOutcome(tracing: KafkaTracing, info: ClientInfo, outcome: Outcome, original: End): End {
  return traceOutcome(tracing, info, () => info.transaction, outcome, original, (txn) => {
    if (info.transaction === txn) info.transaction = undefined;
  });
}

/**
 * `producer.transaction`, traced: resolves to the traced transaction object. A producer whose `transaction()`
 * resolves to the producer itself (Confluent's: one transaction at a time per producer) stays as it is, and the
 * transaction is followed on the producer (its sends, its `commit()`/`abort()`), whose objects nothing copies.
 */
export function traceTransaction(
  tracing: KafkaTracing,
  info: ClientInfo,
  original: (this: unknown, ...args: unknown[]) => Promise<KafkaTransaction>,
): (this: unknown, ...args: unknown[]) => Promise<KafkaTransaction> {
  return function transaction(this: unknown, ...args: unknown[]): Promise<KafkaTransaction> {
    const pending = original.apply(this, args);
    if (!tracing.isActive() || typeof pending?.then !== 'function') return pending;
    return pending.then((t) => {
      try {
        if (t === this) {
          info.transaction = new TransactionTrace();
          return t;
        }
        return traceTransactionObject(tracing, info, t);
      } catch (err) {
        log.error('transaction left untraced', err);
        return t;
      }
    });
  };
}
