// What SQS says about a received message, normalised for core's child-or-link policy (DESIGN.md "Core job 3"):
// SentTimestamp (age), ApproximateReceiveCount (deliveries), DeadLetterQueueSourceArn (replayed from a DLQ).
import type { MessageFacts } from '@brokertrace/core';
import { AWS_TRACE_HEADER } from './xray.js';

/** The system attributes every ReceiveMessage asks for (on a copy of the input) so the policy has its facts. */
export const POLICY_SYSTEM_ATTRIBUTES: ReadonlyArray<string> = Object.freeze([
  'SentTimestamp',
  'ApproximateReceiveCount',
  'MessageDeduplicationId',
  'MessageGroupId',
  'DeadLetterQueueSourceArn',
  AWS_TRACE_HEADER,
]);

/** Longest message id we report (SQS's are 36-character UUIDs; a record made by hand may hold anything). */
const MAX_ID_LENGTH = 256;

/** A number above 0 from an attribute's string (0 is no time and no count: a message 56 years old, never delivered). */
function positiveNumber(value: unknown): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** One system attribute; a getter that throws or a proxy reads as absent. */
function attribute(system: object, key: string): unknown {
  try {
    return (system as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** The policy's facts for one message from its system attributes (`Attributes` / Lambda's `attributes`). */
export function factsOf(queueName: string, messageId: string | undefined, system: Readonly<Partial<Record<string, string>>> | undefined): MessageFacts {
  const facts: MessageFacts = { destination: queueName };
  if (typeof messageId === 'string' && messageId !== '') facts.messageId = messageId.slice(0, MAX_ID_LENGTH);
  if (system === undefined || system === null || typeof system !== 'object') return facts;
  const sent = positiveNumber(attribute(system, 'SentTimestamp'));
  if (sent !== undefined) facts.enqueuedAtMs = sent;
  const count = positiveNumber(attribute(system, 'ApproximateReceiveCount'));
  if (count !== undefined && Number.isSafeInteger(count)) facts.deliveryCount = count;
  const dlq = attribute(system, 'DeadLetterQueueSourceArn');
  if (typeof dlq === 'string' && dlq !== '') facts.replayedFromDeadLetter = true;
  return facts;
}
