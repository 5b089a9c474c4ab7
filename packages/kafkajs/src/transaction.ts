// Transactional producers: sends inside `producer.transaction()` are traced like any send (and marked
// transactional); `commit()` and `abort()` each get a span saying what became of the transaction's messages,
// named `commit_transaction` / `abort_transaction` so that they never mix with a consumer's offset `commit`.
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

type Outcome = 'commit' | 'abort';

/** `messaging.operation.name` of the span that ends a transaction (apart from the consumer's `commit`). */
export const TRANSACTION_OPERATION: Readonly<Record<Outcome, string>> = Object.freeze({
  commit: 'commit_transaction',
  abort: 'abort_transaction',
});
type End = (this: unknown) => Promise<void>;

function traceOutcome(
  tracing: KafkaTracing,
  info: ClientInfo,
  txn: TransactionTrace,
  outcome: Outcome,
  original: (this: unknown) => Promise<void>,
): (this: unknown) => Promise<void> {
  return function end(this: unknown): Promise<void> {
    if (!tracing.isActive()) return original.call(this);
    let span: Span;
    try {
      span = tracing.telemetry.startSettle({
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
    return tracing.telemetry.run(span, () => original.call(this));
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
  if (typeof commit === 'function') traced.commit = traceOutcome(tracing, info, txn, 'commit', commit as End);
  if (typeof abort === 'function') traced.abort = traceOutcome(tracing, info, txn, 'abort', abort as End);
  return traced;
}

/** `producer.transaction`, traced: resolves to the traced transaction object. */
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
        return traceTransactionObject(tracing, info, t);
      } catch (err) {
        log.error('transaction left untraced', err);
        return t;
      }
    });
  };
}
