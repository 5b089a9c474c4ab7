// processMessage / processBatch: a process span around the user's handler for messages SQS handed over (pull
// loops, sqs-consumer, AWS Lambda records), parented or linked by core's policy; the handler's own return value
// (or promise) comes back unchanged.
import { ATTR_MESSAGING_MESSAGE_ID } from '@brokertrace/core';
import type { ConsumedMessage, MessageFacts } from '@brokertrace/core';
import { context } from '@opentelemetry/api';
import type { Attributes, Context, Span } from '@opentelemetry/api';
import { carrierOf, sqsCarrierGetter } from './carrier.js';
import type { SqsCarrier } from './carrier.js';
import { log, warnOnce } from './diag.js';
import { factsOf } from './facts.js';
import type { LambdaSqsRecord, SqsMessage } from './internal-types.js';
import { queueNameOf } from './queue.js';
import { ATTR_AWS_SQS_QUEUE_URL, ATTR_BROKERTRACE_SQS_SNS_ENVELOPE } from './semconv.js';
import { shared } from './shared.js';
import { tracingFor } from './tracing.js';
import type { SqsTracing } from './tracing.js';
import type { ProcessOptions } from './types.js';
import { AWS_TRACE_HEADER } from './xray.js';

/** One message, whatever its shape, as the process span needs it. */
interface MessageView {
  tracing: SqsTracing;
  queueName: string;
  queueUrl: string | undefined;
  facts: MessageFacts;
  carrier: SqsCarrier;
  /** A traced client's receive span already counted it as consumed. */
  countedByReceive: boolean;
}

function isLambdaRecord(message: object): message is LambdaSqsRecord {
  return 'messageId' in message || 'receiptHandle' in message || 'eventSourceARN' in message;
}

/** A message from ReceiveMessage or a Lambda record, as far as its own fields tell. */
function isKnownShape(message: unknown): message is SqsMessage | LambdaSqsRecord {
  if (message === null || typeof message !== 'object') return false;
  return isLambdaRecord(message) || 'MessageId' in message || 'ReceiptHandle' in message || 'Body' in message || 'body' in message;
}

function viewOf(message: SqsMessage | LambdaSqsRecord, options: ProcessOptions | undefined, fallback: SqsTracing | undefined): MessageView | undefined {
  if (!isKnownShape(message)) {
    // A Lambda event instead of one of its Records, an SDK response instead of one of its Messages...
    warnOnce('unknown-message', 'processMessage/processBatch was handed something that is neither an SQS message nor a Lambda SQS record (pass event.Records[i] or Messages[i]); handled untraced');
    return undefined;
  }
  const info = shared().received.get(message);
  if (info !== undefined) {
    const tracing = info.tracing;
    return {
      tracing,
      queueName: info.queueName,
      queueUrl: info.queueUrl,
      facts: factsOf(info.queueName, (message as SqsMessage).MessageId, info.system),
      carrier: carrierOf(info.attributes, info.system?.[AWS_TRACE_HEADER], (message as SqsMessage).Body, tracing.options.snsEnvelope),
      countedByReceive: true,
    };
  }
  const tracing = fallback ?? tracingFor(options?.config);
  const snsEnvelope = tracing.options.snsEnvelope;
  if (isLambdaRecord(message)) {
    const source = options?.queueUrl ?? message.eventSourceARN;
    const queueName = queueNameOf(source);
    const system = message.attributes;
    return {
      tracing,
      queueName,
      queueUrl: options?.queueUrl !== undefined && options.queueUrl.includes('://') ? options.queueUrl : undefined,
      facts: factsOf(queueName, message.messageId, system),
      carrier: carrierOf(message.messageAttributes, system?.[AWS_TRACE_HEADER], message.body, snsEnvelope),
      countedByReceive: false,
    };
  }
  const queueUrl = options?.queueUrl;
  const queueName = queueNameOf(queueUrl);
  const system = message.Attributes;
  return {
    tracing,
    queueName,
    queueUrl: queueUrl !== undefined && queueUrl.includes('://') ? queueUrl : undefined,
    facts: factsOf(queueName, message.MessageId, system),
    carrier: carrierOf(message.MessageAttributes, system?.[AWS_TRACE_HEADER], message.Body, snsEnvelope),
    countedByReceive: false,
  };
}

function spanAttributes(view: MessageView): Attributes {
  const attributes: Attributes = {};
  if (view.facts.messageId !== undefined) attributes[ATTR_MESSAGING_MESSAGE_ID] = view.facts.messageId;
  if (view.queueUrl !== undefined) attributes[ATTR_AWS_SQS_QUEUE_URL] = view.queueUrl;
  if (view.carrier.fromSnsEnvelope) attributes[ATTR_BROKERTRACE_SQS_SNS_ENVELOPE] = true;
  return attributes;
}

