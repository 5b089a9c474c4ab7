// brokertrace alongside the client's own tracing (`enableOpenTelemetryTracing`, a process-wide switch, never
// reset: this file has a module registry of its own). Exactly one producer context per message, no console
// warning per message, and the client's spans hang under ours.
import { setupTestTelemetry } from '@brokertrace/testing';
import { traceSubscription, traceTopic } from '@brokertrace/pubsub';
import { uniqueName } from '../harness/index.js';
import { Countdown, cleanup, pubsubClient } from './helpers.js';
import type { Message } from './helpers.js';

const t = setupTestTelemetry();

it('one producer context per message, no console warning, with the client tracing on', async () => {
  const client = await pubsubClient({ enableOpenTelemetryTracing: true });
  const [rawTopic] = await client.createTopic(uniqueName('coexist'));
  const [rawSub] = await rawTopic.createSubscription(uniqueName('coexist-sub'));
  const topic = traceTopic(rawTopic, { writeGoogclientTraceparent: true });
  const subscription = traceSubscription(rawSub);
  const warn = jest.spyOn(console, 'warn');
  const got = new Countdown<Message>(3);
  subscription.on('message', (m: Message) => {
    m.ack();
    got.push(m);
  });
  const own = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  await t.withSpan('producer', () =>
    Promise.all([
      topic.publishMessage({ data: Buffer.from('a') }),
      topic.publishMessage({ data: Buffer.from('b'), attributes: { app: 'x' } }),
      // carries a googclient_traceparent already: the client would warn and overwrite it without us
      topic.publishMessage({ data: Buffer.from('c'), attributes: { googclient_traceparent: own } }),
    ]),
  );
  const messages = await got.done;
  await cleanup(rawTopic, [subscription]);
  await client.close();
  try {
    expect(warn).not.toHaveBeenCalled();
  } finally {
    warn.mockRestore();
  }

  const topicId = rawTopic.name.slice(rawTopic.name.lastIndexOf('/') + 1);
  const subId = rawSub.name.slice(rawSub.name.lastIndexOf('/') + 1);
  const ours = t.spansNamed(`create ${topicId}`);
  expect(ours).toHaveLength(2);
  // the client made no create span of its own
  expect(t.spans().filter((s) => s.name.endsWith(' create'))).toHaveLength(0);
  const byData = new Map(messages.map((m) => [m.data.toString(), m]));
  for (const data of ['a', 'b']) {
    const attributes = byData.get(data)!.attributes;
    expect(attributes.googclient_traceparent).toBe(attributes.traceparent);
    expect(ours.map((c) => c.spanContext().spanId)).toContain(attributes.traceparent!.split('-')[2]);
  }
  expect(byData.get('c')!.attributes).toEqual({ googclient_traceparent: own });
  // our subscribe spans continue each message's context...
  const processes = t.spansNamed(`subscribe ${subId}`).filter((s) => s.instrumentationScope.name === '@brokertrace/pubsub');
  expect(processes).toHaveLength(3);
  expect(processes.find((p) => p.attributes['messaging.message.id'] === byData.get('c')!.id)!.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
  // ...and the client's own spans, where it makes them, hang under the same contexts
  const clientSpans = t.spans().filter((s) => s.instrumentationScope.name === '@google-cloud/pubsub');
  const contexts = new Set([...ours.map((c) => c.spanContext().spanId), '00f067aa0ba902b7']);
  const clientSubscribe = clientSpans.filter((s) => s.name === `${subId} subscribe`);
  expect(clientSubscribe).toHaveLength(3);
  for (const s of clientSubscribe) expect(contexts.has(s.parentSpanContext!.spanId)).toBe(true);
  expect(t.openSpans().filter((s) => s.instrumentationScope.name === '@brokertrace/pubsub')).toHaveLength(0);
});
