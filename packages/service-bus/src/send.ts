// The producer side: sendMessages (one message, an array, or a ServiceBusMessageBatch), tryAddMessage of the
// batches createMessageBatch hands out (each message gets its context before the client encodes it, so the
// batch's size accounting includes it), scheduleMessages and cancelScheduledMessages.
import { isThenable } from '@brokertrace/core';
import type { InjectResult, OutgoingMessage } from '@brokertrace/core';
import { context, trace } from '@opentelemetry/api';
import type { Link, Span, SpanContext } from '@opentelemetry/api';
import { ATTR_BROKERTRACE_SERVICEBUS_BATCH_REJECTED, ATTR_BROKERTRACE_SERVICEBUS_SEQUENCE_NUMBERS } from './attributes.js';
import { diagnosticIdContext, limitsFor, propertiesGetter, propertiesOf, withContext } from './carrier.js';
import { sentIdAttributes } from './facts.js';
import type { Entity } from './destination.js';
import { log } from './diag.js';
import type { LongLike, MessageBatchLike, ServiceBusMessageLike } from './internal-types.js';
import type { ServiceBusTracing } from './tracing.js';
import type { SendOperation } from './types.js';

type Method = (this: unknown, ...args: unknown[]) => unknown;

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object';
}

/** A ServiceBusMessageBatch (the client tells them apart the same way: by their tryAddMessage). */
export function isBatch(value: unknown): value is MessageBatchLike {
  return isObject(value) && typeof value.tryAddMessage === 'function' && !Array.isArray(value);
}

interface Started {
  span: Span;
  ctx: ReturnType<typeof context.active>;
  /** The messages to hand the client (copies where we added something). */
  copies: unknown[];
}

/** Starts send/schedule spans for `messages` (create spans per message when `batch`) and prepares the copies. */
function startSend(tracing: ServiceBusTracing, entity: Entity, operation: SendOperation, messages: unknown[], batch: boolean): Started {
  const { telemetry, options } = tracing;
  const replace = !telemetry.keepsExistingContext;
  const props = messages.map((m) => (isObject(m) ? propertiesOf(m as ServiceBusMessageLike) : undefined));
  // Each message's ids go on its own create span; a single message's on the send span (recorded only).
  const creates = batch && telemetry.createSpans;
  const outgoing: OutgoingMessage[] = messages.map((m, i) => ({
    existing: props[i],
    getter: propertiesGetter,
    limits: isObject(m) ? limitsFor(m as ServiceBusMessageLike, options.writeDiagnosticId, props[i]) : undefined,
    attributes: creates && isObject(m) ? sentIdAttributes(m as ServiceBusMessageLike) : undefined,
  }));
  const single = !batch && messages.length === 1 && isObject(messages[0]) ? (messages[0] as ServiceBusMessageLike) : undefined;
  const copies = messages.slice();
  const result = telemetry.startSend({
    destination: entity.destination,
    operationName: operation,
    batch,
    messages: outgoing,
    metricAttributes: entity.metricAttributes,
    recordedAttributes: single !== undefined ? () => sentIdAttributes(single) ?? {} : undefined,
    onCreate: (span, i) => {
      const message = messages[i];
      if (isObject(message)) telemetry.runHook(options.producerHook, span, { destination: entity.destination, message: message });
    },
  });
  try {
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i];
      if (!isObject(message)) continue;
      copies[i] = withContext(message, props[i], result.injections[i], options.writeDiagnosticId, replace);
    }
  } catch (err) {
    // A message we cannot copy (a Proxy, a throwing getter): the call goes out untraced, and its span ends here.
    telemetry.endUnsent(result.span, err);
    throw err;
  }
  if (!creates) {
    const only = messages.length === 1 && isObject(copies[0]) ? (copies[0] as ServiceBusMessageLike) : undefined;
    if (only !== undefined) telemetry.runHook(options.producerHook, result.span, { destination: entity.destination, message: only });
  }
  telemetry.runHook(options.sendHook, result.span, { destination: entity.destination, operation, messageCount: messages.length });
  return { span: result.span, ctx: result.context, copies };
}

/**
 * The send span of a traced batch (CLIENT): its messages were encoded with their create span's context (or the
 * one they kept) when added, so it links to those contexts and counts the batch's messages.
 */
