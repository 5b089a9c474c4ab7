// Each semconv metric carries exactly the attributes messaging-metrics.md (v1.44+) lists for it, one table per
// metric: Required and Conditionally Required ones core knows, the Recommended ones the package passes in
// `metricAttributes`, and nothing else (no span-only attribute, no brokertrace.* key on a spec metric).
import { setupTestTelemetry } from '@brokertrace/testing';
import { MessagingTelemetry } from '@brokertrace/core';
import type { Attributes } from '@opentelemetry/api';

const t = setupTestTelemetry();
beforeEach(() => t.reset());

/** One object per consumer, reused (core caches by identity); includes a key no metric lists. */
const metricAttributes: Attributes = {
  'messaging.consumer.group.name': 'billing',
  'messaging.destination.subscription.name': 'sub-a',
  'server.address': 'broker-1',
  'server.port': 9092,
  'messaging.destination.partition.id': '3',
  'messaging.client.id': 'not-a-metric-attribute',
};
const spanOnly: Attributes = { 'messaging.kafka.offset': 12, 'messaging.message.id': 'm-1' };
const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

function record(fail: boolean): void {
  const m = new MessagingTelemetry({ system: 'kafka', instrumentationName: 'semconv' });
  const error = fail ? new TypeError('boom') : undefined;
  m.end(m.startSend({ destination: 'orders', metricAttributes, attributes: spanOnly, messages: [{ existing: {} }] }).span, error);
  m.end(m.startProcess({ destination: 'orders', metricAttributes, attributes: spanOnly, carrier: { traceparent: tp }, facts: {} }).span, error);
  m.end(m.startBatch({ destination: 'orders', operationType: 'receive', metricAttributes, messages: [{ facts: {} }] }).span, error);
}

const always = ['messaging.system', 'messaging.operation.name', 'messaging.destination.name'];
const recommended = ['server.address', 'server.port', 'messaging.destination.partition.id'];
const consumer = ['messaging.consumer.group.name', 'messaging.destination.subscription.name'];

describe.each([
  ['messaging.client.operation.duration', { 'messaging.operation.name': 'send' }, [...always, 'messaging.operation.type', ...consumer, ...recommended]],
  ['messaging.client.operation.duration', { 'messaging.operation.name': 'receive' }, [...always, 'messaging.operation.type', ...consumer, ...recommended]],
  ['messaging.client.sent.messages', {}, [...always, ...recommended]],
  ['messaging.client.consumed.messages', { 'messaging.operation.name': 'process' }, [...always, ...consumer, ...recommended]],
  ['messaging.client.consumed.messages', { 'messaging.operation.name': 'receive' }, [...always, ...consumer, ...recommended]],
  ['messaging.process.duration', {}, [...always, ...consumer, ...recommended]],
  ['brokertrace.consumed.messages.without_context', {}, [...always, ...consumer, ...recommended]],
])('%s %j', (metric, match, keys) => {
  test.each([false, true])('failed: %s', async (fail) => {
    record(fail);
    const points = ((await t.metrics())[metric] ?? []).filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v));
    expect(points.length).toBeGreaterThan(0);
    // error.type: Conditionally Required "if and only if the operation failed" (consumed/without_context are counted at start).
    const counted = metric.includes('consumed');
    const expected = fail && !counted ? [...keys, 'error.type'] : keys;
    for (const p of points) expect(Object.keys(p.attributes).sort()).toEqual([...expected].sort());
  });
});
