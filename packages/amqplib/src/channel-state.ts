// What brokertrace keeps per channel: the deliveries not settled yet (by delivery tag, so a settle call knows
// what it covers and the process span of a handler still running can take the disposition), and the close
// watch that forgets them. Bounded: nothing here holds a message or its body, and at most MAX_UNSETTLED tags.
import type { Span } from '@opentelemetry/api';
import { TemporaryQueues, type AmqpDestination } from './destination.js';
import type { AnyMethod } from './internal-types.js';
import { log } from './log.js';
import { shared } from './shared.js';
import { ATTR_BROKERTRACE_MESSAGE_SETTLEMENT } from './semconv.js';

/** Most unsettled deliveries remembered per channel; past it the oldest is forgotten (its settle span still comes). */
export const MAX_UNSETTLED = 10000;

export interface Unsettled {
  readonly destination: AmqpDestination;
  readonly queue: string;
  /** The destination is in ignoreDestinations: its settlement makes no span. */
  readonly ignored: boolean;
  /** The process span while its handler runs (cleared when the handler is done). */
  process: Span | undefined;
}

export class ChannelState {
  /**
   * The latest delivery, kept out of the Map: a handler that settles its message before the next arrives (the
   * usual case) then costs no Map entry, whose insert and delete made V8 reallocate the table every few messages.
   */
  private newest: Unsettled | undefined;
  private newestTag = 0;
  /** The deliveries before it, by tag. Tags only grow on a channel, so Map order is tag order. */
  private readonly older = new Map<number, Unsettled>();
  private readonly onClose: () => void;
  private attached = false;

  constructor(private readonly channel: object) {
    this.onClose = () => this.closed();
  }

  /** Listens for the channel's close, once. */
  attach(): void {
    if (this.attached) return;
    const on = (this.channel as { on?: unknown }).on;
    if (typeof on !== 'function') return;
    try {
      (on as AnyMethod).call(this.channel, 'close', this.onClose);
      this.attached = true;
    } catch (error) {
      log.debug('could not watch a channel for close', error);
    }
  }

  /** Forgets everything and stops listening (untraceChannel). */
  detach(): void {
    this.forgetAll();
    if (!this.attached) return;
    this.attached = false;
    const off = (this.channel as { removeListener?: unknown }).removeListener;
    try {
      if (typeof off === 'function') (off as AnyMethod).call(this.channel, 'close', this.onClose);
    } catch (error) {
      log.debug('could not stop watching a channel', error);
    }
  }

  track(tag: number, entry: Unsettled): void {
    if (this.newest !== undefined) {
      if (this.older.size >= MAX_UNSETTLED - 1) {
        const oldest = this.older.keys().next();
        if (oldest.done !== true) this.older.delete(oldest.value);
      }
      this.older.set(this.newestTag, this.newest);
    }
    this.newestTag = tag;
    this.newest = entry;
  }

  entry(tag: number): Unsettled | undefined {
    return this.newest !== undefined && tag === this.newestTag ? this.newest : this.older.get(tag);
  }

  get size(): number {
    return this.older.size + (this.newest !== undefined ? 1 : 0);
  }

  /** The deliveries a settle call covers: one tag, every tag up to it (`allUpTo`), or all (`ackAll`/`nackAll`). */
  covered(tag: number | undefined, multiple: boolean): Unsettled[] {
    if (!multiple) {
      const one = tag === undefined ? undefined : this.entry(tag);
      return one === undefined ? [] : [one];
    }
    const all = tag === undefined || tag === 0;
    const out: Unsettled[] = [];
    for (const [t, one] of this.older) {
      if (!all && t > tag) return out;
      out.push(one);
    }
    if (this.newest !== undefined && (all || this.newestTag <= tag)) out.push(this.newest);
    return out;
  }

  /** Forgets what a successful settle call covered. */
  settled(tag: number | undefined, multiple: boolean): void {
    if (!multiple) {
      if (tag === undefined) return;
      if (this.newest !== undefined && tag === this.newestTag) this.newest = undefined;
      else this.older.delete(tag);
      return;
    }
    if (tag === undefined || tag === 0) {
      this.forgetAll();
      return;
    }
    for (const t of this.older.keys()) {
      if (t > tag) return;
      this.older.delete(t);
    }
    if (this.newest !== undefined && this.newestTag <= tag) this.newest = undefined;
  }

  private forgetAll(): void {
    this.older.clear();
    this.newest = undefined;
  }

  /** Closed (by us, the server, or with its connection): nothing left can be settled. */
  private closed(): void {
    try {
      // A handler still running: its span says the message could not be settled any more.
      for (const entry of this.older.values()) if (entry.process !== undefined) entry.process.setAttribute(ATTR_BROKERTRACE_MESSAGE_SETTLEMENT, 'channel_closed');
      if (this.newest?.process !== undefined) this.newest.process.setAttribute(ATTR_BROKERTRACE_MESSAGE_SETTLEMENT, 'channel_closed');
    } catch (error) {
      log.debug('could not mark running handlers on channel close', error);
    }
    this.forgetAll();
  }
}

/** The channel's state, made (and its close watched) on first use. */
export function channelState(channel: object): ChannelState {
  const channels = shared().channels;
  let state = channels.get(channel);
  if (state === undefined) {
    state = new ChannelState(channel);
    state.attach();
    channels.set(channel, state);
  }
  return state;
}

/** The channel's state if it has one (settle calls on a channel that never consumed need none). */
export function existingChannelState(channel: object): ChannelState | undefined {
  return shared().channels.get(channel);
}

/** Forgets a channel's state (untraceChannel). */
export function dropChannelState(channel: object): void {
  const channels = shared().channels;
  channels.get(channel)?.detach();
  channels.delete(channel);
}

/** The temporary queues of the channel's connection (exclusive queues belong to one connection). */
export function temporaryQueuesOf(channel: object): TemporaryQueues {
  const owner = (channel as { connection?: unknown }).connection;
  const key = typeof owner === 'object' && owner !== null ? owner : channel;
  const map = shared().temporaryQueues;
  let queues = map.get(key);
  if (queues === undefined) {
    queues = new TemporaryQueues();
    map.set(key, queues);
  }
  return queues;
}
