// The `floor` variant: the least any instrumentation must do per message with this SDK, written plainly on
// `@opentelemetry/api` (no brokertrace code), so that it measures the SDK and not us. Shared by every workload.
// - produce: a PRODUCER span per message with the four required attributes, its context injected into a copy
//   of the message's headers, ended when the send resolves;
// - consume: the context extracted from the headers, a CONSUMER span under it with the same four attributes,
//   the handler run in its context, the span ended when the handler settles.
// Names and attributes are built once per destination: a per-message cost that an instrumentation can avoid
// does not belong in the floor.
import {
  context,
  defaultTextMapSetter,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
} from '@opentelemetry/api';

/**
 * Message headers as the clients hand them over: kafkajs gives Buffers (or arrays of them), amqplib and Pub/Sub
 * strings, SQS `{ DataType, StringValue }` message attributes.
 */
export type Headers = Record<string, unknown>;

const text = (value: unknown): string | undefined => {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  // SQS: a String message attribute
  if (typeof value === 'object' && value !== null && typeof (value as { StringValue?: unknown }).StringValue === 'string') {
    return (value as { StringValue: string }).StringValue;
  }
  return undefined;
};

/** Reads headers whose values may be Buffers (kafkajs), strings (amqplib, Pub/Sub) or SQS attributes. */
const getter: TextMapGetter<Headers> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    return Array.isArray(value) ? value.map((v) => text(v) ?? '') : text(value);
  },
};

/** Writes the context as SQS String message attributes, the shape `SendMessage` takes. */
export const sqsAttributeSetter: TextMapSetter<Headers> = {
  set: (carrier, key, value) => {
    carrier[key] = { DataType: 'String', StringValue: value };
  },
};

/** The floor for one destination of one broker. */
export class Floor {
  private readonly sendName: string;
  private readonly processName: string;
  private readonly sendAttributes: Attributes;
  private readonly processAttributes: Attributes;
  // Once, after the SDK is registered: the SDK's own tracer, not a proxy.
  private readonly tracer: Tracer = trace.getTracer('bench-floor');

  /** @param system `messaging.system`; @param sendOperation `messaging.operation.name` of a send (`send`, `publish`) */
  constructor(system: string, destination: string, sendOperation: string) {
    this.sendName = `${sendOperation} ${destination}`;
    this.processName = `process ${destination}`;
    const common = { 'messaging.system': system, 'messaging.destination.name': destination };
    this.sendAttributes = { ...common, 'messaging.operation.name': sendOperation, 'messaging.operation.type': 'send' };
    this.processAttributes = { ...common, 'messaging.operation.name': 'process', 'messaging.operation.type': 'process' };
  }

  /**
   * Produce: starts one message's PRODUCER span; returns it and a copy of `headers` carrying its context
   * (written by `setter`: plain values by default, {@link sqsAttributeSetter} for SQS).
   */
  startSend<H extends Headers>(headers: H | undefined, setter: TextMapSetter<Headers> = defaultTextMapSetter): { span: Span; headers: H } {
    const active = context.active();
    const span = this.tracer.startSpan(this.sendName, { kind: SpanKind.PRODUCER, attributes: this.sendAttributes }, active);
    const copy = { ...headers } as H;
    propagation.inject(trace.setSpan(active, span), copy, setter);
    return { span, headers: copy };
  }

  /** Consume: runs `handler` in the context of a CONSUMER span under the message's creation context. */
  process<T>(headers: Headers | undefined, handler: () => T): T {
    const parent = headers ? propagation.extract(ROOT_CONTEXT, headers, getter) : ROOT_CONTEXT;
    const span = this.tracer.startSpan(this.processName, { kind: SpanKind.CONSUMER, attributes: this.processAttributes }, parent);
    let result: T;
    try {
      result = context.with(trace.setSpan(parent, span), handler);
    } catch (error) {
      end(span, error);
      throw error;
    }
    if (result instanceof Promise) {
      result.then(
        () => end(span),
        (error: unknown) => end(span, error),
      );
    } else {
      end(span);
    }
    return result;
  }
}

/** Ends a span, marked failed if `error` is given (the floor records no more than the status). */
export function end(span: Span, error?: unknown): void {
  if (error !== undefined && error !== null) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

/** Ends `spans` when `sent` settles; resolves or rejects as `sent` does. */
export async function endWhenSent<T>(spans: readonly Span[], sent: Promise<T>): Promise<T> {
  try {
    const result = await sent;
    for (const span of spans) span.end();
    return result;
  } catch (error) {
    for (const span of spans) end(span, error);
    throw error;
  }
}
