// How a held message goes on the wire (link deliveries and $management answers alike): the broker's
// message annotations and delivery count, and the two encodings of a lock token (an AMQP uuid in
// $management bodies, the .NET Guid byte order in delivery tags, which the client reorders).
import { encodeForDelivery, T } from './amqp-message';
import type { Held } from './entity';

const STATE = { active: 0, deferred: 1, scheduled: 2 } as const;

export function encodeHeld(held: Held): Buffer {
  return encodeForDelivery(held.stored, held.deliveryCount, {
    'x-opt-sequence-number': T.wrap_long(held.seq),
    'x-opt-enqueued-time': T.wrap_timestamp(held.enqueuedAt),
    'x-opt-locked-until': held.lock ? T.wrap_timestamp(held.lock.until) : undefined,
    'x-opt-message-state': T.wrap(STATE[held.state]),
    // x-opt-scheduled-enqueue-time stays as the sender wrote it
  });
}

/** `0f8fad5b-d9cb-469f-a165-70867728950e` -> its 16 bytes in RFC 4122 order. */
export function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

export function uuidString(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The delivery tag for a lock token: the service sends Guid.ToByteArray() order (first three groups little-endian). */
export function lockTokenTag(uuid: string): Buffer {
  const b = uuidBytes(uuid);
  return Buffer.from([b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], ...b.subarray(8)] as number[]);
}

export function tagToLockToken(tag: Buffer | string): string {
  const b = Buffer.isBuffer(tag) ? tag : Buffer.from(tag);
  return uuidString(Buffer.from([b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], ...b.subarray(8)] as number[]));
}