/**
 * Runs `handler(message)` inside a `process {queue}` span (CONSUMER) for one message SQS handed over: a message
 * from `ReceiveMessage` (SDK shape) or a record of an AWS Lambda SQS event (`event.Records[i]`). The span is a
 * child of the message's creation context or linked to it, by the policy (age from `SentTimestamp`, deliveries
 * from `ApproximateReceiveCount`, `DeadLetterQueueSourceArn`); the decision is recorded on it. It ends when the
 * handler returns or throws, or when its promise settles; errors are recorded and rethrown unchanged, and
 * whatever the handler returns is returned as it is. Never throws on its own.
 *
 * @example
 * const { Messages = [] } = await client.send(new ReceiveMessageCommand({ QueueUrl }));
 * for (const m of Messages) await processMessage(m, {}, (msg) => handle(msg));
 * // AWS Lambda:
 * export const handler = (event) => Promise.all(event.Records.map((r) => processMessage(r, {}, handleRecord)));
 */
export function processMessage<M extends SqsMessage | LambdaSqsRecord, T>(message: M, options: ProcessOptions | undefined, handler: (message: M) => T): T {
  const started = startMessageSpan(undefined, message, options);
  if (started === undefined) return handler(message);
  return started.tracing.telemetry.run(started.span, () => handler(message), started.context);
}

/** A started process span and the tracing that owns it. */
export interface StartedSpan {
  tracing: SqsTracing;
  span: Span;
  context: Context;
}

/**
 * Starts the process span of one message (the consumer hook run), or undefined when it is not traced. `fallback`:
 * the tracing for messages no traced client received (default: by `options.config`). Never throws.
 */
export function startMessageSpan(fallback: SqsTracing | undefined, message: SqsMessage | LambdaSqsRecord, options: ProcessOptions | undefined): StartedSpan | undefined {
  try {
    const view = viewOf(message, options, fallback);
    if (view === undefined || !view.tracing.isActive() || view.tracing.telemetry.isIgnored(view.queueName)) return undefined;
    const telemetry = view.tracing.telemetry;
    const { span, context: ctx } = telemetry.startProcess({
      destination: view.queueName,
      facts: view.facts,
      carrier: view.carrier,
      getter: sqsCarrierGetter,
      parent: options?.parent ?? context.active(),
      countedByReceive: view.countedByReceive,
      attributes: spanAttributes(view),
      metricAttributes: view.tracing.endpoints.attributesOf(view.queueUrl),
    });
    telemetry.runHook(view.tracing.options.consumerHook, span, { queueName: view.queueName, message });
    return { tracing: view.tracing, span, context: ctx };
  } catch (err) {
    log.error('the message is handled untraced', err);
    return undefined;
  }
}

/**
 * Runs `handler(messages)` inside one `process {queue}` span (CONSUMER) for messages handled together (an
 * sqs-consumer batch handler, a Lambda batch), with one link per message that carries a context. All messages
 * must come from one queue. Returns what the handler returns, unchanged.
 */
export function processBatch<M extends SqsMessage | LambdaSqsRecord, T>(messages: ReadonlyArray<M>, options: ProcessOptions | undefined, handler: (messages: ReadonlyArray<M>) => T): T {
  const started = startBatchSpan(undefined, messages, options);
  if (started === undefined) return handler(messages);
  return started.tracing.telemetry.run(started.span, () => handler(messages), started.context);
}

/** Starts the process span of messages handled together, or undefined when they are not traced. Never throws. */
export function startBatchSpan(fallback: SqsTracing | undefined, messages: ReadonlyArray<SqsMessage | LambdaSqsRecord>, options: ProcessOptions | undefined): StartedSpan | undefined {
  try {
    // Array.isArray narrows a ReadonlyArray to any[]: ask it of an unknown.
    const given: unknown = messages;
    if (!Array.isArray(given)) {
      warnOnce('batch-not-array', 'processBatch was handed something that is not an array of messages; handled untraced');
      return undefined;
    }
    const views = messages.map((m) => viewOf(m, options, fallback)).filter((v): v is MessageView => v !== undefined);
    const first = views[0];
    const tracing = first?.tracing ?? fallback ?? tracingFor(options?.config);
    const queueName = first?.queueName ?? queueNameOf(options?.queueUrl);
    if (!tracing.isActive() || tracing.telemetry.isIgnored(queueName)) return undefined;
    const queueUrl = first?.queueUrl;
    const { span, context: ctx } = tracing.telemetry.startBatch({
      destination: queueName,
      operationType: 'process',
      messages: views.map((v): ConsumedMessage => ({ facts: v.facts, carrier: v.carrier, countedByReceive: v.countedByReceive })),
      getter: sqsCarrierGetter,
      parent: options?.parent ?? context.active(),
      attributes: queueUrl !== undefined ? { [ATTR_AWS_SQS_QUEUE_URL]: queueUrl } : undefined,
      metricAttributes: tracing.endpoints.attributesOf(queueUrl),
    });
    return { tracing, span, context: ctx };
  } catch (err) {
    log.error('the messages are handled untraced', err);
    return undefined;
  }
}
