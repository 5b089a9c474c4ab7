// One message store: a queue, a topic subscription, or the dead-letter sub-queue of either. Owns the
// Service Bus message life cycle (sequence numbers, scheduling, TTL, peek-lock with lock tokens and
// expiry, delivery counts, defer, dead-lettering, duplicate detection) and knows nothing of AMQP links:
// consumers are handed messages through the small `Consumer` interface.
import { randomUUID } from 'node:crypto';
import { annotation, withApplicationProperties, withMessageId, type StoredMessage } from './amqp-message';
import type { EntitySettings } from './config';
import { AmqpFailure, CONDITION } from './errors';

export type MessageState = 'active' | 'deferred' | 'scheduled';

export interface Held {
  seq: number;
  stored: StoredMessage;
  enqueuedAt: number;
  expiresAt: number;
  state: MessageState;
  scheduledAt?: number;
  /** Earlier delivery attempts: the AMQP header's delivery-count (0 on the first delivery). */
  deliveryCount: number;
  lock?: { token: string; until: number };
}

/** The session id of a message: its AMQP `group-id`, which the client writes from `sessionId`. */
function sessionOf(held: Held): string | undefined {
  const id = held.stored.decoded.group_id;
  return typeof id === 'string' ? id : undefined;
}

/** A receiver of this entity's messages (an AMQP sender link of ours, see links.ts). */
export interface Consumer {
  readonly receiveAndDelete: boolean;
  /** The session a session receiver holds (its messages only); undefined for a plain receiver. */
  readonly sessionId?: string;
  credit(): number;
  deliver(held: Held, entity: Entity): void;
  /** Called after a dispatch round left this consumer with credit: no message is available. */
  idle(): void;
}

/** Where entities send messages they give away (forwarding, dead-letter forwarding). */
export interface Router {
  /** `deadLetterSource` is set for dead-lettered messages (the service stamps x-opt-deadletter-source). */
  forward(target: string, stored: StoredMessage, deadLetterSource?: string): void;
}

/** Duplicate detection: message ids seen within the entity's window. */
export class DuplicateWindow {
  private readonly seen = new Map<string, number>();
  constructor(private readonly windowMs: number) {}

  /** True when `messageId` was seen within the window (the message is then dropped); records it otherwise. */
  isDuplicate(messageId: unknown, now: number): boolean {
    if (messageId === undefined || messageId === null) return false;
    // message-id may be a string, ulong, uuid or binary
    const key =
      typeof messageId === 'string' ? messageId
      : typeof messageId === 'number' ? `#${messageId}`
      : Buffer.isBuffer(messageId) ? messageId.toString('hex')
      : JSON.stringify(messageId);
    for (const [id, until] of this.seen) {
      if (until > now) break; // insertion order is expiry order
      this.seen.delete(id);
    }
    if (this.seen.has(key)) return true;
    this.seen.set(key, now + this.windowMs);
    return false;
  }
}

export interface DeadLetterReason {
  reason?: string;
  description?: string;
  properties?: Record<string, unknown>;
}

export class Entity {
  private readonly messages = new Map<number, Held>();
  private readonly locks = new Map<string, Held>();
  private readonly consumers: Consumer[] = [];
  private readonly duplicates: DuplicateWindow | undefined;
  private nextSeq = 1;
  private rr = 0;
  private kicked = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private closed = false;

  constructor(
    /** The entity path, e.g. `orders`, `events/Subscriptions/audit`, `orders/$DeadLetterQueue`. */
    readonly path: string,
    readonly settings: EntitySettings,
    private readonly router: Router,
    /** The dead-letter sub-queue; undefined for a dead-letter queue itself. */
    readonly deadLetter?: Entity,
  ) {
    this.duplicates = settings.requiresDuplicateDetection ? new DuplicateWindow(settings.duplicateDetectionWindowMs) : undefined;
  }

  get size(): number {
    return this.messages.size;
  }

  addConsumer(consumer: Consumer): void {
    this.consumers.push(consumer);
    this.kick();
  }

  removeConsumer(consumer: Consumer): void {
    const i = this.consumers.indexOf(consumer);
    if (i >= 0) this.consumers.splice(i, 1);
  }

  /**
   * The session a new session receiver gets: `requested` when no other receiver holds it, else (undefined asked)
   * the first session with an available message that nobody holds. Throws as the service refuses the link.
   */
  lockSession(requested: string | undefined): string {
    const held = new Set(this.consumers.map((c) => c.sessionId).filter((id) => id !== undefined));
    if (requested !== undefined) {
      if (held.has(requested)) {
        throw new AmqpFailure(CONDITION.sessionCannotBeLocked, `The requested session '${requested}' cannot be locked: another receiver holds it.`, 410);
      }
      return requested;
    }
    for (const m of this.messages.values()) {
      const id = sessionOf(m);
      if (m.state === 'active' && !m.lock && id !== undefined && !held.has(id)) return id;
    }
    // the service waits for a session up to the operation timeout; we answer at once
    throw new AmqpFailure(CONDITION.timeout, 'acceptNextSession: no unlocked session with available messages (this emulator does not wait for one).', 408);
  }

