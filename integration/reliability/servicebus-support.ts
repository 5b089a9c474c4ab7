// What the Service Bus reliability tests share: a client on the harness's Service Bus, its queues (one per test
// file, from integration/servicebus-emulator/config.json), test messages (payload bytes, application properties
// of every type the client encodes, message id / correlation id / subject / content type / reply-to / to / TTL)
// sent singly, as arrays and as batches, a subscribe() loop, and a comparison that names the first difference.
import { ServiceBusClient } from '@azure/service-bus';
import type { ServiceBusClientOptions, ServiceBusMessage, ServiceBusReceivedMessage, ServiceBusReceiver, ServiceBusSender } from '@azure/service-bus';
import { servicebus } from '../harness/index.js';
// what an earlier run left in a queue (the emulator keeps messages for the whole run)
export { drain } from '../servicebus/helpers.js';
import { bytesDiff, indexOf, payloadOf, waitUntil } from './support';

/**
 * Messages of the no-harm run when BROKERTRACE_RELIABILITY_MESSAGES is not set: issue 19's 10,000. The harness's
 * emulator passes them through subscribe() (one message in flight, a complete each) twice, plain and traced, in
 * about 63 s on the shared 2-core machine (see README.md for the times).
 */
export const SERVICEBUS_CI_MESSAGES = 10_000;

export async function servicebusClient(options?: ServiceBusClientOptions): Promise<ServiceBusClient> {
  return new ServiceBusClient((await servicebus()).connectionString, options);
}

/** Application property values the client encodes (AMQP string, int, long, double, boolean, timestamp, null). */
type PropertyValue = string | number | boolean | Date | null;

/**
 * Message `i`: payload bytes of every value (never valid JSON, so the client hands them back as a Buffer), 0 to
 * 12 application properties of every type, and the message's own fields, some left out.
 */
export function servicebusMessage(i: number): ServiceBusMessage {
  const applicationProperties: Record<string, PropertyValue> = {};
  for (let k = 0; k < i % 13; k++) {
    const [key, value]: [string, PropertyValue] = (
      [
        ['app', 'checkout'],
        ['n', i],
        ['negative', -i - 1],
        ['big', 2 ** 40 + i],
        ['float', i + 0.25],
        ['flag', i % 2 === 0],
        ['when', new Date(1_700_000_000_000 + i)],
        ['nothing', null],
        ['empty', ''],
        ['unicode \u00fc\u4e2d', '\u{1f600}\u00e9\u4e2d'],
        ['TraceParent', `user-${i}`], // the user's own, in another case than ours
        ['long', 'v'.repeat(1000)],
      ] as Array<[string, PropertyValue]>
    )[k]!;
    applicationProperties[key] = value;
  }
  const m: ServiceBusMessage = { body: payloadOf(i), messageId: `m-${i}`, applicationProperties };
  if (i % 2 === 0) m.correlationId = `c-${i % 7}`;
  if (i % 3 === 0) m.subject = `subject \u00e9 ${i}`;
  if (i % 4 !== 1) m.contentType = i % 4 === 0 ? 'application/octet-stream' : 'application/x-test';
  if (i % 5 === 0) m.replyTo = 'replies';
  if (i % 6 === 0) m.to = 'someone';
  if (i % 7 === 0) m.timeToLive = 3_600_000 + i;
  // A user's Diagnostic-Id is kept as it is (the tracing writes its own only where none is).
  if (i % 17 === 0) applicationProperties['Diagnostic-Id'] = `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`;
  return m;
}

/**
 * Sends messages `from`..`to-1` in chunks of 20: through `createMessageBatch` / `tryAddMessage`, as an array, or
 * one `sendMessages` call per message (every third chunk each).
 */
export async function sendRange(sender: ServiceBusSender, from: number, to: number): Promise<ServiceBusMessage[]> {
  const sent: ServiceBusMessage[] = [];
  for (let start = from, chunk = 0; start < to; start += 20, chunk++) {
    const messages = Array.from({ length: Math.min(20, to - start) }, (_, k) => servicebusMessage(start + k));
    sent.push(...messages);
    if (chunk % 3 === 0) {
      const batch = await sender.createMessageBatch();
      for (const m of messages) if (!batch.tryAddMessage(m)) throw new Error(`message ${String(m.messageId)} does not fit an empty batch`);
      await sender.sendMessages(batch);
    } else if (chunk % 3 === 1) {
      await sender.sendMessages(messages);
    } else {
      for (const m of messages) await sender.sendMessages(m);
    }
  }
  return sent;
}

