// Header value normalisation and sizing: every broker keeps metadata in its own shape.

const utf8 = new TextDecoder('utf-8', { fatal: false });

function bytesToString(value: Uint8Array): string {
  return Buffer.isBuffer(value) ? value.toString('utf8') : utf8.decode(value);
}

/**
 * Turns one header/attribute/property value into a string, whatever shape the broker gave it:
 * string; Buffer or Uint8Array (UTF-8); number, bigint or boolean; an array (the first element that
 * normalises wins, elements are never joined); AMQP typed `{'!': type, value}`; SQS
 * `{ DataType, StringValue | BinaryValue }`. Anything else gives `undefined`. Never throws.
 */
export function headerValueToString(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(value);
    case 'object':
      break;
    default:
      return undefined;
  }
  if (value === null) return undefined;
  try {
    if (value instanceof Uint8Array) return bytesToString(value);
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const s = headerValueToString(value[i]);
        if (s !== undefined) return s;
      }
      return undefined;
    }
    const record = value as Record<string, unknown>;
    if ('!' in record && 'value' in record) return headerValueToString(record.value);
    if ('DataType' in record) {
      const s = record.StringValue;
      if (typeof s === 'string') return s;
      const b = record.BinaryValue;
      if (b instanceof Uint8Array) return bytesToString(b);
      return undefined;
    }
  } catch {
    // A hostile getter or proxy: no value.
  }
  return undefined;
}

/** UTF-8 byte length of a string, without allocating for the common all-ASCII case. */
export function utf8Length(s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s, 'utf8');
  }
  return n;
}

/**
 * Bytes a value already in a message takes (its serialised form, approximately where the broker's
 * encoding is not ours to know). Used to count what the message holds before we add to it.
 */
export function valueByteSize(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return utf8Length(value);
    case 'number':
      return 8;
    case 'bigint':
      return 8;
    case 'boolean':
      return 1;
    case 'object':
      break;
    default:
      return 0;
  }
  if (value === null) return 0;
  try {
    if (value instanceof Uint8Array) return value.byteLength;
    if (Array.isArray(value)) {
      let total = 0;
      for (let i = 0; i < value.length; i++) total += valueByteSize(value[i]);
      return total;
    }
    const record = value as Record<string, unknown>;
    if ('!' in record && 'value' in record) return valueByteSize(record.value);
    if ('DataType' in record) {
      // SQS counts the data type name too.
      const t = record.DataType;
      return (typeof t === 'string' ? utf8Length(t) : 0) + valueByteSize(record.StringValue ?? record.BinaryValue);
    }
    if (value instanceof Date) return 8;
    // Some other structure (an AMQP nested table): its JSON size is a fair estimate.
    return utf8Length(JSON.stringify(value) ?? '');
  } catch {
    return 0;
  }
}
