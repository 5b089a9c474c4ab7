// The messages every variant sends and receives: the same size and shape whatever the broker.
import { randomBytes } from 'node:crypto';

/** Bytes of each message body: a small JSON-ish event, typical of what flows through these brokers. */
export const PAYLOAD_BYTES = 256;

/** A fresh body for message `index` (built per message, as an application would). */
export function payload(index: number): Buffer {
  return Buffer.from(`{"event":"bench","index":${index},"data":"`.padEnd(PAYLOAD_BYTES - 2, 'x') + '"}');
}

/**
 * A W3C `traceparent` of a sampled producer span, as a traced producer writes it. The consume paths read
 * messages carrying one, so that consumer instrumentations do their real work: extract, then parent or link.
 */
export function creationTraceparent(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}
