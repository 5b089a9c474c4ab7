// DeleteMessage(Batch) and ChangeMessageVisibility(Batch) as settle spans (CLIENT, under the caller's context,
// usually the process span), tied to their messages by receipt handle (`messaging.message.id`).
import { ATTR_MESSAGING_MESSAGE_ID } from '@brokertrace/core';
import { trace, context } from '@opentelemetry/api';
import { batchOutcome, callAttributes, callInSpan } from './call.js';
import { log } from './diag.js';
import type { BatchOutput, InitializeArgs, InitializeHandler, InitializeOutput, ReceiptInput } from './internal-types.js';
import { queueNameOf } from './queue.js';
import { shared } from './shared.js';
import type { SqsTracing } from './tracing.js';

/** `messaging.operation.name` of each settle command. */
export const SETTLE_OPERATIONS = Object.freeze({
  DeleteMessageCommand: { name: 'delete', batch: false, deletes: true },
  DeleteMessageBatchCommand: { name: 'delete', batch: true, deletes: true },
  ChangeMessageVisibilityCommand: { name: 'change_visibility', batch: false, deletes: false },
  ChangeMessageVisibilityBatchCommand: { name: 'change_visibility', batch: true, deletes: false },
});
export type SettleCommand = keyof typeof SETTLE_OPERATIONS;

/** The settle middleware of one of the four commands. */
export function settle(tracing: SqsTracing, command: SettleCommand, args: InitializeArgs, next: InitializeHandler): Promise<InitializeOutput> {
  const input = args.input as ReceiptInput | undefined;
  if (input === null || typeof input !== 'object') return next(args);
  const queueUrl = typeof input.QueueUrl === 'string' ? input.QueueUrl : undefined;
  const queueName = queueNameOf(queueUrl);
  const telemetry = tracing.telemetry;
  if (telemetry.isIgnored(queueName)) return next(args);
  const op = SETTLE_OPERATIONS[command];
  const receipts = shared().receipts;
  let handles: string[];
  let span;
  try {
    const entries = op.batch ? (Array.isArray(input.Entries) ? input.Entries : []) : [{ ReceiptHandle: input.ReceiptHandle }];
    handles = entries.map((e) => (e !== null && typeof e === 'object' && typeof e.ReceiptHandle === 'string' ? e.ReceiptHandle : ''));
    const attributes = callAttributes(tracing, queueUrl, command.slice(0, -'Command'.length));
    if (!op.batch) {
      const id = receipts.get(handles[0]!)?.messageId;
      if (id !== undefined) attributes[ATTR_MESSAGING_MESSAGE_ID] = id;
    }
    span = telemetry.startSettle({
      destination: queueName,
      operationName: op.name,
      batch: op.batch,
      messageCount: handles.length,
      attributes,
      metricAttributes: tracing.endpoints.attributesOf(queueUrl),
    });
  } catch (err) {
    log.error(`${command} left untraced`, err);
    return next(args);
  }
  const settleSpan = span;
  return callInSpan(tracing, settleSpan, trace.setSpan(context.active(), settleSpan), () => next(args), (output) => {
    if (op.deletes) {
      const failed = new Set((output as BatchOutput | undefined)?.Failed?.map((f) => f.Id) ?? []);
      const entries = op.batch && Array.isArray(input.Entries) ? input.Entries : undefined;
      handles.forEach((h, i) => {
        if (entries === undefined || !failed.has(entries[i]?.Id)) receipts.delete(h);
      });
    }
    return op.batch ? batchOutcome(settleSpan, output as BatchOutput | undefined, handles.length) : undefined;
  });
}
