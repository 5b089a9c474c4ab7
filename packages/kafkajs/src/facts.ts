// Reading what a Kafka message says about itself: the facts core's child-or-link policy needs, and the
// attributes of its spans. Header values arrive as Buffers (or strings), repeated keys as arrays.
import { headerValueToString } from '@brokertrace/core';
import type { MessageFacts } from '@brokertrace/core';
import type { KafkaHeaders, KafkaHeaderValue } from './internal-types.js';

/** Identity of a consumed record: unique per topic partition, so it also serves duplicate detection. */
export function recordId(topic: string, partition: number, offset: string): string {
  return `${topic}/${partition}/${offset}`;
}

/**
 * kafkajs gives `timestamp` as a decimal string of epoch ms; `-1` (no timestamp, old formats) means unknown, and so
 * does `0`: kafkajs 1.4.0 writes 0 for a message sent without a timestamp, which would make every message look
 * 56 years old (stale, linked instead of a child).
 */
export function timestampMs(timestamp: unknown): number | undefined {
  if (typeof timestamp !== 'string' && typeof timestamp !== 'number') return undefined;
  const ms = Number(timestamp);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

// `fatal`: bytes that are not valid UTF-8 throw instead of turning into U+FFFD. Stateless between calls.
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The message key as a span attribute: strings as they are, bytes only when they are valid UTF-8 (a binary key
 * such as an Avro, int64 or UUID encoding has no canonical string form, and the conventions say to leave it
 * out); `null` has none.
 */
export function keyToString(key: unknown): string | undefined {
  if (typeof key === 'string') return key;
  if (!(key instanceof Uint8Array)) return undefined;
  try {
    return STRICT_UTF8.decode(key);
  } catch {
    return undefined;
  }
}

/** Finds a header by exact name, else case-insensitively (Kafka header keys are case-sensitive bytes). */
export function findHeader(headers: KafkaHeaders | undefined, name: string): KafkaHeaderValue {
  if (!headers) return undefined;
  if (Object.prototype.hasOwnProperty.call(headers, name)) return headers[name];
  const lower = name.toLowerCase();
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === lower) return headers[key];
  }
  return undefined;
}

const DECIMAL = /^\s*\d{1,15}\s*$/;

/** A count in one header value: decimal text, or a 4- or 8-byte big-endian integer (Java serializers). */
function countFromValue(value: unknown): number | undefined {
  if (typeof value === 'string') return DECIMAL.test(value) ? Number(value) : undefined;
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (!(value instanceof Uint8Array)) return undefined;
  const text = headerValueToString(value);
  if (text !== undefined && DECIMAL.test(text)) return Number(text);
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  if (value.byteLength === 4) {
    const n = view.getInt32(0);
    return n >= 0 ? n : undefined;
  }
  if (value.byteLength === 8) {
    const n = view.getBigInt64(0);
    return n >= 0n && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : undefined;
  }
  return undefined;
}

/**
 * Headers that hold the number of THIS attempt (1-based) rather than the earlier ones: Spring Kafka's retry
 * topics write `retry_topic-attempts` = 2 on the first retry topic.
 */
const ATTEMPT_NUMBER_HEADERS: ReadonlySet<string> = new Set(['retry_topic-attempts']);

/** The count one header holds: its first valid value, as {@link retryCount} reads it. */
function countOf(name: string, raw: KafkaHeaderValue): number | undefined {
  const values: ReadonlyArray<unknown> = Array.isArray(raw) ? raw : [raw];
  for (const value of values) {
    const n = countFromValue(value);
    if (n !== undefined) return ATTEMPT_NUMBER_HEADERS.has(name.toLowerCase()) ? Math.max(0, n - 1) : n;
  }
  return undefined;
}

/** Earlier attempts recorded by a retry-topic pattern: the first of `names` that holds a valid count. */
export function retryCount(headers: KafkaHeaders | undefined, names: ReadonlyArray<string>): number | undefined {
  if (!headers) return undefined;
  for (const name of names) {
    const n = countOf(name, findHeader(headers, name));
    if (n !== undefined) return n;
  }
  return undefined;
}

/** True when any of `names` is present: the message was replayed from a dead-letter topic. */
export function hasAnyHeader(headers: KafkaHeaders | undefined, names: ReadonlyArray<string>): boolean {
  if (!headers) return false;
  for (const name of names) {
    if (findHeader(headers, name) !== undefined) return true;
  }
  return false;
}

