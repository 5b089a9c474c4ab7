// RabbitMQ pieces of the reliability tests: connections on the harness's broker, the test messages (properties
// and header tables of every AMQP type amqplib writes), and a comparison that names the first difference.
import { isDeepStrictEqual } from 'node:util';
import { connect } from 'amqplib';
import type { Channel, ChannelModel, ConsumeMessage, Options } from 'amqplib';
import { rabbitmq, rabbitmqctl, uniqueName } from '../harness/index';
import { bytesDiff, payloadOf } from './support';

/** A connection named so that a fault test can find it, and only it, in `rabbitmqctl list_connections`. */
export async function namedConnection(name: string): Promise<ChannelModel> {
  const { url } = await rabbitmq();
  return connect(url, { clientProperties: { connection_name: name } });
}

export async function tempQueue(channel: Channel, prefix: string): Promise<string> {
  const { queue } = await channel.assertQueue(uniqueName(prefix), { durable: false, autoDelete: false });
  return queue;
}

/** Closes, on the broker's side, the connection(s) named `name`, as a broker restart or network cut would. */
export async function dropConnection(name: string): Promise<number> {
  // Tab-separated rows: the connection's Erlang pid, then its client properties (which hold our name).
  const listing = await rabbitmqctl('list_connections', '--no-table-headers', 'pid', 'client_properties');
  const pids = listing
    .split('\n')
    .map((line) => line.split('\t'))
    .filter(([, props]) => props !== undefined && props.includes(`"${name}"`))
    .map(([pid]) => pid!.trim());
  for (const pid of pids) await rabbitmqctl('close_connection', pid, 'reliability fault test');
  return pids.length;
}

export const CONTEXT_KEYS = new Set(['traceparent', 'tracestate', 'baggage']);

/** Message `i`: content of 0-2 KiB with every byte value, and user properties and headers of every AMQP type. */
export function amqpMessage(i: number): { content: Buffer; options: Options.Publish } {
  const headers: Record<string, unknown> = {
    'x-index': i,
    'x-string': `value ${i} ✓`,
    'x-float': i + 0.5,
    'x-negative': -i,
    'x-bool': i % 2 === 0,
    'x-bytes': Buffer.from([0xff, 0xfe, i & 0xff]),
    'x-table': { nested: `n${i}`, deeper: { n: i } },
    'x-array': [1, 'two', Buffer.from([3])],
    'x-null': null,
    'x-typed': { '!': 'timestamp', value: 1_700_000_000 + i },
  };
  if (i % 7 === 0) headers.TraceParent = 'user-owned header, not ours';
  const options: Options.Publish = {
    headers,
    messageId: `m-${i}`,
    correlationId: `c-${i % 10}`,
    contentType: 'application/octet-stream',
    contentEncoding: 'identity',
    type: 'reliability',
    appId: 'brokertrace-tests',
    timestamp: 1_700_000_000 + i,
    priority: i % 10,
    persistent: i % 2 === 0,
    expiration: '600000',
  };
  // Frozen, headers included: instrumentation must copy, never write into the caller's objects.
  Object.freeze(headers);
  return { content: payloadOf(i), options: Object.freeze(options) };
}

export interface AmqpDelivery {
  index: number;
  content: Buffer;
  properties: ConsumeMessage['properties'];
  redelivered: boolean;
}

export function deliveryOf(m: ConsumeMessage): AmqpDelivery {
  return { index: Number(m.properties.headers?.['x-index']), content: m.content, properties: m.properties, redelivered: m.fields.redelivered };
}

const PROPERTY_KEYS = ['messageId', 'correlationId', 'contentType', 'contentEncoding', 'type', 'appId', 'timestamp', 'priority', 'deliveryMode', 'expiration'] as const;

function userHeaders(d: AmqpDelivery): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(d.properties.headers ?? {})) if (!CONTEXT_KEYS.has(k)) out[k] = v;
  return out;
}

/**
 * Every way delivery `got` differs from `reference` (the same message from the uninstrumented run, as amqplib
 * decoded it), and its content from what was sent. Empty when exact.
 */
export function amqpDiffs(got: AmqpDelivery, reference: AmqpDelivery | undefined): string[] {
  const out: string[] = [];
  const content = bytesDiff(`#${got.index} content`, amqpMessage(got.index).content, got.content);
  if (content) out.push(content);
  if (!reference) return [...out, `#${got.index}: no reference delivery`];
  for (const k of PROPERTY_KEYS) {
    if (!isDeepStrictEqual(got.properties[k], reference.properties[k])) out.push(`#${got.index} ${k}: ${String(got.properties[k])} vs ${String(reference.properties[k])}`);
  }
  const a = userHeaders(got);
  const b = userHeaders(reference);
  if (!isDeepStrictEqual(Object.keys(a).sort(), Object.keys(b).sort())) out.push(`#${got.index} header keys ${Object.keys(a).sort().join()} vs ${Object.keys(b).sort().join()}`);
  for (const k of Object.keys(b)) if (!isDeepStrictEqual(a[k], b[k])) out.push(`#${got.index} header ${k}: ${JSON.stringify(a[k])} vs ${JSON.stringify(b[k])}`);
  return out;
}

/** The sent property values that must come back as sent (the rest are compared to the uninstrumented run). */
export function sentPropertyDiffs(d: AmqpDelivery): string[] {
  const { options } = amqpMessage(d.index);
  const out: string[] = [];
  for (const k of ['messageId', 'correlationId', 'contentType', 'type', 'appId', 'timestamp', 'priority', 'expiration'] as const) {
    if (d.properties[k] !== options[k]) out.push(`#${d.index} ${k}: sent ${String(options[k])}, got ${String(d.properties[k])}`);
  }
  return out;
}
