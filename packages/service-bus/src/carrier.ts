// Our context in a message's applicationProperties: the budget (64 KB for the whole header, system
// properties included, 32 KB per property), the copy we hand the client (the caller's objects are never
// written), `Diagnostic-Id` (Azure's key in every language) written alongside, and read as the message's own
// context when it carries no W3C one.
import { BROKER_LIMITS, DIAGNOSTIC_ID, copyWith, extractSpanContext, utf8Length } from '@brokertrace/core';
import type { CarrierLimits, InjectResult } from '@brokertrace/core';
import type { SpanContext, TextMapGetter } from '@opentelemetry/api';
import type { ApplicationPropertyValue, ServiceBusMessageLike } from './internal-types.js';

type Properties = Readonly<Record<string, ApplicationPropertyValue>>;

const SB = BROKER_LIMITS.servicebus;
/** `Diagnostic-Id` and a traceparent value (55 characters). */
const DIAGNOSTIC_ID_BYTES = utf8Length(DIAGNOSTIC_ID) + 55;
/**
 * What the service adds to the header after we are done (sequence number, enqueued time, lock token, locked
 * until, message state, delivery count, enqueued sequence number, partition id: about 200 bytes encoded): kept
 * free so that a message we filled to the budget is not rejected by the service.
 */
const SERVICE_HEADER_BYTES = 256;
const SYSTEM_STRING_FIELDS = ['messageId', 'correlationId', 'subject', 'sessionId', 'partitionKey', 'replyTo', 'replyToSessionId', 'to', 'contentType'] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  try {
    return !Array.isArray(value);
  } catch {
    return false; // a revoked proxy
  }
}

/** The message's applicationProperties, when they are an object. */
export function propertiesOf(message: ServiceBusMessageLike): Properties | undefined {
  let props: unknown;
  try {
    props = message.applicationProperties;
  } catch {
    return undefined;
  }
  return isRecord(props) ? (props as Properties) : undefined;
}

function systemBytes(message: ServiceBusMessageLike): number {
  let bytes = SERVICE_HEADER_BYTES;
  for (const key of SYSTEM_STRING_FIELDS) {
    let value: unknown;
    try {
      value = message[key];
    } catch {
      continue;
    }
    if (typeof value === 'string') bytes += utf8Length(value) + 8;
    else if (Buffer.isBuffer(value)) bytes += value.length + 8;
    else if (typeof value === 'number') bytes += 16;
  }
  return bytes;
}

/** The budget for our context in this message: what its system properties (and Diagnostic-Id) leave of 64 KB. */
export function limitsFor(message: ServiceBusMessageLike, writeDiagnosticId: boolean, props: Properties | undefined): CarrierLimits {
  const reserve = systemBytes(message) + (writeDiagnosticId && (props === undefined || !Object.hasOwn(props, DIAGNOSTIC_ID)) ? DIAGNOSTIC_ID_BYTES : 0);
  return { ...SB, maxTotalBytes: Math.max(0, (SB.maxTotalBytes ?? 65536) - reserve) };
}

/**
 * Reads applicationProperties for core's "does this message already carry a context?" check: a valid
 * `Diagnostic-Id` answers for `traceparent` when the message has none (a message from an Azure SDK keeps its
 * context as a W3C one would).
 */
export const propertiesGetter: TextMapGetter<unknown> = {
  // Properties of a received message are the sender's: a proxy or getter among them reads as absent.
  keys(carrier: unknown): string[] {
    try {
      return isRecord(carrier) ? Object.keys(carrier) : [];
    } catch {
      return [];
    }
  },
  get(carrier: unknown, key: string): string | string[] | undefined {
    if (!isRecord(carrier)) return undefined;
    try {
      let value = Object.hasOwn(carrier, key) ? carrier[key] : undefined;
      if (value === undefined && key === 'traceparent' && Object.hasOwn(carrier, DIAGNOSTIC_ID)) value = carrier[DIAGNOSTIC_ID];
      return typeof value === 'string' ? value : undefined;
    } catch {
      return undefined;
    }
  },
};

/**
 * The context of a message that carries a `Diagnostic-Id` (an Azure SDK's), or undefined: kept like a W3C one
 * whatever the propagator (core's keep rule looks for the propagator's own keys only).
 */
export function diagnosticIdContext(props: Properties | undefined): SpanContext | undefined {
  if (props === undefined || !Object.hasOwn(props, DIAGNOSTIC_ID)) return undefined;
  return extractSpanContext(props, propertiesGetter);
}

/**
 * The message to hand the client: the caller's own when there is nothing to add, else a shallow copy with a
 * copy of its applicationProperties holding `fields` (and `Diagnostic-Id`, unless it carries its own).
 */
export function withContext(
  message: ServiceBusMessageLike,
  props: Properties | undefined,
  injection: InjectResult | undefined,
  writeDiagnosticId: boolean,
  replace: boolean,
): ServiceBusMessageLike {
  const fields: Record<string, ApplicationPropertyValue> = injection ? { ...injection.fields } : {};
  if (writeDiagnosticId && (replace || props === undefined || !Object.hasOwn(props, DIAGNOSTIC_ID))) {
    // ours, or the W3C context the message kept: one context per message, under both keys
    const traceparent = fields.traceparent ?? (props !== undefined && typeof props.traceparent === 'string' ? props.traceparent : undefined);
    if (typeof traceparent === 'string' && !(injection?.dropped.includes('traceparent') ?? false)) fields[DIAGNOSTIC_ID] = traceparent;
  }
  if (Object.keys(fields).length === 0) return message;
  return copyWith(message, 'applicationProperties', { ...props, ...fields });
}
