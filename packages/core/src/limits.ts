// How much trace context each broker lets a message carry: the per-system CarrierLimits budgets.
import type { CarrierLimits, MessagingSystem } from './types.js';

/**
 * Bytes kept free in RabbitMQ's content header frame for everything that is not our headers: the frame
 * header and end (8), class/weight/body size/flags (14), the other basic properties (up to 12 short strings of
 * at most 255 bytes, timestamp, priority, delivery mode: about 3.1 KiB), and AMQP table encoding of the
 * headers themselves. 8 KiB covers the worst case with room to spare.
 */
export const RABBITMQ_HEADER_FRAME_MARGIN = 8192;

/** amqplib's default `frame_max`: the whole content header frame (with the headers table) must fit in it. */
export const RABBITMQ_DEFAULT_FRAME_MAX = 131072;

/**
 * What each broker lets a message carry in its metadata. Budgets count what the message already holds.
 * - `aws_sqs`: at most 10 message attributes, names <= 256, message incl. attributes <= 1 MiB (SQS's default
 *   and maximum since 2025; a queue may be configured lower: pass its own limits); each attribute also carries
 *   its DataType (`String`, 6 bytes).
 * - `gcp_pubsub`: at most 100 attributes, key <= 256 bytes, value <= 1024 bytes.
 * - `servicebus`: each application property <= 32 KiB, all properties <= 64 KiB.
 * - `kafka`: headers count toward the record size, `max.request.size` 1 MiB by default.
 * - `rabbitmq`: the header table travels in the content header frame (`frame_max` 131072) minus
 *   {@link RABBITMQ_HEADER_FRAME_MARGIN}; each table entry costs 6 bytes of encoding.
 */
export const BROKER_LIMITS: Readonly<Record<MessagingSystem, Readonly<CarrierLimits>>> = Object.freeze({
  aws_sqs: Object.freeze({ maxEntries: 10, maxKeyBytes: 256, maxTotalBytes: 1048576, entryOverheadBytes: 6 }),
  gcp_pubsub: Object.freeze({ maxEntries: 100, maxKeyBytes: 256, maxValueBytes: 1024 }),
  servicebus: Object.freeze({ maxValueBytes: 32768, maxTotalBytes: 65536 }),
  kafka: Object.freeze({ maxTotalBytes: 1048576 }),
  rabbitmq: Object.freeze({
    maxTotalBytes: RABBITMQ_DEFAULT_FRAME_MAX - RABBITMQ_HEADER_FRAME_MARGIN,
    entryOverheadBytes: 6,
  }),
});
