// The namespace: every entity of the config, and what an AMQP address names in it (queue, topic,
// subscription, their `$DeadLetterQueue` sub-queues, `<entity>/$management`, `$cbs`). Names are
// case-insensitive, as in the service. Also routes topic sends and auto-forwarding.
import { withAnnotation, type StoredMessage } from './amqp-message';
import type { EntitySettings, NamespaceConfig } from './config';
import { DuplicateWindow, Entity, type Router } from './entity';
import { AmqpFailure, CONDITION } from './errors';

export class Topic {
  private readonly duplicates: DuplicateWindow | undefined;
  constructor(
    readonly path: string,
    readonly settings: EntitySettings,
    readonly subscriptions: Entity[],
  ) {
    this.duplicates = settings.requiresDuplicateDetection ? new DuplicateWindow(settings.duplicateDetectionWindowMs) : undefined;
  }

  /** Every subscription gets a copy (no rules: the default TrueFilter). */
  enqueue(stored: StoredMessage, now = Date.now()): void {
    if (this.duplicates?.isDuplicate(stored.decoded.message_id, now)) return;
    for (const sub of this.subscriptions) sub.enqueue(stored, now);
  }
}

export type Address =
  | { kind: 'cbs' }
  | { kind: 'management'; target: Entity | Topic }
  | { kind: 'entity'; entity: Entity }
  | { kind: 'topic'; topic: Topic };

const DLQ = '/$deadletterqueue';

export class Namespace implements Router {
  private readonly entities = new Map<string, Entity>();
  private readonly topics = new Map<string, Topic>();

  constructor(readonly config: NamespaceConfig) {
    for (const q of config.queues) this.addEntity(q.name, q.settings);
    for (const t of config.topics) {
      const subs = t.subscriptions.map((s) => this.addEntity(`${t.name}/Subscriptions/${s.name}`, { ...s.settings, maxMessageSizeBytes: t.settings.maxMessageSizeBytes }));
      this.topics.set(t.name.toLowerCase(), new Topic(t.name, t.settings, subs));
    }
    for (const entity of this.entities.values()) {
      for (const target of [entity.settings.forwardTo, entity.settings.forwardDeadLetteredMessagesTo]) {
        if (target && !this.entities.has(target.toLowerCase()) && !this.topics.has(target.toLowerCase())) {
          throw new Error(`${entity.path}: forwards to "${target}", which is not a queue or topic of the config`);
        }
      }
    }
  }

  private addEntity(path: string, settings: EntitySettings): Entity {
    const dlq = new Entity(`${path}/$DeadLetterQueue`, { ...settings, forwardTo: undefined, forwardDeadLetteredMessagesTo: undefined }, this);
    const entity = new Entity(path, settings, this, dlq);
    this.entities.set(path.toLowerCase(), entity);
    this.entities.set(dlq.path.toLowerCase(), dlq);
    return entity;
  }

  /** What an attach address names; throws amqp:not-found (or not-implemented) otherwise. */
  resolve(address: string | undefined): Address {
    if (!address) throw new AmqpFailure(CONDITION.invalidField, 'The link has no address.', 400);
    const path = address.replace(/^(?:amqps?|sb):\/\/[^/]+\//i, '').replace(/^\/+|\/+$/g, '');
    const lower = path.toLowerCase();
    if (lower === '$cbs') return { kind: 'cbs' };
    if (lower.endsWith('/$management')) {
      const inner = this.resolve(path.slice(0, -'/$management'.length));
      if (inner.kind === 'entity') return { kind: 'management', target: inner.entity };
      if (inner.kind === 'topic') return { kind: 'management', target: inner.topic };
      throw new AmqpFailure(CONDITION.notFound, `The messaging entity '${path}' could not be found.`, 404);
    }
    if (lower.includes('/$transfer/')) {
      throw new AmqpFailure(CONDITION.notImplemented, `The transfer dead-letter queue ('${path}') is not implemented by this emulator.`, 501);
    }
    const entity = this.entities.get(lower);
    if (entity) return { kind: 'entity', entity };
    const topic = this.topics.get(lower);
    if (topic) return { kind: 'topic', topic };
    if (lower.endsWith(DLQ) && this.topics.has(lower.slice(0, -DLQ.length))) {
      throw new AmqpFailure(CONDITION.notFound, `A topic has no dead-letter queue ('${path}'): its subscriptions do.`, 404);
    }
    throw new AmqpFailure(CONDITION.notFound, `The messaging entity '${path}' could not be found. To know more visit https://aka.ms/sbResourceMgrExceptions.`, 404);
  }

  /** Sends one message to a queue or topic by name (auto-forwarding, dead-letter forwarding). */
  forward(target: string, stored: StoredMessage, deadLetterSource?: string): void {
    const message = deadLetterSource ? withAnnotation(stored, 'x-opt-deadletter-source', deadLetterSource) : stored;
    const topic = this.topics.get(target.toLowerCase());
    if (topic) return topic.enqueue(message);
    const entity = this.entities.get(target.toLowerCase());
    if (!entity) throw new AmqpFailure(CONDITION.notFound, `The forwarding destination '${target}' could not be found.`, 404);
    entity.enqueue(message);
  }

  /** The queue, subscription or dead-letter queue at `path`, for the fault levers. */
  entity(path: string): Entity | undefined {
    return this.entities.get(path.toLowerCase());
  }

  close(): void {
    for (const entity of this.entities.values()) entity.close();
  }
}