/** What the application saw of one delivery. */
export interface ServiceBusDelivery {
  index: number;
  message: ServiceBusReceivedMessage;
}

export function deliveryOf(m: ServiceBusReceivedMessage): ServiceBusDelivery {
  return { index: indexOf(Buffer.isBuffer(m.body) ? m.body : Buffer.alloc(0)), message: m };
}

/** Keys the tracing may add to a message's application properties. */
export const CONTEXT_KEYS = new Set(['traceparent', 'tracestate', 'baggage', 'Diagnostic-Id']);

const FIELDS = ['messageId', 'correlationId', 'subject', 'contentType', 'replyTo', 'to', 'timeToLive'] as const;

/** `got` is what was sent; a Date comes back as its milliseconds (the client decodes AMQP timestamps to numbers). */
function same(got: unknown, sent: unknown): boolean {
  if (sent instanceof Date) return (got instanceof Date ? got.getTime() : got) === sent.getTime();
  return Object.is(got, sent);
}

function show(v: unknown): string {
  return v instanceof Date ? `Date(${v.toISOString()})` : JSON.stringify(v)?.slice(0, 60) ?? String(v);
}

/**
 * Names the differences between a delivery and what was sent (`traced`: context keys may be added where the
 * sender had none). The client's defaults count as sent: a TTL it fills in, the fields it leaves undefined.
 */
export function servicebusDiffs(d: ServiceBusDelivery, traced: boolean): string[] {
  const sent = servicebusMessage(d.index);
  const got = d.message;
  const out: string[] = [];
  const body = bytesDiff(`#${d.index}: body`, sent.body as Buffer, Buffer.isBuffer(got.body) ? got.body : undefined);
  if (body !== undefined) out.push(body);
  for (const field of FIELDS) {
    const expected = sent[field];
    if (expected === undefined) continue; // the client's default
    if (!same(got[field], expected)) out.push(`#${d.index}: ${field} ${show(got[field])}, sent ${show(expected)}`);
  }
  const properties = got.applicationProperties ?? {};
  const sentProperties = sent.applicationProperties ?? {};
  for (const key of Object.keys(properties)) {
    if (!(key in sentProperties) && !(traced && CONTEXT_KEYS.has(key))) out.push(`#${d.index}: property ${key} was not sent`);
  }
  for (const [key, value] of Object.entries(sentProperties)) {
    if (!(key in properties)) out.push(`#${d.index}: property ${key} missing`);
    else if (!same(properties[key], value)) out.push(`#${d.index}: property ${key} = ${show(properties[key])}, sent ${show(value)}`);
  }
  return out;
}

/** Names the differences between a traced delivery and the plain run's of the same message (everything the client decoded). */
export function servicebusRunDiffs(plain: ServiceBusDelivery, traced: ServiceBusDelivery): string[] {
  const out: string[] = [];
  const [p, t] = [plain.message, traced.message];
  for (const field of [...FIELDS, 'sessionId', 'partitionKey', 'replyToSessionId', 'deadLetterReason', 'deliveryCount', 'state'] as const) {
    if (!same(p[field], t[field])) out.push(`#${plain.index}: ${field} ${show(t[field])}, untraced ${show(p[field])}`);
  }
  const tp = { ...t.applicationProperties };
  for (const key of CONTEXT_KEYS) if (!(key in (p.applicationProperties ?? {}))) delete tp[key];
  const pp = p.applicationProperties ?? {};
  const keys = new Set([...Object.keys(pp), ...Object.keys(tp)]);
  for (const key of keys) {
    if (!same(pp[key], tp[key]) || typeof pp[key] !== typeof tp[key]) out.push(`#${plain.index}: property ${key} ${show(tp[key])}, untraced ${show(pp[key])}`);
  }
  return out;
}

/**
 * subscribe() on `receiver` (one call at a time, the client's automatic complete) until `done()` holds, then
 * closes the subscription. `handle` is the application's handler; its errors go to the client as they are.
 */
export async function subscribeUntil(
  receiver: ServiceBusReceiver,
  handle: (m: ServiceBusReceivedMessage) => Promise<void>,
  done: () => boolean,
  timeoutMs: number,
  onError: (error: Error) => void = () => undefined,
  progress: () => string = () => 'subscribe() did not get every message',
): Promise<void> {
  const subscription = receiver.subscribe(
    { processMessage: handle, processError: (args) => Promise.resolve(onError(args.error)) },
    { maxConcurrentCalls: 1 },
  );
  try {
    await waitUntil(done, timeoutMs, progress);
  } finally {
    await subscription.close();
  }
}