  /** Accepts a message sent to this entity; undefined when duplicate detection dropped it. */
  enqueue(sent: StoredMessage, now = Date.now()): number | undefined {
    const id = sent.decoded.message_id;
    const stored = id === undefined || id === null ? withMessageId(sent, randomUUID().replace(/-/g, '')) : sent;
    // the service accepts a duplicate send and drops the message
    if (this.duplicates?.isDuplicate(stored.decoded.message_id, now)) return undefined;
    if (this.settings.forwardTo) {
      this.router.forward(this.settings.forwardTo, stored);
      return undefined;
    }
    const scheduled = annotation(stored, 'x-opt-scheduled-enqueue-time');
    const scheduledAt = scheduled instanceof Date ? scheduled.getTime() : typeof scheduled === 'number' ? scheduled : undefined;
    const ttl = typeof stored.header.ttl === 'number' ? Math.min(stored.header.ttl, this.settings.defaultTtlMs) : this.settings.defaultTtlMs;
    const start = scheduledAt !== undefined && scheduledAt > now ? scheduledAt : now;
    const held: Held = {
      seq: this.nextSeq++,
      stored,
      enqueuedAt: start,
      expiresAt: Math.min(start + ttl, Number.MAX_SAFE_INTEGER),
      state: start > now ? 'scheduled' : 'active',
      deliveryCount: 0,
    };
    if (held.state === 'scheduled') held.scheduledAt = start;
    this.messages.set(held.seq, held);
    this.kick();
    return held.seq;
  }

  /** cancel-scheduled-message: every number must name a message still waiting for its time. */
  cancelScheduled(seqs: number[]): void {
    const missing = seqs.filter((s) => this.messages.get(s)?.state !== 'scheduled');
    if (missing.length > 0) {
      throw new AmqpFailure(CONDITION.messageNotFound, `No scheduled message with sequence number ${missing.join(', ')} exists in '${this.path}'.`, 404);
    }
    for (const seq of seqs) this.messages.delete(seq);
  }

  private lockOf(token: string): Held {
    const held = this.locks.get(token.toLowerCase());
    if (!held || !held.lock || held.lock.until <= Date.now()) {
      throw new AmqpFailure(
        CONDITION.lockLost,
        'The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue.',
        410,
      );
    }
    return held;
  }

  private unlock(held: Held): void {
    if (held.lock) this.locks.delete(held.lock.token);
    held.lock = undefined;
  }

  private takeLock(held: Held, now: number): string {
    const token = randomUUID();
    held.lock = { token, until: now + this.settings.lockDurationMs };
    this.locks.set(token, held);
    return token;
  }

  complete(token: string): void {
    const held = this.lockOf(token);
    this.unlock(held);
    this.messages.delete(held.seq);
  }

  /** abandon: the lock is released and the delivery count goes up (dead-lettered past the maximum). */
  abandon(token: string, properties?: Record<string, unknown>): void {
    const held = this.lockOf(token);
    this.unlock(held);
    if (properties) held.stored = withApplicationProperties(held.stored, properties);
    this.failedAttempt(held);
    this.kick();
  }

  defer(token: string, properties?: Record<string, unknown>): void {
    const held = this.lockOf(token);
    this.unlock(held);
    if (properties) held.stored = withApplicationProperties(held.stored, properties);
    held.state = 'deferred';
  }

  deadLetterLocked(token: string, why: DeadLetterReason): void {
    const held = this.lockOf(token);
    this.unlock(held);
    this.moveToDeadLetter(held, why);
  }

  renewLock(token: string): number {
    const held = this.lockOf(token);
    const until = Date.now() + this.settings.lockDurationMs;
    (held.lock as { until: number }).until = until;
    this.kick();
    return until;
  }

  /** Fault lever: every lock of this entity ends now (as if its lock duration had passed). */
  expireLocks(): number {
    let n = 0;
    for (const held of this.locks.values()) {
      if (held.lock) {
        held.lock.until = 0;
        n++;
      }
    }
    this.kick();
    return n;
  }

  lockedUntil(token: string): number | undefined {
    return this.locks.get(token)?.lock?.until;
  }

  /** receive-by-sequence-number: deferred messages only, locked (peek-lock) or removed (receive-and-delete). */
  receiveDeferred(seqs: number[], receiveAndDelete: boolean): Array<{ held: Held; token?: string }> {
    const now = Date.now();
    const found = seqs.map((s) => this.messages.get(s));
    if (found.some((h) => !h || h.state !== 'deferred' || h.lock)) {
      throw new AmqpFailure(CONDITION.messageNotFound, 'Failed to lock one or more specified messages. Either the message is not deferred, is already locked, or does not exist.', 404);
    }
    return (found as Held[]).map((held) => {
      if (receiveAndDelete) {
        this.messages.delete(held.seq);
        return { held };
      }
      return { held, token: this.takeLock(held, now) };
    });
  }

