// Service Bus names this package adds to core's vocabulary (brokertrace's namespace where the conventions have
// none), and the mapping from the client's disposition names to the conventions' settle operations.

/** The sequence number the broker gave a message (int), on process and settle spans of one message. */
export const ATTR_BROKERTRACE_SERVICEBUS_SEQUENCE_NUMBER = 'brokertrace.servicebus.message.sequence_number';
/** The sequence numbers `scheduleMessages` returned (string[]: Longs), on the `schedule` span. */
export const ATTR_BROKERTRACE_SERVICEBUS_SEQUENCE_NUMBERS = 'brokertrace.servicebus.sequence_numbers';
/** `true` on a `create` span whose message did not fit the batch (`tryAddMessage` returned false). */
export const ATTR_BROKERTRACE_SERVICEBUS_BATCH_REJECTED = 'brokertrace.servicebus.batch.rejected';
/** The lock's new expiry (ms since the epoch) on a `renew_message_lock` span. */
export const ATTR_BROKERTRACE_SERVICEBUS_LOCKED_UNTIL = 'brokertrace.servicebus.locked_until';
/** The dead-letter reason of a message read from a dead-letter sub-queue. */
export const ATTR_BROKERTRACE_SERVICEBUS_DEAD_LETTER_REASON = 'brokertrace.servicebus.dead_letter.reason';

/** The client's internal disposition names (DispositionType) -> the conventions' settle operation names. */
export const DISPOSITIONS: Readonly<Record<string, 'complete' | 'abandon' | 'defer' | 'dead_letter'>> = Object.freeze({
  complete: 'complete',
  abandon: 'abandon',
  defer: 'defer',
  deadletter: 'dead_letter',
});
