// Writing a context into a message within the broker's limits: what the global propagator produces, fitted
// into the room the message has left, trace identity first; never mutates the message.
import { propagation } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import type { CarrierLimits, ExistingEntries, InjectResult } from './types.js';
import { utf8Length, valueByteSize } from './values.js';
import { trimBaggage, truncateTraceState } from './truncate.js';
import { coreLog as log } from './diagnostics.js';

const TRACEPARENT = 'traceparent';
const TRACESTATE = 'tracestate';
const BAGGAGE = 'baggage';

/**
 * The fields that identify the trace, whatever the format, in the order they get space: W3C, B3 single, B3 multi
 * (trace id, span id and sampled first: a parent span id alone helps nobody), Jaeger.
 */
const TRACE_FIELDS = ['traceparent', 'b3', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-sampled', 'x-b3-flags', 'x-b3-parentspanid', 'uber-trace-id'];
const RANK_TRACESTATE = TRACE_FIELDS.length;
const RANK_BAGGAGE = RANK_TRACESTATE + 1;
const RANK_OTHER = RANK_BAGGAGE + 1;

/** Where a field comes when space is short: trace identity, then tracestate, then baggage (W3C, Jaeger, OT), then the rest. */
function rankOf(key: string): number {
  const lower = key.toLowerCase();
  const i = TRACE_FIELDS.indexOf(lower);
  if (i >= 0) return i;
  if (lower === TRACESTATE) return RANK_TRACESTATE;
  if (lower === BAGGAGE || lower.startsWith('uberctx-') || lower.startsWith('ot-baggage-')) return RANK_BAGGAGE;
  return RANK_OTHER;
}

function byRank(a: string, b: string): number {
  return rankOf(a) - rankOf(b);
}

/** Running budget of one message while fields are placed into it (one object per call, no closures). */
interface Budget {
  entries: number;
  total: number;
  maxEntries: number;
  maxKeyBytes: number;
  maxValueBytes: number;
  maxTotalBytes: number;
  overhead: number;
  accepts: ((key: string, value: string) => boolean) | undefined;
}

/** The broker's own rule for one entry; a throwing rule refuses it (never throws). */
function accepted(accepts: (key: string, value: string) => boolean, key: string, value: string): boolean {
  try {
    return accepts(key, value) === true;
  } catch (err) {
    log.debug('the carrier limits\' acceptsEntry threw; the field is left out', err);
    return false;
  }
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
  if (budget.accepts !== undefined && !accepted(budget.accepts, key, out)) return undefined;
  budget.entries = entriesAfter;
  budget.total = totalWithout + keyBytes + valueBytes + budget.overhead;
  return out;
}

/**
 * Computes the context entries to add to a message. The GLOBAL propagator (`propagation.inject`) writes into a
 * scratch object; the result is then fitted into `limits` given what the message already holds (`existing`):
 * priority: the fields that identify the trace whatever the format (`traceparent`, `b3`, `x-b3-traceid`,
 * `x-b3-spanid`, `x-b3-sampled`, `x-b3-flags`, `x-b3-parentspanid`, `uber-trace-id`) > `tracestate` > baggage
 * (`baggage`, `uberctx-*`, `ot-baggage-*`) > anything else the propagator wrote; `tracestate` is
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
    log.warn('the global propagator threw on inject; the message is sent without context', err);
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
      accepts: typeof limits?.acceptsEntry === 'function' ? limits.acceptsEntry : undefined,
    };
    if (budget.maxEntries !== Infinity || budget.maxTotalBytes !== Infinity) measureExisting(existing, budget);

    // Whatever the propagator's order, the fields that identify the trace get space first (a B3-only application
    // must not lose X-B3-TraceId to its own baggage). A stable sort: equal ranks keep the propagator's order.
    const keys = Object.keys(fields).sort(byRank);
    let haveParent = true;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (key === TRACESTATE && !haveParent) {
        // tracestate means nothing without its traceparent (W3C).
        drop(fields, TRACESTATE, dropped);
        continue;
      }
      const placed = fit(budget, existing, fields, key, dropped);
      if (key === TRACEPARENT) haveParent = placed;
    }
    return { fields, dropped };
  } catch (err) {
    log.warn('could not size the message metadata; the message is sent without context', err);
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