  /** peek-message: every message from `fromSeq` on in sequence order, whatever its state, without locking. */
  peek(fromSeq: number, count: number): Held[] {
    this.expire(Date.now());
    const out: Held[] = [];
    for (const held of this.messages.values()) {
      if (held.seq < fromSeq) continue;
      out.push(held);
      if (out.length >= count) break;
    }
    return out;
  }

  private failedAttempt(held: Held): void {
    held.deliveryCount += 1;
    if (held.deliveryCount >= this.settings.maxDeliveryCount && this.deadLetter) {
      this.moveToDeadLetter(held, {
        reason: 'MaxDeliveryCountExceeded',
        description: `Message could not be consumed after ${this.settings.maxDeliveryCount} delivery attempts.`,
      });
    }
  }

  private moveToDeadLetter(held: Held, why: DeadLetterReason): void {
    if (!this.deadLetter) {
      throw new AmqpFailure(CONDITION.notAllowed, `'${this.path}' is a dead-letter queue: its messages cannot be dead-lettered again.`, 400);
    }
    this.messages.delete(held.seq);
    const stored = withApplicationProperties(held.stored, {
      ...why.properties,
      DeadLetterReason: why.reason,
      DeadLetterErrorDescription: why.description,
    });
    if (this.settings.forwardDeadLetteredMessagesTo) {
      this.router.forward(this.settings.forwardDeadLetteredMessagesTo, stored, this.path);
      return;
    }
    this.deadLetter.acceptDeadLettered(stored, held);
  }

  /** A message dead-lettered from the parent entity: kept with its delivery count. */
  acceptDeadLettered(stored: StoredMessage, from: Held): void {
    const held: Held = { ...from, seq: this.nextSeq++, stored, state: 'active', lock: undefined, expiresAt: Number.MAX_SAFE_INTEGER };
    delete held.scheduledAt;
    this.messages.set(held.seq, held);
    this.kick();
  }

  /** Expired locks, due scheduled messages and TTL expiry, as of `now`. */
  private expire(now: number): void {
    for (const held of [...this.messages.values()]) {
      if (held.lock && held.lock.until <= now) {
        this.unlock(held);
        this.failedAttempt(held);
        if (!this.messages.has(held.seq)) continue;
      }
      if (held.state === 'scheduled' && (held.scheduledAt ?? 0) <= now) {
        held.state = 'active';
        delete held.scheduledAt;
      }
      if (held.state !== 'scheduled' && !held.lock && held.expiresAt <= now) {
        this.messages.delete(held.seq);
        if (this.settings.deadLetteringOnMessageExpiration && this.deadLetter) {
          this.deadLetter.acceptDeadLettered(
            withApplicationProperties(held.stored, {
              DeadLetterReason: 'TTLExpiredException',
              DeadLetterErrorDescription: 'The message expired and was dead lettered.',
            }),
            held,
          );
        }
      }
    }
  }

  /** Runs one dispatch round soon (coalesced): expiry, delivery to consumers with credit, next timer. */
  kick(): void {
    if (this.kicked || this.closed) return;
    this.kicked = true;
    setImmediate(() => {
      this.kicked = false;
      this.round();
    });
  }

  private round(): void {
    const now = Date.now();
    this.expire(now);
    for (const held of this.messages.values()) {
      if (held.state !== 'active' || held.lock) continue;
      const consumer = this.nextConsumer(held);
      if (!consumer) {
        if (!this.settings.requiresSession) break;
        continue; // another session's receiver may still take a later message
      }
      if (consumer.receiveAndDelete) {
        this.messages.delete(held.seq);
      } else {
        this.takeLock(held, now);
      }
      consumer.deliver(held, this);
    }
    for (const consumer of this.consumers) if (consumer.credit() > 0) consumer.idle();
    this.armTimer(now);
  }

  private nextConsumer(held: Held): Consumer | undefined {
    // a session's messages go only to the receiver holding that session (and never to a plain receiver)
    const session = this.settings.requiresSession ? sessionOf(held) : undefined;
    for (let i = 0; i < this.consumers.length; i++) {
      const consumer = this.consumers[(this.rr + i) % this.consumers.length] as Consumer;
      if (consumer.sessionId !== session) continue;
      if (consumer.credit() > 0) {
        this.rr = (this.rr + i + 1) % this.consumers.length;
        return consumer;
      }
    }
    return undefined;
  }

  private armTimer(now: number): void {
    let next = Infinity;
    for (const held of this.messages.values()) {
      if (held.lock) next = Math.min(next, held.lock.until);
      else if (held.state === 'scheduled') next = Math.min(next, held.scheduledAt ?? now);
      else if (held.expiresAt < Number.MAX_SAFE_INTEGER) next = Math.min(next, held.expiresAt);
    }
    if (next === this.timerAt) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = next;
    if (next === Infinity) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.kick();
    }, Math.max(0, next - now) + 1);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }
}
