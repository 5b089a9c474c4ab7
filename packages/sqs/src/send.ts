// SendMessage and SendMessageBatch: a send span per call, a create span per batch entry (core's startSend), the
// context of each message fitted into SQS's budget (10 attributes, names SQS accepts, body + attributes within
// the queue's maximum size, the batch within the same total) and written into COPIES of the input and entries.
import { ATTR_MESSAGING_MESSAGE_ID, copyWith } from '@brokertrace/core';
import type { CarrierLimits, InjectResult, OutgoingMessage, SendResult } from '@brokertrace/core';
import type { Span, SpanContext } from '@opentelemetry/api';
import { MAX_ATTRIBUTES, MAX_NAME_LENGTH, bodyBytes, isValidAttributeName, isValidAttributeValue, measureAttributes, stringAttribute } from './attributes.js';
import { SqsBatchEntriesFailed, batchOutcome, callAttributes, callInSpan } from './call.js';
import { log } from './diag.js';
import type { BatchOutput, InitializeArgs, InitializeHandler, InitializeOutput, SendMessageBatchEntry, SendMessageBatchInput, SendMessageInput, SqsMessageAttributeValue } from './internal-types.js';
import { queueNameOf } from './queue.js';
import { ATTR_AWS_SQS_QUEUE_URL } from './semconv.js';
import type { SqsTracing } from './tracing.js';
import { AWS_TRACE_HEADER, toXRayHeader } from './xray.js';

function acceptsAttribute(key: string, value: string): boolean {
  return isValidAttributeName(key) && isValidAttributeValue(value);
}

/** Bytes core counts on top of key and value for each attribute we add: its DataType, `String`. */
const STRING_TYPE_BYTES = 6;

/**
 * Each message's budget. Core counts an existing attribute as name + DataType + value + the per-entry overhead,
 * so the overhead of the existing ones is given back; the room left is what the body and the attributes leave
 * of `maxMessageBytes`, and in a batch at most an even share of what the whole batch leaves.
 */
function limitsFor(entries: ReadonlyArray<SendMessageInput>, maxMessageBytes: number, batch: boolean): CarrierLimits[] {
  const sizes = entries.map((entry) => {
    const { count, bytes } = measureAttributes(entry.MessageAttributes);
    return { count, bytes, body: bodyBytes(entry.MessageBody) };
  });
  let share = Infinity;
  if (batch && entries.length > 0) {
    let used = 0;
    for (const s of sizes) used += s.body + s.bytes;
    share = Math.floor(Math.max(0, maxMessageBytes - used) / entries.length);
  }
  return sizes.map((s) => ({
    maxEntries: MAX_ATTRIBUTES,
    maxKeyBytes: MAX_NAME_LENGTH,
    entryOverheadBytes: STRING_TYPE_BYTES,
    maxTotalBytes: s.bytes + STRING_TYPE_BYTES * s.count + Math.max(0, Math.min(maxMessageBytes - s.body - s.bytes, share)),
    // A name SQS refuses or an empty value would fail the whole request: core drops and records such fields.
    acceptsEntry: acceptsAttribute,
  }));
}

/**
 * A copy of `entry` with the injected fields as String attributes (and `AWSTraceHeader` when asked); fields SQS
 * would refuse (a name it does not accept, an empty value) are left out and returned. `entry` is only read; it is
 * returned as it is when there is nothing to add.
 */
function withContext(
  entry: SendMessageInput,
  injection: InjectResult | undefined,
  xray: string | undefined,
  refused: string[],
): SendMessageInput {
  let attributes: Record<string, SqsMessageAttributeValue> | undefined;
  if (injection !== undefined) {
    const fields = injection.fields;
    for (const key in fields) {
      const value = fields[key]!;
      if (!isValidAttributeName(key) || !isValidAttributeValue(value)) {
        refused.push(key);
        continue;
      }
      (attributes ??= { ...entry.MessageAttributes })[key] = stringAttribute(value);
    }
  }
  let system: Record<string, SqsMessageAttributeValue> | undefined;
  if (xray !== undefined && entry.MessageSystemAttributes?.[AWS_TRACE_HEADER] === undefined) {
    system = { ...entry.MessageSystemAttributes, [AWS_TRACE_HEADER]: stringAttribute(xray) };
  }
  if (attributes === undefined && system === undefined) return entry;
  const copy = attributes !== undefined ? copyWith(entry, 'MessageAttributes', attributes) : entry;
  return system !== undefined ? copyWith(copy, 'MessageSystemAttributes', system) : copy;
}

interface PreparedSend {
  result: SendResult;
  entries: SendMessageInput[];
  /** Open create spans by entry (batch): each ends with its entry's outcome. */
  creates: Array<Span | undefined>;
}

/** Starts the spans and builds the entries to send (copies where anything was added). */
function prepare(tracing: SqsTracing, queueUrl: string | undefined, queueName: string, entries: ReadonlyArray<SendMessageInput>, batch: boolean): PreparedSend {
  const options = tracing.options;
  const limits = limitsFor(entries, options.maxMessageBytes, batch);
  // A create span is no SDK call: the queue URL only, not the call's RPC attributes.
  const createAttributes = queueUrl !== undefined ? { [ATTR_AWS_SQS_QUEUE_URL]: queueUrl } : undefined;
  const messages: OutgoingMessage[] = entries.map((entry, i) => ({ existing: entry.MessageAttributes, limits: limits[i], attributes: createAttributes }));
  const creationContexts: Array<SpanContext | undefined> = new Array<SpanContext | undefined>(entries.length);
  const hook = options.producerHook;
  const result = tracing.telemetry.startSend({
    destination: queueName,
    batch,
    endCreates: false,
    messages,
    attributes: callAttributes(tracing, queueUrl, batch ? 'SendMessageBatch' : 'SendMessage'),
    metricAttributes: tracing.endpoints.attributesOf(queueUrl),
    onCreate: (span: Span, i: number) => {
      creationContexts[i] = span.spanContext();
      tracing.telemetry.runHook(hook, span, { queueName, queueUrl, message: entries[i]! });
    },
  });
  const creates = result.creates ?? [];
  try {
    return { result, entries: finish(tracing, result, entries, creationContexts, queueName, queueUrl, batch), creates };
  } catch (err) {
    for (const span of creates) if (span !== undefined) tracing.telemetry.end(span, err);
    tracing.telemetry.endUnsent(result.span, err);
    throw err;
  }
}

