import { createHash } from 'node:crypto';
import { BrokerTraceConfigError } from './errors.js';

interface Seen {
  count: number;
  lastSeen: number;
}

/** Options of a {@link DeliveryCounter}. */
export interface DeliveryCounterOptions {
  /** Most keys remembered; the least recently seen is forgotten first. Default 10000. */
  maxEntries?: number;
  /** A key not seen for this long is forgotten (its count starts again at 1). Default 600000 (10 minutes). */
  ttlMs?: number;
}

export const DEFAULT_WINDOW_MAX_ENTRIES = 10000;
/** Keys longer than this are remembered by a digest: a hostile 1 MB message id must not cost 1 MB per entry. */
const MAX_KEY_CHARS = 256;

function storedKey(key: string): string {
  return key.length <= MAX_KEY_CHARS ? key : '\u0000sha256:' + createHash('sha256').update(key).digest('base64');
}
export const DEFAULT_WINDOW_TTL_MS = 600000;

/**
 * A bounded memory of keys (message ids, topic+partition+offset) and how often each was seen: least recently
 * seen evicted first when full, entries idle longer than `ttlMs` expire. Memory stays under `maxEntries` entries of
 * at most a few hundred bytes each (long keys are kept as a SHA-256 digest).
 *
 * @example
 * const seen = new DeliveryCounter({ maxEntries: 5000, ttlMs: 60000 });
 * const deliveryCount = seen.record(`${topic}/${partition}/${offset}`); // 1 the first time, 2 when re-seen
 */
export class DeliveryCounter {
  readonly maxEntries: number;
  readonly ttlMs: number;
  // A Map iterates in insertion order: re-inserting on every sighting keeps the least recent first.
  private readonly seen = new Map<string, Seen>();

  constructor(options: DeliveryCounterOptions = {}, optionName = 'duplicateWindow') {
    const { maxEntries = DEFAULT_WINDOW_MAX_ENTRIES, ttlMs = DEFAULT_WINDOW_TTL_MS } = options;
    if (typeof maxEntries !== 'number' || !Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new BrokerTraceConfigError(`${optionName}.maxEntries`, `expected an integer >= 1, got ${String(maxEntries)}`);
    }
    if (typeof ttlMs !== 'number' || Number.isNaN(ttlMs) || ttlMs <= 0) {
      throw new BrokerTraceConfigError(`${optionName}.ttlMs`, `expected a number > 0, got ${String(ttlMs)}`);
    }
    this.maxEntries = maxEntries;
    this.ttlMs = ttlMs;
  }

  /** Records one sighting of `key` at `now` (ms, default `Date.now()`); returns how often it was seen, 1 the first time. */
  record(key: string, now: number = Date.now()): number {
    key = storedKey(key);
    const seen = this.seen;
    const entry = seen.get(key);
    let count = 1;
    if (entry !== undefined) {
      seen.delete(key);
      if (now - entry.lastSeen <= this.ttlMs) count = entry.count + 1;
      entry.count = count;
      entry.lastSeen = now;
      seen.set(key, entry);
    } else {
      seen.set(key, { count, lastSeen: now });
    }
    this.evict(now);
    return count;
  }

  /** How often `key` was seen within the window, 0 when never (or expired). Does not record. */
  peek(key: string, now: number = Date.now()): number {
    const entry = this.seen.get(storedKey(key));
    return entry !== undefined && now - entry.lastSeen <= this.ttlMs ? entry.count : 0;
  }

  /** Keys currently remembered. */
  get size(): number {
    return this.seen.size;
  }

  clear(): void {
    this.seen.clear();
  }

  private evict(now: number): void {
    const seen = this.seen;
    while (seen.size > this.maxEntries) {
      const oldest = seen.keys().next();
      if (oldest.done === true) break;
      seen.delete(oldest.value);
    }
    // Expired entries sit at the front; drop a few per call so memory follows the TTL without a timer.
    for (let i = 0; i < 4; i++) {
      const first = seen.entries().next();
      if (first.done === true || now - first.value[1].lastSeen <= this.ttlMs) break;
      seen.delete(first.value[0]);
    }
  }
}
