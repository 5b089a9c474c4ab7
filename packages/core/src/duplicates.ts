// The duplicate window of the policy: which message ids this process has seen, bounded in entries and age.
import { createHash } from 'node:crypto';
import { BrokerTraceConfigError } from './errors.js';

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
 * at most a few hundred bytes each (long keys are kept as a SHA-256 digest). Every operation is O(1): a list
 * threaded through flat arrays, not a Map iterated from its front (V8 leaves deleted entries there as holes that
 * each iteration walks again, which made a full window cost microseconds per message).
 *
 * @example
 * const seen = new DeliveryCounter({ maxEntries: 5000, ttlMs: 60000 });
 * const deliveryCount = seen.record(`${topic}/${partition}/${offset}`); // 1 the first time, 2 when re-seen
 */
export class DeliveryCounter {
  readonly maxEntries: number;
  readonly ttlMs: number;
  private readonly slotOf = new Map<string, number>();
  // One slot per remembered key; `newer`/`older` link the slots from most (head) to least (tail) recently seen.
  private keys: string[] = [];
  private counts: number[] = [];
  private lastSeen: number[] = [];
  private newer: number[] = [];
  private older: number[] = [];
  private freeSlots: number[] = [];
  private head = -1;
  private tail = -1;

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
    let slot = this.slotOf.get(key);
    if (slot !== undefined) {
      const count = now - this.lastSeen[slot]! <= this.ttlMs ? this.counts[slot]! + 1 : 1;
      this.counts[slot] = count;
      this.lastSeen[slot] = now;
      if (slot !== this.head) {
        this.unlink(slot);
        this.linkAtHead(slot);
      }
      this.expire(now);
      return count;
    }
    this.expire(now);
    if (this.slotOf.size >= this.maxEntries) this.remove(this.tail);
    slot = this.freeSlots.pop() ?? this.keys.length;
    this.keys[slot] = key;
    this.counts[slot] = 1;
    this.lastSeen[slot] = now;
    this.linkAtHead(slot);
    this.slotOf.set(key, slot);
    return 1;
  }

  /** How often `key` was seen within the window, 0 when never (or expired). Does not record. */
  peek(key: string, now: number = Date.now()): number {
    const slot = this.slotOf.get(storedKey(key));
    return slot !== undefined && now - this.lastSeen[slot]! <= this.ttlMs ? this.counts[slot]! : 0;
  }

  /** Keys currently remembered. */
  get size(): number {
    return this.slotOf.size;
  }

  clear(): void {
    this.slotOf.clear();
    this.keys = [];
    this.counts = [];
    this.lastSeen = [];
    this.newer = [];
    this.older = [];
    this.freeSlots = [];
    this.head = this.tail = -1;
  }

  /** Expired entries sit at the tail; drop a few per call so memory follows the TTL without a timer. */
  private expire(now: number): void {
    for (let i = 0; i < 4 && this.tail !== -1 && now - this.lastSeen[this.tail]! > this.ttlMs; i++) this.remove(this.tail);
  }

  private remove(slot: number): void {
    this.unlink(slot);
    this.slotOf.delete(this.keys[slot]!);
    this.keys[slot] = '';
    this.freeSlots.push(slot);
  }

  private unlink(slot: number): void {
    const older = this.older[slot]!;
    const newer = this.newer[slot]!;
    if (older !== -1) this.newer[older] = newer;
    else this.tail = newer;
    if (newer !== -1) this.older[newer] = older;
    else this.head = older;
  }

  private linkAtHead(slot: number): void {
    this.older[slot] = this.head;
    this.newer[slot] = -1;
    if (this.head !== -1) this.newer[this.head] = slot;
    this.head = slot;
    if (this.tail === -1) this.tail = slot;
  }
}
