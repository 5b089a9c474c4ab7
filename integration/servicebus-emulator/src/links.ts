// Links to entities. Client senders (our receivers): transfers checked against the service's size
// limits, batches (format 0x80013700) split into their messages, then enqueued and accepted.
// Client receivers (our senders): a `Consumer` of the entity that spends the client's credit, answers
// drains, and turns dispositions into complete / abandon / defer / dead-letter, settled with the outcome
// or with com.microsoft:message-lock-lost.
import { randomUUID } from 'node:crypto';
import type { Delivery, Message, Receiver, Sender } from 'rhea';
import { message as rheaMessage } from 'rhea';
import { applicationPropertySizes, batchParts, parseMessage, type StoredMessage } from './amqp-message';
import type { Consumer, Entity, Held } from './entity';
import { AmqpFailure, asFailure, CONDITION } from './errors';
import type { Topic } from './namespace';
import { encodeHeld, lockTokenTag } from './wire';

export const BATCH_FORMAT = 0x80013700;
const MAX_PROPERTY_BYTES = 32 * 1024;
const MAX_HEADER_BYTES = 64 * 1024;

/** rhea decodes format-0 transfers before we see them; server.ts keeps the bytes under this key. */
export const RAW = Symbol('raw transfer bytes');

/** The service's checks of one incoming message's application properties (32 KB each, 64 KB in all). */
function checkProperties(stored: StoredMessage): void {
  const { total, largest } = applicationPropertySizes(stored);
  if (largest && largest.bytes > MAX_PROPERTY_BYTES) {
    // the service answers a generic failure here (see integration/README.md): we name the limit
    throw new AmqpFailure(
      CONDITION.internalError,
      `The service was unable to process the request: the application property '${largest.name}' is ${largest.bytes} bytes, more than the ${MAX_PROPERTY_BYTES} bytes allowed for one property.`,
    );
  }
  if (total > MAX_HEADER_BYTES) {
    throw new AmqpFailure(
      CONDITION.messageSizeExceeded,
      `A serialization error occurred while processing the message header stream. The size quota for this stream (${MAX_HEADER_BYTES}) has been exceeded (${total} bytes).`,
    );
  }
}

export class IncomingLink {
  constructor(
    readonly link: Receiver,
    private readonly target: Entity | Topic,
  ) {}

  onMessage(delivery: Delivery, message: Message | Buffer, format: number): void {
    try {
      const bytes = Buffer.isBuffer(message) ? message : (message as Message & { [RAW]?: Buffer })[RAW];
      if (!bytes) throw new AmqpFailure(CONDITION.internalError, 'emulator error: the transfer bytes were not kept');
      const limit = this.target.settings.maxMessageSizeBytes;
      if (bytes.length > limit) {
        throw new AmqpFailure(
          CONDITION.messageSizeExceeded,
          `The received message (delivery-id:${delivery.id}, size:${bytes.length} bytes) exceeds the limit (${limit} bytes) currently allowed on the link.`,
        );
      }
      let messages: StoredMessage[];
      try {
        if (format === BATCH_FORMAT) messages = batchParts(bytes).map(parseMessage);
        else if (format === 0) messages = [parseMessage(bytes)];
        else throw new Error(`message format ${format} is not supported`);
      } catch (error) {
        throw new AmqpFailure(CONDITION.decodeError, `The message could not be decoded: ${error instanceof Error ? error.message : String(error)}`);
      }
      // all or nothing, as the service takes a batch
      messages.forEach(checkProperties);
      const now = Date.now();
      for (const stored of messages) this.target.enqueue(stored, now);
      delivery.accept();
    } catch (error) {
      delivery.reject(asFailure(error).amqpError);
    }
  }
}

type Described = { described(): unknown };
const outcomes = rheaMessage as unknown as {
  accepted(): Described;
  released(): Described;
  modified(o: object): Described;
  rejected(o: object): Described;
};

