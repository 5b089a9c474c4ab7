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

function positiveNumber(value: string | undefined): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** The policy's facts for one message from its system attributes (`Attributes` / Lambda's `attributes`). */
export function factsOf(queueName: string, messageId: string | undefined, system: Readonly<Partial<Record<string, string>>> | undefined): MessageFacts {
  const facts: MessageFacts = { destination: queueName };
  if (typeof messageId === 'string' && messageId !== '') facts.messageId = messageId;
  if (system === undefined || system === null) return facts;
  const sent = positiveNumber(system.SentTimestamp);
  if (sent !== undefined) facts.enqueuedAtMs = sent;
  const count = positiveNumber(system.ApproximateReceiveCount);
  if (count !== undefined && Number.isInteger(count) && count > 0) facts.deliveryCount = count;
  const dlq = system.DeadLetterQueueSourceArn;
  if (typeof dlq === 'string' && dlq !== '') facts.replayedFromDeadLetter = true;
  return facts;
}
