import { diag, propagation } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import type { CarrierLimits, ExistingEntries, InjectResult } from './types.js';
import { utf8Length, valueByteSize } from './values.js';
import { trimBaggage, truncateTraceState } from './truncate.js';

const TRACEPARENT = 'traceparent';
const TRACESTATE = 'tracestate';
const BAGGAGE = 'baggage';

/** Running budget of one message while fields are placed into it (one object per call, no closures). */
interface Budget {
  entries: number;
  total: number;
  maxEntries: number;
  maxKeyBytes: number;
  maxValueBytes: number;
  maxTotalBytes: number;
  overhead: number;
}

function limitOf(value: number | undefined): number {
  return typeof value === 'number' && value >= 0 ? value : Infinity;
}

/** Bytes an existing entry takes (key + value + overhead), or -1 when the message does not hold the key. */
function existingEntrySize(existing: ExistingEntries, key: string, overhead: number): number {
  if (existing == null) return -1;
  if (existing instanceof Map) {
    const map = existing as ReadonlyMap<string, unknown>;
    return map.has(key) ? utf8Length(key) + valueByteSize(map.get(key)) + overhead : -1;
  }
  const record = existing as Readonly<Record<string, unknown>>;
  return Object.hasOwn(record, key) ? utf8Length(key) + valueByteSize(record[key]) + overhead : -1;
}

function measureExisting(existing: ExistingEntries, budget: Budget): void {
  if (existing == null) return;
  const overhead = budget.overhead;
  if (existing instanceof Map) {
    for (const [key, value] of existing as ReadonlyMap<string, unknown>) {
      budget.entries++;
      budget.total += utf8Length(String(key)) + valueByteSize(value) + overhead;
    }
    return;
  }
  const record = existing as Readonly<Record<string, unknown>>;
  for (const key in record) {
    if (!Object.hasOwn(record, key)) continue;
    budget.entries++;
    budget.total += utf8Length(key) + valueByteSize(record[key]) + overhead;
  }
}

/**
 * Places one field into the budget; returns the value to write (possibly truncated) or undefined when
 * the field does not fit at all. Parts it leaves out are pushed to `dropped`.
 */
function place(
  budget: Budget,
  existing: ExistingEntries,
  key: string,
  value: string,
  dropped: string[],
): string | undefined {
  const keyBytes = utf8Length(key);
  if (keyBytes > budget.maxKeyBytes) return undefined;
  const previous = existingEntrySize(existing, key, budget.overhead);
  // Replacing a key the message already has takes no new entry and frees the old value's bytes.
  const entriesAfter = previous >= 0 ? budget.entries : budget.entries + 1;
  if (entriesAfter > budget.maxEntries) return undefined;
  const totalWithout = previous >= 0 ? budget.total - previous : budget.total;
  const room = Math.min(budget.maxValueBytes, budget.maxTotalBytes - totalWithout - keyBytes - budget.overhead);
  if (room < 0) return undefined;
  let out = value;
  let valueBytes = utf8Length(value);
  if (valueBytes > room) {
    if (key === TRACESTATE) out = truncateTraceState(value, room, dropped);
    else if (key === BAGGAGE) out = trimBaggage(value, room, dropped);
    else return undefined;
    if (out === '') return undefined;
    valueBytes = utf8Length(out);
  }
  budget.entries = entriesAfter;
  budget.total = totalWithout + keyBytes + valueBytes + budget.overhead;
  return out;
}

/**
 * Computes the context entries to add to a message. The GLOBAL propagator (`propagation.inject`) writes into a
 * scratch object; the result is then fitted into `limits` given what the message already holds (`existing`):
 * priority `traceparent` > `tracestate` > `baggage` > anything else the propagator wrote; `tracestate` is
 * truncated by the W3C rule (members over 128 characters first, then from the right), `baggage` by whole
 * members from the end; a key the message already has is replaced, not counted twice. `existing` is only
 * read. Never throws: a throwing propagator gives no fields.
 *
 * @example
 * const { fields, dropped } = injectContext(context.active(), message.MessageAttributes, BROKER_LIMITS.aws_sqs);
 * const attributes = { ...message.MessageAttributes };
 * for (const key in fields) attributes[key] = { DataType: 'String', StringValue: fields[key] };
 */
export function injectContext(ctx: Context, existing: ExistingEntries, limits?: CarrierLimits): InjectResult {
  const fields: Record<string, string> = {};
  const dropped: string[] = [];
  try {
    propagation.inject(ctx, fields);
  } catch (err) {
    diag.warn('brokertrace: the global propagator threw on inject; the message is sent without context', err);
    return { fields: {}, dropped };
  }
  try {
    const budget: Budget = {
      entries: 0,
      total: 0,
      maxEntries: limitOf(limits?.maxEntries),
      maxKeyBytes: limitOf(limits?.maxKeyBytes),
      maxValueBytes: limitOf(limits?.maxValueBytes),
      maxTotalBytes: limitOf(limits?.maxTotalBytes),
      overhead: limits?.entryOverheadBytes ?? 0,
    };
    if (budget.maxEntries !== Infinity || budget.maxTotalBytes !== Infinity) measureExisting(existing, budget);

    let haveParent = true;
    if (Object.hasOwn(fields, TRACEPARENT)) haveParent = fit(budget, existing, fields, TRACEPARENT, dropped);
    if (Object.hasOwn(fields, TRACESTATE)) {
      // tracestate means nothing without its traceparent (W3C).
      if (haveParent) fit(budget, existing, fields, TRACESTATE, dropped);
      else drop(fields, TRACESTATE, dropped);
    }
    if (Object.hasOwn(fields, BAGGAGE)) fit(budget, existing, fields, BAGGAGE, dropped);
    for (const key in fields) {
      if (key === TRACEPARENT || key === TRACESTATE || key === BAGGAGE) continue;
      fit(budget, existing, fields, key, dropped);
    }
    return { fields, dropped };
  } catch (err) {
    diag.warn('brokertrace: could not size the message metadata; the message is sent without context', err);
    return { fields: {}, dropped: Object.keys(fields) };
  }
}

function drop(fields: Record<string, string>, key: string, dropped: string[]): void {
  delete fields[key];
  dropped.push(key);
}

function fit(
  budget: Budget,
  existing: ExistingEntries,
  fields: Record<string, string>,
  key: string,
  dropped: string[],
): boolean {
  const value = fields[key];
  const placed = typeof value === 'string' ? place(budget, existing, key, value, dropped) : undefined;
  if (placed === undefined) {
    // Parts recorded while trying are superseded by the whole field.
    const prefix = key + ':';
    while (dropped.length > 0 && dropped[dropped.length - 1]!.startsWith(prefix)) dropped.pop();
    drop(fields, key, dropped);
    return false;
  }
  if (placed !== value) fields[key] = placed;
  return true;
}
