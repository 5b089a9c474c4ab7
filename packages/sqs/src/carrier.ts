// Where a received message's creation context travels, whatever shape the message has: SDK message attributes
// `{DataType, StringValue}`, Lambda record attributes `{dataType, stringValue}`, an SNS notification envelope's
// `{Type, Value}` in the body, and the X-Ray `AWSTraceHeader` system attribute (read by core's interop).
import { propagation } from '@opentelemetry/api';
import type { TextMapGetter } from '@opentelemetry/api';
import { AWS_TRACE_HEADER } from './xray.js';

/** What core extracts from: the attributes to read, and the X-Ray header if the message has one. */
export interface SqsCarrier {
  attributes: Readonly<Record<string, unknown>> | undefined;
  xray: string | undefined;
  /** The attributes came from an SNS notification envelope. */
  fromSnsEnvelope: boolean;
}

/** The raw string of one attribute in any of the three shapes (core normalises SDK shapes itself). */
function rawValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return typeof value === 'string' ? value : undefined;
  const v = value as Record<string, unknown>;
  if ('DataType' in v) return value;
  if (typeof v.stringValue === 'string') return v.stringValue;
  if (typeof v.Value === 'string' && typeof v.Type === 'string' && v.Type.startsWith('String')) return v.Value;
  return undefined;
}

function isObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return value !== null && typeof value === 'object';
}

// The attributes are the sender's: a getter that throws or a proxy among them reads as absent.
export const sqsCarrierGetter: TextMapGetter<SqsCarrier> = {
  keys(carrier) {
    let keys: string[] = [];
    try {
      if (isObject(carrier.attributes)) keys = Object.keys(carrier.attributes);
    } catch {
      keys = [];
    }
    if (typeof carrier.xray === 'string') keys.push(AWS_TRACE_HEADER);
    return keys;
  },
  get(carrier, key) {
    const attributes = carrier.attributes;
    try {
      if (isObject(attributes) && Object.hasOwn(attributes, key)) {
        const value = rawValue(attributes[key]);
        if (value !== undefined) return value as string;
      }
    } catch {
      // read as absent
    }
    if (key === AWS_TRACE_HEADER && typeof carrier.xray === 'string') return carrier.xray;
    return undefined;
  },
};

function hasPropagationField(attributes: Readonly<Record<string, unknown>> | undefined): boolean {
  if (!isObject(attributes)) return false;
  const fields = propagation.fields();
  try {
    for (let i = 0; i < fields.length; i++) if (Object.hasOwn(attributes, fields[i]!)) return true;
  } catch {
    // a proxy: no field we can read
  }
  return false;
}

/**
 * The `MessageAttributes` of an SNS notification envelope (`{"Type":"Notification", ..., "MessageAttributes": {...}}`),
 * or undefined when the body is not one. Only bodies that look like SNS's JSON are parsed.
 */
export function snsEnvelopeAttributes(body: unknown): Record<string, unknown> | undefined {
  if (typeof body !== 'string' || body.length < 2 || body.charCodeAt(0) !== 123 /* { */) return undefined;
  if (!body.includes('"TopicArn"') || !body.includes('"MessageAttributes"')) return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed === null || typeof parsed !== 'object') return undefined;
    const envelope = parsed as { Type?: unknown; MessageAttributes?: unknown };
    if (envelope.Type !== 'Notification') return undefined;
    const attributes = envelope.MessageAttributes;
    return attributes !== null && typeof attributes === 'object' && !Array.isArray(attributes) ? (attributes as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The carrier of one message: its own attributes when they hold a propagation field, else (with `snsEnvelope`)
 * the SNS envelope's when the body is one, else its own; plus `AWSTraceHeader`.
 */
export function carrierOf(
  attributes: Readonly<Record<string, unknown>> | undefined,
  xray: string | undefined,
  body: unknown,
  snsEnvelope: boolean,
): SqsCarrier {
  if (snsEnvelope && !hasPropagationField(attributes)) {
    const envelope = snsEnvelopeAttributes(body);
    if (envelope !== undefined && hasPropagationField(envelope)) return { attributes: envelope, xray, fromSnsEnvelope: true };
  }
  return { attributes, xray, fromSnsEnvelope: false };
}
