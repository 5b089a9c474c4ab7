// What a kafkajs client knows about itself but does not expose: its client id and consumer group. We learn
// them from the client's own instrumentation events (no extra round trip), once, then stop listening.
import { log } from './diag.js';
import type { KafkaEvent } from './internal-types.js';
import { onUnpatch } from '@brokertrace/core';

/** Per traced client; filled as the client tells us. */
export interface ClientInfo {
  clientId: string | undefined;
  groupId: string | undefined;
}

type On = (eventName: string, listener: (event: KafkaEvent) => void) => unknown;

/**
 * Listens once to `eventKey` (a key of `client.events`, e.g. `REQUEST`, `GROUP_JOIN`) and hands the event's
 * `payload[field]` (a non-empty string) to `learn`. Does nothing for clients without the event API.
 */
export function learnOnce(client: object, eventKey: string, field: string, learn: (value: string) => void): void {
  try {
    const c = client as { on?: unknown; events?: unknown };
    const events = c.events as Record<string, unknown> | undefined;
    const eventName = events?.[eventKey];
    if (typeof c.on !== 'function' || typeof eventName !== 'string') return;
    let remove: (() => void) | undefined;
    let done = false;
    const removed = (c.on as On).call(client, eventName, (event: KafkaEvent) => {
      if (done) return;
      const value = event?.payload?.[field];
      if (typeof value !== 'string' || value === '') return;
      done = true;
      learn(value);
      remove?.();
    });
    if (typeof removed === 'function') {
      remove = () => {
        remove = undefined;
        (removed as () => void)();
      };
      onUnpatch(client, () => remove?.());
    }
  } catch (err) {
    log.debug(`cannot listen to ${eventKey}`, err);
  }
}