function startBatchSend(tracing: ServiceBusTracing, entity: Entity, batch: MessageBatchLike): Started {
  const creations = tracing.batches.get(batch) ?? [];
  const links: Link[] = [];
  for (let i = 0; i < creations.length; i++) {
    const sc = creations[i];
    if (sc !== undefined) links.push({ context: sc });
  }
  const { telemetry } = tracing;
  const result = telemetry.startSend({ destination: entity.destination, batch: true, messageCount: creations.length, links, metricAttributes: entity.metricAttributes });
  telemetry.runHook(tracing.options.sendHook, result.span, { destination: entity.destination, operation: 'send', messageCount: creations.length });
  return { span: result.span, ctx: result.context, copies: [batch] };
}

/** The traced `sendMessages` of one sender. */
export function traceSendMessages(tracing: ServiceBusTracing, entity: Entity, original: Method): Method {
  return function sendMessages(this: unknown, ...args: unknown[]): unknown {
    const messages = args[0];
    if (!tracing.isActive() || tracing.telemetry.isIgnored(entity.destination) || messages === null || typeof messages !== 'object') {
      return original.apply(this, args);
    }
    const traced = isBatch(messages) && tracing.batches.has(messages);
    const telemetry = tracing.telemetry;
    let started: Started | undefined;
    try {
      if (traced) started = startBatchSend(tracing, entity, messages);
      else if (isBatch(messages)) started = undefined; // a batch we did not trace: its messages are encoded already
      else if (Array.isArray(messages)) started = startSend(tracing, entity, 'send', messages, true);
      else started = startSend(tracing, entity, 'send', [messages], false);
    } catch (err) {
      log.error('could not trace a send; the messages are sent untraced', err);
    }
    if (started === undefined) return original.apply(this, args);
    const call = [Array.isArray(messages) ? started.copies : started.copies[0], ...args.slice(1)];
    // The client turns an array into a batch of its own (createMessageBatch, synchronously): left untraced.
    tracing.sendDepth++;
    try {
      return telemetry.run(started.span, () => original.apply(this, call), started.ctx);
    } finally {
      tracing.sendDepth--;
    }
  };
}

/** The traced `createMessageBatch` of one sender: the batch it resolves to gets a traced tryAddMessage. */
export function traceCreateMessageBatch(tracing: ServiceBusTracing, entity: Entity, original: Method): Method {
  return function createMessageBatch(this: unknown, ...args: unknown[]): unknown {
    const result = original.apply(this, args);
    if (tracing.sendDepth > 0 || !tracing.isActive() || tracing.telemetry.isIgnored(entity.destination) || !isThenable(result)) return result;
    return (result as Promise<unknown>).then((batch) => {
      try {
        if (isBatch(batch)) traceBatch(tracing, entity, batch);
      } catch (err) {
        // A batch whose fields cannot be read (a Proxy): the caller still gets it, untraced.
        log.error('could not trace a message batch; its messages go untraced', err);
      }
      return batch;
    });
  };
}

/** Replaces `tryAddMessage` on one batch instance (the client encodes the message there and keeps only bytes). */
function traceBatch(tracing: ServiceBusTracing, entity: Entity, batch: MessageBatchLike): void {
  if (tracing.batches.has(batch)) return;
  const creations: Array<SpanContext | undefined> = [];
  const original = Reflect.get(batch, 'tryAddMessage') as Method;
  try {
    Object.defineProperty(batch, 'tryAddMessage', {
      value: function tryAddMessage(this: unknown, ...args: unknown[]): unknown {
        return addTraced(tracing, entity, creations, original, this, args);
      },
      writable: true,
      enumerable: false,
      configurable: true,
    });
    tracing.batches.set(batch, creations);
  } catch (err) {
    log.warn('this batch cannot be traced (tryAddMessage cannot be replaced); its messages go untraced', err);
  }
}

