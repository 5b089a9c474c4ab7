// traceServiceBusClient on session receivers (acceptSession, acceptNextSession) against the emulator's minimal
// sessions: a process span per message of a subscribe()d session receiver, a child of its send span in the
// sender's trace, and the automatic complete (made by the session's own link) as a settle span under it.
import type { ServiceBusReceivedMessage } from '@azure/service-bus';
import { traceServiceBusClient } from '@brokertrace/service-bus';
import { setupTestTelemetry } from '@brokertrace/testing';
import { SpanKind } from '@opentelemetry/api';
import { Countdown, connect, spanIdOf } from './helpers.js';

const t = setupTestTelemetry();
beforeEach(() => t.reset());
const QUEUE = 'sb-sessions';
const NO_RENEWAL = { maxAutoLockRenewalDurationInMs: 0 };

async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

it.each(['acceptSession', 'acceptNextSession'] as const)('%s: process spans continue the trace, the automatic complete under them', async (accept) => {
  const client = traceServiceBusClient(await connect());
  const session = `s-${accept}`;
  const sender = client.createSender(QUEUE);
  await t.withSpan('producer', () => sender.sendMessages({ body: 'one', sessionId: session, messageId: `${accept}-1` }));
  const receiver = accept === 'acceptSession' ? await client.acceptSession(QUEUE, session, NO_RENEWAL) : await client.acceptNextSession(QUEUE, NO_RENEWAL);
  expect(receiver.sessionId).toBe(session);
  const got = new Countdown<ServiceBusReceivedMessage>(1, 10_000);
  const subscription = receiver.subscribe({ processMessage: (m) => Promise.resolve(got.push(m)), processError: () => Promise.resolve() });
  const [message] = await got.done;
  await waitFor(() => t.spansNamed(`complete ${QUEUE}`).length === 1);
  await subscription.close();
  await Promise.all([receiver.close(), sender.close()]);
  await client.close();

  const [producer] = t.spansNamed('producer');
  const [send] = t.spansNamed(`send ${QUEUE}`);
  const [process] = t.spansNamed(`process ${QUEUE}`);
  const [complete] = t.spansNamed(`complete ${QUEUE}`);
  expect(spanIdOf(message!.applicationProperties!.traceparent)).toBe(send!.spanContext().spanId);
  expect(process!.kind).toBe(SpanKind.CONSUMER);
  expect(process!.parentSpanContext?.spanId).toBe(send!.spanContext().spanId);
  expect(process!.spanContext().traceId).toBe(producer!.spanContext().traceId);
  expect(process!.attributes).toMatchObject({ 'messaging.message.id': `${accept}-1`, 'brokertrace.decision.relationship': 'child', 'messaging.servicebus.message.delivery_count': 1 });
  expect(complete!.parentSpanContext?.spanId).toBe(process!.spanContext().spanId);
  expect(complete!.attributes['messaging.servicebus.disposition_status']).toBe('complete');
  expect(t.openSpans()).toEqual([]);
});
