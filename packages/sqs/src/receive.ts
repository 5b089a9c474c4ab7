// ReceiveMessage: asks (on a copy of the input) for the system attributes the policy needs and the propagation
// fields; hands the caller messages that hold only what it asked for, keeping the rest aside (shared().received)
// for processMessage; a CLIENT receive span with one link per message.
import type { ConsumedMessage } from '@brokertrace/core';
import { context, propagation } from '@opentelemetry/api';
import type { Attributes, Context } from '@opentelemetry/api';
import { isValidAttributeName, md5OfAttributes } from './attributes.js';
import { callAttributes, setRequestId } from './call.js';
import { carrierOf, sqsCarrierGetter } from './carrier.js';
import { log } from './diag.js';
import { POLICY_SYSTEM_ATTRIBUTES, factsOf } from './facts.js';
import type { InitializeArgs, InitializeHandler, InitializeOutput, ReceiveMessageInput, ReceiveMessageOutput, SqsMessage, SqsMessageAttributeValue } from './internal-types.js';
import { queueNameOf } from './queue.js';
import { rememberReceipt, shared } from './shared.js';
import type { SqsTracing } from './tracing.js';
import { AWS_TRACE_HEADER } from './xray.js';

/** What we ask for on top of the caller, to take back out of every message it gets. */
export interface ReceivePlan {
  input: ReceiveMessageInput;
  addedSystem: readonly string[];
  addedAttributes: readonly string[];
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** Whether a `MessageAttributeNames` list already returns `name`: `All`, `.*`, the name, or a prefix `foo.*`. */
function requests(names: readonly string[], name: string): boolean {
  for (const n of names) {
    if (n === 'All' || n === '.*' || n === name) return true;
    if (n.endsWith('.*') && name.startsWith(n.slice(0, -1))) return true;
  }
  return false;
}

/**
 * The input to send: the caller's, copied, with the policy's system attributes added to
 * `MessageSystemAttributeNames` and the propagation fields (plus `AWSTraceHeader`'s carrier) to
 * `MessageAttributeNames`, each only when the caller's lists do not already return them. The caller's arrays
 * are never written (sqs-consumer passes the same arrays on every poll).
 */
export function planReceive(input: ReceiveMessageInput): ReceivePlan {
  const callerSystem = [...stringList(input.AttributeNames), ...stringList(input.MessageSystemAttributeNames)];
  const addedSystem = callerSystem.includes('All') ? [] : POLICY_SYSTEM_ATTRIBUTES.filter((n) => !callerSystem.includes(n));
  const callerAttributes = stringList(input.MessageAttributeNames);
  const addedAttributes: string[] = [];
  for (const field of propagation.fields()) {
    if (isValidAttributeName(field) && !requests(callerAttributes, field) && !addedAttributes.includes(field)) addedAttributes.push(field);
  }
  if (addedSystem.length === 0 && addedAttributes.length === 0) return { input, addedSystem, addedAttributes };
  const copy: ReceiveMessageInput = { ...input };
  if (addedSystem.length > 0) copy.MessageSystemAttributeNames = [...stringList(input.MessageSystemAttributeNames), ...addedSystem];
  if (addedAttributes.length > 0) copy.MessageAttributeNames = [...callerAttributes, ...addedAttributes];
  return { input: copy, addedSystem, addedAttributes };
}

function without<V>(record: Record<string, V> | undefined, names: readonly string[]): { kept: Record<string, V> | undefined; removed: boolean } {
  if (record === undefined || record === null || typeof record !== 'object' || names.length === 0) return { kept: record, removed: false };
  let kept: Record<string, V> | undefined;
  let removed = false;
  for (const key of Object.keys(record)) {
    if (names.includes(key)) removed = true;
    else (kept ??= {})[key] = record[key]!;
  }
  return { kept: removed ? kept : record, removed };
}

/** Takes what we asked for out of a message the caller gets (the SDK built it for this call: it is ours to change). */
function restoreCallerView(message: SqsMessage, plan: ReceivePlan): void {
  const system = without(message.Attributes, plan.addedSystem);
  if (system.removed) {
    if (system.kept === undefined) delete message.Attributes;
    else message.Attributes = system.kept;
  }
  const attributes = without<SqsMessageAttributeValue>(message.MessageAttributes, plan.addedAttributes);
  if (attributes.removed) {
    if (attributes.kept === undefined) {
      delete message.MessageAttributes;
      delete message.MD5OfMessageAttributes;
    } else {
      message.MessageAttributes = attributes.kept;
      // The digest the caller would have had for the attributes it asked for.
      const md5 = md5OfAttributes(attributes.kept);
      if (md5 !== undefined) message.MD5OfMessageAttributes = md5;
    }
  }
}

/** The ReceiveMessage middleware. */
export function receiveMessage(tracing: SqsTracing, args: InitializeArgs, next: InitializeHandler): Promise<InitializeOutput> {
  const input = args.input as ReceiveMessageInput | undefined;
  if (input === null || typeof input !== 'object') return next(args);
  const queueUrl = typeof input.QueueUrl === 'string' ? input.QueueUrl : undefined;
  const queueName = queueNameOf(queueUrl);
  const telemetry = tracing.telemetry;
  if (telemetry.isIgnored(queueName)) return next(args);
  let plan: ReceivePlan;
  try {
    plan = planReceive(input);
  } catch (err) {
    log.error('ReceiveMessage left untraced', err);
    return next(args);
  }
  // The caller's context: receive is a call the application makes (a pull), so its span is the legitimate parent.
  const ambient = context.active();
  const startTime = telemetry.now();
  const metricAttributes = tracing.endpoints.attributesOf(queueUrl);
  const attributes = callAttributes(tracing, queueUrl, 'ReceiveMessage');
  const sent: InitializeArgs = plan.input === input ? args : { ...args, input: plan.input };
  return next(sent).then(
    (result) => {
      try {
        received(tracing, result?.output as ReceiveMessageOutput | undefined, plan, queueName, queueUrl, ambient, startTime, attributes, metricAttributes);
      } catch (err) {
        log.error('tracing a ReceiveMessage answer failed', err);
      }
      return result;
    },
    (err: unknown) => {
      try {
        const { span } = telemetry.startBatch({ destination: queueName, operationType: 'receive', messages: [], parent: ambient, startTime, attributes, metricAttributes });
        setRequestId(span, err);
        telemetry.end(span, err);
      } catch (e) {
        log.debug('recording a failed ReceiveMessage failed', e);
      }
      throw err;
    },
  );
}

function received(
  tracing: SqsTracing,
  output: ReceiveMessageOutput | undefined,
  plan: ReceivePlan,
  queueName: string,
  queueUrl: string | undefined,
  ambient: Context,
  startTime: number,
  attributes: Attributes,
  metricAttributes: Attributes | undefined,
): void {
  const messages = Array.isArray(output?.Messages) ? output.Messages : [];
  const options = tracing.options;
  const state = shared();
  const consumed: ConsumedMessage[] = [];
  for (const message of messages) {
    if (message === null || typeof message !== 'object') continue;
    const system = message.Attributes;
    const all = message.MessageAttributes;
    state.received.set(message, { tracing, queueName, queueUrl, system, attributes: all });
    rememberReceipt(message.ReceiptHandle, { messageId: message.MessageId });
    consumed.push({
      facts: factsOf(queueName, message.MessageId, system),
      carrier: carrierOf(all, system?.[AWS_TRACE_HEADER], message.Body, options.snsEnvelope),
    });
    restoreCallerView(message, plan);
  }
  if (consumed.length === 0 && !options.traceEmptyReceives) return;
  const telemetry = tracing.telemetry;
  const { span } = telemetry.startBatch({
    destination: queueName,
    operationType: 'receive',
    messages: consumed,
    getter: sqsCarrierGetter,
    parent: ambient,
    startTime,
    attributes,
    metricAttributes,
  });
  telemetry.runHook(options.receiveHook, span, { queueName, queueUrl, messages });
  setRequestId(span, output);
  telemetry.end(span);
}