interface Outcome {
  undeliverable_here?: boolean;
  message_annotations?: Record<string, unknown>;
  error?: { condition?: string; description?: string; info?: Record<string, unknown> };
}

export class OutgoingLink implements Consumer {
  readonly receiveAndDelete: boolean;
  private readonly unsent: Delivery[] = [];
  private readonly tokens = new WeakMap<Delivery, string>();

  constructor(
    readonly link: Sender,
    readonly entity: Entity,
    readonly sessionId?: string,
  ) {
    // snd-settle-mode settled (1): the client asked for receive-and-delete
    this.receiveAndDelete = (link as unknown as { snd_settle_mode?: number }).snd_settle_mode === 1;
  }

  credit(): number {
    if (!this.link.is_open() || !this.link.sendable()) return 0;
    // rhea takes credit only when a transfer goes out: count what we queued that has not gone yet
    const next = (this.link.session as unknown as { outgoing: { next_pending_delivery: number } }).outgoing.next_pending_delivery;
    while (this.unsent.length > 0 && (this.unsent[0] as Delivery).id < next) this.unsent.shift();
    return (this.link as unknown as { credit: number }).credit - this.unsent.length;
  }

  deliver(held: Held, _entity: Entity): void {
    const token = held.lock?.token;
    const delivery = this.link.send(encodeHeld(held), lockTokenTag(token ?? randomUUID()), 0);
    this.unsent.push(delivery);
    if (token) this.tokens.set(delivery, token);
  }

  idle(): void {
    if (!(this.link as unknown as { _draining?: boolean })._draining) return;
    this.link.set_drained(true);
    // set_drained only marks the flow to send: have rhea write it now (the client waits for it)
    (this.link.connection as unknown as { _register(): void })._register();
  }

  /** A disposition from the client: the settlement it asks for, answered with the outcome or the failure. */
  onDisposition(delivery: Delivery, kind: 'accepted' | 'rejected' | 'modified' | 'released'): void {
    const token = this.tokens.get(delivery);
    try {
      if (!token) throw new AmqpFailure(CONDITION.notAllowed, 'The delivery was sent settled (receive-and-delete): there is nothing to settle.');
      const state = (delivery.remote_state ?? {}) as Outcome;
      // the settled state we answer with: never one carrying an error, which the client reads as a failure
      let settled: unknown = outcomes.accepted().described();
      if (kind === 'accepted') {
        this.entity.complete(token);
      } else if (kind === 'modified' && state.undeliverable_here) {
        this.entity.defer(token, state.message_annotations);
        settled = outcomes.modified({ undeliverable_here: true }).described();
      } else if (kind === 'modified' || kind === 'released') {
        this.entity.abandon(token, state.message_annotations);
        settled = kind === 'modified' ? outcomes.modified({ undeliverable_here: false }).described() : outcomes.released().described();
      } else {
        const { DeadLetterReason, DeadLetterErrorDescription, ...properties } = state.error?.info ?? {};
        this.entity.deadLetterLocked(token, {
          reason: typeof DeadLetterReason === 'string' ? DeadLetterReason : undefined,
          description: typeof DeadLetterErrorDescription === 'string' ? DeadLetterErrorDescription : undefined,
          properties,
        });
      }
      delivery.update(true, settled);
    } catch (error) {
      delivery.update(true, outcomes.rejected({ error: asFailure(error).amqpError }).described());
    }
    this.release(delivery);
  }

  /**
   * The client receives in settle mode `second`: its disposition comes first, our settlement ends the exchange, and
   * it sends no settlement after ours. rhea frees a delivery from the session's buffer (2,048 entries) only once
   * both sides settled, so without this the link stalls after 2,048 deliveries.
   */
  private release(delivery: Delivery): void {
    (delivery as unknown as { remote_settled: boolean }).remote_settled = true;
  }

  close(): void {
    // locks outlive the link, as in the service: the client may still settle through $management
    this.entity.removeConsumer(this);
  }
}