/** The entries to send, with each one's context added (copies). */
function finish(
  tracing: SqsTracing,
  result: SendResult,
  entries: ReadonlyArray<SendMessageInput>,
  creationContexts: ReadonlyArray<SpanContext | undefined>,
  queueName: string,
  queueUrl: string | undefined,
  batch: boolean,
): SendMessageInput[] {
  const options = tracing.options;
  const sendContext = result.span.spanContext();
  const refused: string[] = [];
  const out = entries.map((entry, i) => {
    const injection = result.injections[i];
    // A message that kept its own context (no injection, no create span) gets no AWSTraceHeader of ours either.
    const own = injection !== undefined ? (creationContexts[i] ?? sendContext) : undefined;
    const xray = options.writeAwsTraceHeader ? toXRayHeader(own) : undefined;
    return withContext(entry, injection, xray, refused);
  });
  if (!batch) tracing.telemetry.runHook(options.producerHook, result.span, { queueName, queueUrl, message: out[0]! });
  // core's acceptsEntry already keeps these out; this is the last guard before a request SQS would refuse.
  if (refused.length > 0) tracing.telemetry.recordDropped(result.span, refused);
  return out;
}

/** Ends each entry's create span with its outcome: `messaging.message.id` when sent, the entry's code when refused. */
function endCreates(tracing: SqsTracing, creates: ReadonlyArray<Span | undefined>, entries: ReadonlyArray<SendMessageBatchEntry>, output: BatchOutput | undefined): void {
  if (creates.length === 0) return;
  const byId = new Map<string, { id?: string; error?: Error }>();
  for (const ok of output?.Successful ?? []) if (typeof ok.Id === 'string') byId.set(ok.Id, { id: ok.MessageId });
  for (const failed of output?.Failed ?? []) {
    if (typeof failed.Id !== 'string') continue;
    byId.set(failed.Id, { error: new SqsBatchEntriesFailed(failed.Code ?? 'Failed', String(failed.Message ?? failed.Code ?? 'entry failed')) });
  }
  creates.forEach((span, i) => {
    if (span === undefined) return;
    const outcome = byId.get(String(entries[i]?.Id));
    if (outcome?.id !== undefined && span.isRecording()) span.setAttribute(ATTR_MESSAGING_MESSAGE_ID, outcome.id);
    tracing.telemetry.end(span, outcome?.error);
  });
}

/** The SendMessage middleware: traces the call, sends a copy of the input with the context added. */
export function sendMessage(tracing: SqsTracing, args: InitializeArgs, next: InitializeHandler): Promise<InitializeOutput> {
  const input = args.input as SendMessageInput | undefined;
  if (input === null || typeof input !== 'object') return next(args);
  const queueUrl = typeof input.QueueUrl === 'string' ? input.QueueUrl : undefined;
  const queueName = queueNameOf(queueUrl);
  if (tracing.telemetry.isIgnored(queueName)) return next(args);
  let prepared: PreparedSend;
  try {
    prepared = prepare(tracing, queueUrl, queueName, [input], false);
  } catch (err) {
    log.error('SendMessage left untraced', err);
    return next(args);
  }
  const { result, entries } = prepared;
  const sent: InitializeArgs = { ...args, input: entries[0] };
  return callInSpan(tracing, result.span, result.context, () => next(sent), (output) => {
    const id = (output as { MessageId?: unknown } | undefined)?.MessageId;
    if (typeof id === 'string' && result.span.isRecording()) result.span.setAttribute(ATTR_MESSAGING_MESSAGE_ID, id);
    return undefined;
  });
}

/** The SendMessageBatch middleware: a create span and a context per entry, copies of the array and entries. */
export function sendMessageBatch(tracing: SqsTracing, args: InitializeArgs, next: InitializeHandler): Promise<InitializeOutput> {
  const input = args.input as SendMessageBatchInput | undefined;
  if (input === null || typeof input !== 'object' || !Array.isArray(input.Entries)) return next(args);
  const queueUrl = typeof input.QueueUrl === 'string' ? input.QueueUrl : undefined;
  const queueName = queueNameOf(queueUrl);
  if (tracing.telemetry.isIgnored(queueName)) return next(args);
  const callerEntries = input.Entries;
  let prepared: PreparedSend;
  try {
    const entries = callerEntries.map((e) => (e !== null && typeof e === 'object' ? e : {}));
    prepared = prepare(tracing, queueUrl, queueName, entries, true);
  } catch (err) {
    log.error('SendMessageBatch left untraced', err);
    return next(args);
  }
  const { result, entries, creates } = prepared;
  const sent: InitializeArgs = { ...args, input: copyWith(input, 'Entries', entries) };
  return callInSpan(
    tracing,
    result.span,
    result.context,
    () => next(sent),
    (output) => {
      endCreates(tracing, creates, entries, output as BatchOutput | undefined);
      return batchOutcome(result.span, output as BatchOutput | undefined, entries.length);
    },
    (error) => {
      for (const span of creates) if (span !== undefined) tracing.telemetry.end(span, error);
    },
  );
}
