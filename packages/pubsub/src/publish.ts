// The producer side: `Publisher#publishMessage`, the one place every publish path passes through (publish,
// publishJSON, publishMessage, flowControlled()), and `Topic#request` for the batch publish RPC.
import { ATTR_MESSAGING_GCP_PUBSUB_MESSAGE_ORDERING_KEY, ATTR_MESSAGING_MESSAGE_ID, copyWith, isThenable, setOwn } from '@brokertrace/core';
import { context, trace } from '@opentelemetry/api';
import type { Attributes, Span, SpanContext } from '@opentelemetry/api';
import { topicId } from './attributes.js';
import { log } from './diag.js';
import { endpointAttributes } from './endpoint.js';
import type { PublishCallback, PublishMessage, RequestConfig, TopicInternal } from './internal-types.js';
import { startMessageSpan, startRpcSpan } from './spans.js';
import type { PubSubTracing } from './tracing.js';

type PublishMessageFn = (this: unknown, message: PublishMessage, callback?: PublishCallback) => unknown;
type RequestFn = (this: unknown, config: RequestConfig, callback?: (...args: unknown[]) => void) => unknown;

/** The message as the client will hold it: a copy, with a copy of the attributes that carries our context. */
interface Prepared {
  copy: PublishMessage;
  span: Span | undefined;
}

function prepare(tracing: PubSubTracing, topic: string, message: PublishMessage, metricAttributes: Attributes): Prepared | undefined {
  if (message === null || typeof message !== 'object') return undefined;
  const given = message.attributes;
  const existing = given !== null && typeof given === 'object' ? given : undefined;
  const orderingKey = message.orderingKey;
  const attributes: Attributes = {};
  if (typeof orderingKey === 'string' && orderingKey !== '') attributes[ATTR_MESSAGING_GCP_PUBSUB_MESSAGE_ORDERING_KEY] = orderingKey;
  const { span, creation, fields } = startMessageSpan(tracing, topic, existing, attributes, metricAttributes);
  let copy: PublishMessage;
  let copyAttributes: Record<string, string>;
  try {
    // A new object every time: the client shares the caller's attributes object otherwise, and the batch RPC
    // finds the message's context by this object's identity.
    copyAttributes = Object.assign({}, existing, fields);
    copy = copyWith(message, 'attributes', copyAttributes);
    // The size the client cached for batching (flowControlled() computes it before publishing) no longer counts
    // our attributes: unset it so the batch recomputes it.
    if (copy.calculatedSize !== undefined) setOwn(copy, 'calculatedSize', undefined);
  } catch (err) {
    // A message we cannot copy (a throwing getter, a Proxy): it goes out untraced, and its span ends here.
    if (span !== undefined) tracing.telemetry.endUnsent(span, err);
    throw err;
  }
  if (creation !== undefined) {
    tracing.published.set(copyAttributes, { creation });
    // With the client's own tracing on (enableOpenTelemetryTracing), it takes this as the message's span and
    // neither starts a second create span nor injects a second context (nor warns about googclient_traceparent).
    // A non-recording view: the client's end()/updateName()/addEvent() calls on it do nothing to our span.
    if (copy.parentSpan === undefined) setOwn(copy, 'parentSpan', trace.wrapSpanContext(creation));
  }
  if (span !== undefined) {
    tracing.telemetry.runHook(tracing.options.publishHook, span, { topic, message: copy });
  }
  return { copy, span };
}

function finish(tracing: PubSubTracing, span: Span | undefined, error: unknown, messageId: unknown): void {
  if (span === undefined) return;
  try {
    if (error === null || error === undefined) {
      if (typeof messageId === 'string' && messageId !== '' && span.isRecording()) span.setAttribute(ATTR_MESSAGING_MESSAGE_ID, messageId);
      tracing.telemetry.end(span);
    } else {
      tracing.telemetry.end(span, error);
    }
  } catch (err) {
    log.debug('ending a publish span failed', err);
  }
}

