// SQS message attributes: which names the service accepts, how big an attribute is in SQS's counting, our
// string fields as attributes, and the MD5 SQS computes over a message's attributes.
import { createHash } from 'node:crypto';
import { utf8Length } from '@brokertrace/core';
import type { SqsMessageAttributeValue } from './internal-types.js';

/** Most attributes one message may carry. */
export const MAX_ATTRIBUTES = 10;
/** Most characters of an attribute name. */
export const MAX_NAME_LENGTH = 256;
/** The DataType of every attribute we write. */
export const STRING_TYPE = 'String';

const NAME_RE = /^[A-Za-z0-9_.-]+$/;
const RESERVED_RE = /^(aws|amazon)\./i;

/**
 * Whether SQS accepts this attribute name: 1-256 of `A-Z a-z 0-9 _ - .`, not starting with `AWS.` or `Amazon.`
 * (any case), not starting or ending with `.`, no `..`.
 */
export function isValidAttributeName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= MAX_NAME_LENGTH &&
    NAME_RE.test(name) &&
    !RESERVED_RE.test(name) &&
    name.charCodeAt(0) !== 46 &&
    name.charCodeAt(name.length - 1) !== 46 &&
    !name.includes('..')
  );
}

/** Characters an SQS string value may hold (XML 1.0: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]). */
// eslint-disable-next-line no-control-regex
const INVALID_CHAR_RE = /[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;

/** Whether SQS accepts this string value (never empty; XML-legal characters only). */
export function isValidAttributeValue(value: string): boolean {
  return value.length > 0 && !INVALID_CHAR_RE.test(value);
}

/** Our string field as an SQS attribute. */
export function stringAttribute(value: string): SqsMessageAttributeValue {
  return { DataType: STRING_TYPE, StringValue: value };
}

/** Bytes of a message body in SQS's counting (UTF-8). */
export function bodyBytes(body: unknown): number {
  return typeof body === 'string' ? utf8Length(body) : 0;
}

/** Bytes one attribute takes toward the message size: name, DataType and value. */
export function attributeBytes(name: string, value: unknown): number {
  let total = utf8Length(name);
  if (value === null || typeof value !== 'object') return total;
  const v = value as SqsMessageAttributeValue;
  if (typeof v.DataType === 'string') total += utf8Length(v.DataType);
  if (typeof v.StringValue === 'string') total += utf8Length(v.StringValue);
  else if (v.BinaryValue instanceof Uint8Array) total += v.BinaryValue.byteLength;
  return total;
}

/** Count and bytes of the attributes a message already has. */
export function measureAttributes(attributes: Readonly<Record<string, unknown>> | undefined): { count: number; bytes: number } {
  let count = 0;
  let bytes = 0;
  if (attributes === undefined || attributes === null || typeof attributes !== 'object') return { count, bytes };
  for (const name in attributes) {
    if (!Object.hasOwn(attributes, name)) continue;
    count++;
    bytes += attributeBytes(name, attributes[name]);
  }
  return { count, bytes };
}

function lengthPrefixed(parts: Buffer[], bytes: Buffer): void {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length, 0);
  parts.push(length, bytes);
}

/**
 * `MD5OfMessageAttributes` as SQS computes it: attributes sorted by name, each as length-prefixed name, type,
 * a transport byte (1 string, 2 binary) and length-prefixed value. Undefined for no attributes.
 */
export function md5OfAttributes(attributes: Readonly<Record<string, SqsMessageAttributeValue>>): string | undefined {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const parts: Buffer[] = [];
  for (const name of names) {
    const v = attributes[name]!;
    lengthPrefixed(parts, Buffer.from(name, 'utf8'));
    lengthPrefixed(parts, Buffer.from(v.DataType ?? '', 'utf8'));
    if (v.BinaryValue !== undefined) {
      parts.push(Buffer.from([2]));
      lengthPrefixed(parts, Buffer.from(v.BinaryValue));
    } else {
      parts.push(Buffer.from([1]));
      lengthPrefixed(parts, Buffer.from(v.StringValue ?? '', 'utf8'));
    }
  }
  return createHash('md5').update(Buffer.concat(parts)).digest('hex');
}
