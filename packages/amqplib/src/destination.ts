// Destination names as the messaging semantic conventions define them for RabbitMQ.

/** Name used when a message goes to the default exchange with no routing key. */
export const DEFAULT_EXCHANGE_NAME = 'amq.default';

/**
 * Producer side: `{exchange}:{routing key}` when both are non-empty, else whichever is, else `amq.default`
 * (semconv: the default exchange with no routing key).
 */
export function publishDestination(exchange: unknown, routingKey: unknown): string {
  const ex = typeof exchange === 'string' ? exchange : '';
  const rk = typeof routingKey === 'string' ? routingKey : '';
  if (ex && rk) return `${ex}:${rk}`;
  return ex || rk || DEFAULT_EXCHANGE_NAME;
}

/**
 * Consumer side: `{exchange}:{routing key}:{queue}`, leaving out empty parts (the default exchange is ''), and
 * the queue when it equals the routing key (a message sent straight to a queue is just `{queue}`).
 */
export function consumeDestination(exchange: unknown, routingKey: unknown, queue: unknown): string {
  const parts: string[] = [];
  const ex = typeof exchange === 'string' ? exchange : '';
  const rk = typeof routingKey === 'string' ? routingKey : '';
  const q = typeof queue === 'string' ? queue : '';
  if (ex) parts.push(ex);
  if (rk) parts.push(rk);
  if (q && q !== rk) parts.push(q);
  return parts.length > 0 ? parts.join(':') : DEFAULT_EXCHANGE_NAME;
}