/** The traced `publishMessage` of one topic's Publisher. */
export function tracePublishMessage(tracing: PubSubTracing, topic: TopicInternal, original: PublishMessageFn): PublishMessageFn {
  return function publishMessage(this: unknown, message: PublishMessage, callback?: PublishCallback): unknown {
    // eslint-disable-next-line prefer-rest-params
    const args = arguments as unknown as Parameters<PublishMessageFn>;
    const destination = topicId(topic.name);
    if (!tracing.isActive() || tracing.telemetry.isIgnored(destination)) return original.apply(this, args);
    let prepared: Prepared | undefined;
    try {
      prepared = prepare(tracing, destination, message, endpointAttributes(topic.pubsub));
    } catch (err) {
      log.error('could not trace a publish; the message is published untraced', err);
    }
    if (prepared === undefined) return original.apply(this, args);
    const { copy, span } = prepared;
    let result: unknown;
    try {
      if (typeof callback === 'function') {
        result = original.call(this, copy, (error, messageId) => {
          finish(tracing, span, error, messageId);
          callback(error, messageId);
        });
      } else {
        result = original.call(this, copy);
      }
    } catch (err) {
      // The client's own checks (data not a Buffer, an attribute value not a string): nothing was queued.
      if (span !== undefined) tracing.telemetry.endUnsent(span, err);
      throw err;
    }
    if (typeof callback !== 'function' && isThenable(result)) {
      // The caller holds the very promise the client returned and handles its rejection.
      void Promise.resolve(result).then(
        (messageId) => finish(tracing, span, undefined, messageId),
        (err: unknown) => finish(tracing, span, err, undefined),
      );
    }
    return result;
  };
}

function ownString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The traced `request` of one topic: a `send` span around each batch publish RPC, all other RPCs untouched. */
export function traceRequest(tracing: PubSubTracing, topic: TopicInternal, original: RequestFn): RequestFn {
  return function request(this: unknown, config: RequestConfig, callback?: (...args: unknown[]) => void): unknown {
    // eslint-disable-next-line prefer-rest-params
    const args = arguments as unknown as Parameters<RequestFn>;
    const messages = config?.method === 'publish' && typeof callback === 'function' ? config.reqOpts?.messages : undefined;
    const destination = topicId(topic.name);
    // createSpans: false: each message's own send span carries its context and counts it; no batch span.
    if (!Array.isArray(messages) || !tracing.isActive() || !tracing.telemetry.createSpans || tracing.telemetry.isIgnored(destination)) {
      return original.apply(this, args);
    }
    let span: Span | undefined;
    let ctx = context.active();
    try {
      const creations: Array<SpanContext | undefined> = [];
      for (const m of messages as ReadonlyArray<{ attributes?: unknown; orderingKey?: unknown }>) {
        const attributes = m?.attributes;
        creations.push(attributes !== null && typeof attributes === 'object' ? tracing.published.get(attributes)?.creation : undefined);
      }
      const orderingKey = ownString((messages[0] as { orderingKey?: unknown } | undefined)?.orderingKey);
      const attributes: Attributes | undefined = orderingKey === undefined ? undefined : { [ATTR_MESSAGING_GCP_PUBSUB_MESSAGE_ORDERING_KEY]: orderingKey };
      const started = startRpcSpan(tracing, destination, creations, attributes, endpointAttributes(topic.pubsub));
      span = started.span;
      ctx = started.context;
      tracing.telemetry.runHook(tracing.options.sendHook, span, { topic: destination, messageCount: messages.length, orderingKey });
    } catch (err) {
      log.error('could not trace a batch publish; it is sent untraced', err);
    }
    if (span === undefined) return original.apply(this, args);
    const rpc = span;
    const done = (...results: unknown[]): void => {
      const error = results[0];
      tracing.telemetry.end(rpc, error === null ? undefined : error);
      callback!(...results);
    };
    try {
      return context.with(ctx, () => original.call(this, config, done));
    } catch (err) {
      tracing.telemetry.end(rpc, err);
      throw err;
    }
  };
}
