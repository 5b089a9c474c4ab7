// State that every copy of this package loaded in one process must share (the CJS and the ESM build are two
// copies): kept under a global symbol, never in module variables. Everything in it is bounded.
import type { SqsTracing } from './tracing.js';
import type { SqsConfig } from './types.js';

/** What we keep aside for a message a traced client received (the caller's message shows only what it asked for). */
export interface ReceivedInfo {
  readonly tracing: SqsTracing;
  readonly queueName: string;
  readonly queueUrl: string | undefined;
  /** Every system attribute SQS returned (the caller's and ours). */
  readonly system: Readonly<Partial<Record<string, string>>> | undefined;
  /** Every message attribute SQS returned (the caller's and the propagation fields we asked for). */
  readonly attributes: Readonly<Record<string, unknown>> | undefined;
}

/** What a receipt handle tells a settle span about its message. */
export interface ReceiptInfo {
  readonly messageId: string | undefined;
}

/** Receipt handles remembered for settle spans; the oldest are forgotten first. */
export const MAX_RECEIPTS = 10000;

export interface SharedState {
  /** Messages received through a traced client -> what we asked for on top of the caller. */
  readonly received: WeakMap<object, ReceivedInfo>;
  /** Receipt handle -> message, for DeleteMessage / ChangeMessageVisibility spans (insertion order = age). */
  readonly receipts: Map<string, ReceiptInfo>;
  /** Tracing setups by config object (sqsTracing, processMessage), and the one for "no config". */
  readonly tracingByConfig: WeakMap<SqsConfig, SqsTracing>;
  defaultTracing: SqsTracing | undefined;
}

// Bump the version when SharedState changes shape: two different versions then keep apart, safely.
const KEY = Symbol.for('@brokertrace/sqs/shared@1');

export function shared(): SharedState {
  const holder = globalThis as { [KEY]?: SharedState };
  return (holder[KEY] ??= {
    received: new WeakMap(),
    receipts: new Map(),
    tracingByConfig: new WeakMap(),
    defaultTracing: undefined,
  });
}

/** Remembers a receipt handle (bounded: the oldest goes when full). */
export function rememberReceipt(handle: string | undefined, info: ReceiptInfo): void {
  if (typeof handle !== 'string' || handle === '') return;
  const receipts = shared().receipts;
  receipts.delete(handle);
  receipts.set(handle, info);
  if (receipts.size > MAX_RECEIPTS) {
    const oldest = receipts.keys().next();
    if (oldest.done !== true) receipts.delete(oldest.value);
  }
}