/**
 * The retry-count and dead-letter header names of one configuration, compiled for reading every message in one
 * pass over its header keys: a message carrying none of them (the common case) costs one lower-casing and one
 * lookup per key, and no allocation, whatever the number of names configured. Reads as {@link retryCount} and
 * {@link hasAnyHeader} do: an exact key wins over one that differs only in case, names are tried in order.
 */
export class HeaderMarkers {
  /** Retry names first, then dead-letter names: the slots a message's keys are matched to. */
  private readonly names: ReadonlyArray<string>;
  private readonly retryNames: number;
  private readonly slotsByLowerName = new Map<string, number[]>();

  constructor(retryCountHeaders: ReadonlyArray<string>, deadLetterHeaders: ReadonlyArray<string>) {
    this.names = [...retryCountHeaders, ...deadLetterHeaders];
    this.retryNames = retryCountHeaders.length;
    this.names.forEach((name, slot) => {
      const lower = name.toLowerCase();
      const slots = this.slotsByLowerName.get(lower);
      if (slots) slots.push(slot);
      else this.slotsByLowerName.set(lower, [slot]);
    });
  }

  /** Earlier attempts (0 when no header says) and whether the message was replayed from a dead-letter topic. */
  read(headers: KafkaHeaders | undefined): { earlier: number; replayed: boolean } {
    const found = headers ? this.match(headers) : undefined;
    if (found === undefined) return NO_MARKERS;
    let earlier = 0;
    for (let slot = 0; slot < this.retryNames; slot++) {
      const n = found[slot] === undefined ? undefined : countOf(this.names[slot]!, found[slot]!.value);
      if (n !== undefined) {
        earlier = n;
        break;
      }
    }
    let replayed = false;
    for (let slot = this.retryNames; slot < this.names.length; slot++) {
      if (found[slot] !== undefined && found[slot]!.value !== undefined) replayed = true;
    }
    return { earlier, replayed };
  }

  /** Per slot, the value of the key that names it (exact match first); undefined when no key names any. */
  private match(headers: KafkaHeaders): Array<{ value: KafkaHeaderValue; exact: boolean } | undefined> | undefined {
    let found: Array<{ value: KafkaHeaderValue; exact: boolean } | undefined> | undefined;
    // for..in rather than Object.keys: no array per message (own keys only, in the same order)
    for (const key in headers) {
      if (!Object.hasOwn(headers, key)) continue;
      const slots = this.slotsByLowerName.get(key.toLowerCase());
      if (slots === undefined) continue;
      found ??= new Array(this.names.length);
      for (const slot of slots) {
        const exact = this.names[slot] === key;
        const held = found[slot];
        // the first key in the object's order that matches, unless a later one matches exactly
        if (held === undefined || (exact && !held.exact)) found[slot] = { value: headers[key], exact };
      }
    }
    return found;
  }
}

const NO_MARKERS = Object.freeze({ earlier: 0, replayed: false });

/** Everything the policy needs about one consumed message. */
export interface ConsumedFactsInput {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly timestamp: unknown;
  readonly headers: KafkaHeaders | undefined;
  /** Times this consumer has been handed the offset (from the delivery counter), 1 the first time. */
  readonly seenCount: number;
  /** The configured retry-count and dead-letter header names. */
  readonly markers: HeaderMarkers;
}

/**
 * The policy facts of one consumed message. No message id: for Kafka the delivery counter is the duplicate
 * detector (a record handed over again is a redelivery, counted per group/topic/partition/offset), so the
 * policy's id window would only repeat it. Batch links carry the record id (`topic/partition/offset`).
 */
export function consumedFacts(input: ConsumedFactsInput): MessageFacts {
  let markers: { earlier: number; replayed: boolean };
  try {
    markers = input.markers.read(input.headers);
  } catch {
    // headers whose getters or proxy traps throw: read as holding no retry or dead-letter marker
    markers = NO_MARKERS;
  }
  return {
    destination: input.topic,
    enqueuedAtMs: timestampMs(input.timestamp),
    deliveryCount: markers.earlier + input.seenCount,
    replayedFromDeadLetter: markers.replayed || undefined,
  };
}

/** UTF-8 bytes of a key or value as the producer will write it. */
export function payloadBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (value instanceof Uint8Array) return value.byteLength;
  return 0;
}