function addTraced(tracing: ServiceBusTracing, entity: Entity, creations: Array<SpanContext | undefined>, original: Method, self: unknown, args: unknown[]): unknown {
  const message = args[0];
  if (!tracing.isActive() || !isObject(message)) return original.apply(self, args);
  const { telemetry, options } = tracing;
  let span: Span | undefined;
  let creation: SpanContext | undefined;
  let copy: ServiceBusMessageLike = message;
  try {
    const props = propertiesOf(copy);
    const replace = !telemetry.keepsExistingContext;
    // Core's keep rule looks for the propagator's keys; an Azure SDK's Diagnostic-Id alone is ours to see.
    creation = replace ? undefined : diagnosticIdContext(props);
    let injection: InjectResult | undefined;
    if (creation === undefined) {
      // The message is encoded now, the send happens later, with other messages: an open create span of its own.
      const created = telemetry.startCreate({
        destination: entity.destination,
        metricAttributes: entity.metricAttributes,
        message: { existing: props, getter: propertiesGetter, limits: limitsFor(copy, options.writeDiagnosticId, props), attributes: sentIdAttributes(copy) },
      });
      if (created.kept !== undefined) {
        creation = created.kept;
      } else {
        span = created.span;
        injection = created.injection;
        const sc = span.spanContext();
        creation = trace.isSpanContextValid(sc) ? sc : undefined;
      }
    }
    copy = withContext(copy, props, injection, options.writeDiagnosticId, replace);
    if (span !== undefined) telemetry.runHook(options.producerHook, span, { destination: entity.destination, message: copy });
  } catch (err) {
    log.error('could not trace a message added to a batch; it is added untraced', err);
  }
  let added: unknown;
  try {
    added = original.apply(self, [copy, ...args.slice(1)]);
  } catch (err) {
    if (span !== undefined) telemetry.endUnsent(span, err);
    throw err;
  }
  if (added === true) creations.push(creation);
  if (span !== undefined) {
    if (added !== true && span.isRecording()) span.setAttribute(ATTR_BROKERTRACE_SERVICEBUS_BATCH_REJECTED, true);
    telemetry.end(span);
  }
  return added;
}

/** The traced `scheduleMessages(messages, scheduledEnqueueTimeUtc, options?)`: the sequence numbers on the span. */
export function traceScheduleMessages(tracing: ServiceBusTracing, entity: Entity, original: Method): Method {
  return function scheduleMessages(this: unknown, ...args: unknown[]): unknown {
    const messages = args[0];
    if (!tracing.isActive() || tracing.telemetry.isIgnored(entity.destination) || messages === null || typeof messages !== 'object') {
      return original.apply(this, args);
    }
    let started: Started | undefined;
    try {
      started = startSend(tracing, entity, 'schedule', Array.isArray(messages) ? messages : [messages], Array.isArray(messages));
    } catch (err) {
      log.error('could not trace a schedule; the messages are scheduled untraced', err);
    }
    if (started === undefined) return original.apply(this, args);
    const { span, ctx, copies } = started;
    const telemetry = tracing.telemetry;
    let result: unknown;
    try {
      result = context.with(ctx, () => original.apply(this, [Array.isArray(messages) ? copies : copies[0], ...args.slice(1)]));
    } catch (err) {
      telemetry.end(span, err);
      throw err;
    }
    if (!isThenable(result)) {
      telemetry.end(span);
      return result;
    }
    return (result as Promise<unknown>).then(
      (sequenceNumbers) => {
        try {
          if (Array.isArray(sequenceNumbers) && span.isRecording()) {
            span.setAttribute(ATTR_BROKERTRACE_SERVICEBUS_SEQUENCE_NUMBERS, (sequenceNumbers as LongLike[]).map((n) => String(n)));
          }
        } catch (err) {
          log.debug('recording sequence numbers failed', err);
        }
        telemetry.end(span);
        return sequenceNumbers;
      },
      (err: unknown) => {
        telemetry.end(span, err);
        throw err;
      },
    );
  };
}

/** The traced `cancelScheduledMessages(sequenceNumbers)`: a CLIENT `cancel_scheduled` span. */
export function traceCancelScheduled(tracing: ServiceBusTracing, entity: Entity, original: Method): Method {
  return function cancelScheduledMessages(this: unknown, ...args: unknown[]): unknown {
    if (!tracing.isActive() || tracing.telemetry.isIgnored(entity.destination)) return original.apply(this, args);
    const seqs = args[0];
    const list = Array.isArray(seqs) ? seqs : [seqs];
    let span: Span | undefined;
    try {
      span = tracing.telemetry.startClientOperation({
        destination: entity.destination,
        operationName: 'cancel_scheduled',
        batch: Array.isArray(seqs),
        messageCount: list.length,
        metricAttributes: entity.metricAttributes,
        attributes: { [ATTR_BROKERTRACE_SERVICEBUS_SEQUENCE_NUMBERS]: list.map((n) => String(n)) },
      });
    } catch (err) {
      log.error('could not trace cancelScheduledMessages', err);
    }
    if (span === undefined) return original.apply(this, args);
    return tracing.telemetry.run(span, () => original.apply(this, args));
  };
}
