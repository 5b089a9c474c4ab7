// Destinations as the messaging semantic conventions define them for RabbitMQ: the full name for spans, and a
// low-cardinality template for span names and metrics (routing keys and server-named queues never become
// metric series). Temporary queues this connection declared are remembered here, bounded.

/** Name used when a message goes to the default exchange with no routing key (and as its template). */
export const DEFAULT_EXCHANGE_NAME = 'amq.default';

/** What core needs to name a span and pick its metric attributes. */
export interface AmqpDestination {
  /** `messaging.destination.name` (on spans only). */
  readonly name: string;
  /** Low-cardinality name for span names and metrics (`messaging.destination.template` when it differs). */
  readonly template: string | undefined;
  /** A server-generated name (`amq.gen-*`, direct reply-to): `messaging.destination.anonymous`. */
  readonly anonymous: boolean;
  /** A queue that goes away (exclusive / auto-delete, direct reply-to): `messaging.destination.temporary`. */
  readonly temporary: boolean;
}

const SERVER_NAMED_PREFIX = 'amq.gen-';
const REPLY_TO = 'amq.rabbitmq.reply-to';

/** Most temporary queue names remembered per connection; the oldest is forgotten first. */
export const MAX_TEMPORARY_QUEUES = 1000;

/** Most consume destinations remembered per connection (routing keys may be many); past it the memory starts over. */
export const MAX_CACHED_DESTINATIONS = 256;

/**
 * Queue names a connection declared exclusive or auto-delete (or let the server name), and the consume
 * destinations computed from them (by queue, exchange and routing key: every delivery of a consumer has the
 * same three, so the name and template are built once, not per message). A new temporary queue clears them.
 */
export class TemporaryQueues {
  private readonly names = new Set<string>();
  private consumed = new Map<string, Map<string, Map<string, AmqpDestination>>>();
  private cachedCount = 0;

  add(name: string): void {
    if (name === '' || this.names.has(name)) return;
    if (this.names.size >= MAX_TEMPORARY_QUEUES) {
      const oldest = this.names.values().next();
      if (oldest.done !== true) this.names.delete(oldest.value);
    }
    this.names.add(name);
    this.forgetDestinations();
  }

  /** {@link consumeDestination} for this connection, remembered (bounded). */
  consumeDestination(exchangeValue: unknown, routingKeyValue: unknown, queue: string): AmqpDestination {
    const exchange = asString(exchangeValue);
    const routingKey = asString(routingKeyValue);
    let byExchange = this.consumed.get(queue);
    let byRoutingKey = byExchange?.get(exchange);
    const known = byRoutingKey?.get(routingKey);
    if (known !== undefined) return known;
    const destination = consumeDestination(exchange, routingKey, queue, this);
    if (this.cachedCount >= MAX_CACHED_DESTINATIONS) {
      this.forgetDestinations();
      byExchange = byRoutingKey = undefined;
    }
    if (byExchange === undefined) this.consumed.set(queue, (byExchange = new Map<string, Map<string, AmqpDestination>>()));
    if (byRoutingKey === undefined) byExchange.set(exchange, (byRoutingKey = new Map<string, AmqpDestination>()));
    byRoutingKey.set(routingKey, destination);
    this.cachedCount++;
    return destination;
  }

  private forgetDestinations(): void {
    if (this.cachedCount === 0) return;
    this.consumed = new Map();
    this.cachedCount = 0;
  }

  has(name: string): boolean {
    return this.names.has(name);
  }

  get size(): number {
    return this.names.size;
  }
}

function isReplyTo(name: string): boolean {
  return name === REPLY_TO || name.startsWith(REPLY_TO + '.');
}

/** How a queue name (or a routing key on the default exchange, which is a queue name) should be treated. */
function queueKind(name: string, temporaryQueues: TemporaryQueues | undefined): { anonymous: boolean; temporary: boolean } {
  if (isReplyTo(name)) return { anonymous: true, temporary: true };
  const declaredTemporary = temporaryQueues?.has(name) === true;
  return { anonymous: name.startsWith(SERVER_NAMED_PREFIX), temporary: declaredTemporary };
}

const asString = (value: unknown): string => (typeof value === 'string' ? value : '');

/**
 * Producer side: name `{exchange}:{routing key}` when both are non-empty, else whichever is, else `amq.default`.
 * Template: the exchange; on the default exchange the routing key is a queue name, so the queue, unless that
 * queue is anonymous or temporary (then `amq.default`).
 */
export function publishDestination(exchange: unknown, routingKey: unknown, temporaryQueues?: TemporaryQueues): AmqpDestination {
  const ex = asString(exchange);
  const rk = asString(routingKey);
  if (ex !== '') return { name: rk !== '' ? `${ex}:${rk}` : ex, template: ex, anonymous: false, temporary: false };
  if (rk === '') return { name: DEFAULT_EXCHANGE_NAME, template: DEFAULT_EXCHANGE_NAME, anonymous: false, temporary: false };
  const kind = queueKind(rk, temporaryQueues);
  const hidden = kind.anonymous || kind.temporary;
  return { name: rk, template: hidden ? DEFAULT_EXCHANGE_NAME : rk, ...kind };
}

/**
 * Consumer side: name `{exchange}:{routing key}:{queue}`, leaving out empty parts (the default exchange is ''),
 * and the queue when it equals the routing key. Template: the queue; for an anonymous or temporary queue the
 * exchange it came through (`amq.default` for the default exchange).
 */
export function consumeDestination(exchange: unknown, routingKey: unknown, queue: unknown, temporaryQueues?: TemporaryQueues): AmqpDestination {
  const ex = asString(exchange);
  const rk = asString(routingKey);
  const q = asString(queue);
  const parts: string[] = [];
  if (ex) parts.push(ex);
  if (rk) parts.push(rk);
  if (q && q !== rk) parts.push(q);
  const name = parts.length > 0 ? parts.join(':') : DEFAULT_EXCHANGE_NAME;
  if (q === '') return { name, template: ex || DEFAULT_EXCHANGE_NAME, anonymous: false, temporary: false };
  const kind = queueKind(q, temporaryQueues);
  const hidden = kind.anonymous || kind.temporary;
  return { name, template: hidden ? ex || DEFAULT_EXCHANGE_NAME : q, ...kind };
}

/** The destination fields of a core span start (`SpanStart`) for this destination. */
export function destinationFields(d: AmqpDestination): { destination: string; destinationTemplate?: string; anonymous?: boolean; temporary?: boolean } {
  const fields: { destination: string; destinationTemplate?: string; anonymous?: boolean; temporary?: boolean } = { destination: d.name };
  if (d.template !== undefined) fields.destinationTemplate = d.template;
  if (d.anonymous) fields.anonymous = true;
  if (d.temporary) fields.temporary = true;
  return fields;
}
