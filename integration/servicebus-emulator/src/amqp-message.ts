// AMQP 1.0 messages as the broker keeps them: the sender's encoded sections, kept byte for byte
// (properties, application-properties, body, footer), plus the two sections a broker rewrites on every
// delivery (header: delivery-count; message-annotations: sequence number, enqueued time, lock).
import { message as rheaMessage, types, type Message, type Typed } from 'rhea';

/** The slice of rhea's `types` this file uses (its typings declare less than it has). */
interface RheaTypes {
  Reader: new (buffer: Buffer) => { read(): Typed & { descriptor?: Typed }; remaining(): number; position: number };
  Writer: new () => { write(o: unknown): void; toBuffer(): Buffer };
  Map32(items: unknown[]): Typed;
  wrap(o: unknown): Typed;
  wrap_symbol(s: string): Typed;
  wrap_ulong(n: number): Typed;
  wrap_long(n: number): Typed;
  wrap_timestamp(ms: number): Typed;
  wrap_uint(n: number): Typed;
  wrap_uuid(b: Buffer): Typed;
  wrap_array(items: unknown[], code: number, descriptors: undefined): Typed;
  described_nc(descriptor: Typed, o: Typed): Typed;
  unwrap(o: unknown): unknown;
}
export const T = types as unknown as RheaTypes;

const HEADER = 0x70;
const DELIVERY_ANNOTATIONS = 0x71;
const MESSAGE_ANNOTATIONS = 0x72;
const PROPERTIES = 0x73;
const APPLICATION_PROPERTIES = 0x74;
const FOOTER = 0x78;
const SYMBOLIC: Record<string, number> = {
  'amqp:header:list': 0x70,
  'amqp:delivery-annotations:map': 0x71,
  'amqp:message-annotations:map': 0x72,
  'amqp:properties:list': 0x73,
  'amqp:application-properties:map': 0x74,
  'amqp:data:binary': 0x75,
  'amqp:amqp-sequence:list': 0x76,
  'amqp:amqp-value:*': 0x77,
  'amqp:footer:map': 0x78,
};

/** A map section's entries in wire order, values still typed (so re-encoding keeps their AMQP types). */
export type TypedEntries = Array<[key: Typed, value: Typed]>;

export interface StoredMessage {
  /** The sender's header fields (delivery-count is the broker's, written per delivery). */
  header: { durable?: boolean; priority?: number; ttl?: number; first_acquirer?: boolean };
  annotations: TypedEntries;
  properties?: Buffer;
  applicationProperties?: Buffer;
  /** The body sections (data / amqp-sequence / amqp-value) and the footer, as sent. */
  rest: Buffer;
  /** Decoded view for the broker's own decisions (message-id, TTL, application properties...). */
  decoded: Message;
}

function codeOf(descriptor: Typed | undefined): number | undefined {
  if (!descriptor) return undefined;
  const v = descriptor.value as unknown;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return SYMBOLIC[v];
  return undefined;
}

function entriesOf(section: Typed): TypedEntries {
  const items = section.value as Typed[];
  const out: TypedEntries = [];
  for (let i = 0; i + 1 < items.length; i += 2) out.push([items[i] as Typed, items[i + 1] as Typed]);
  return out;
}

/** Splits one encoded message into its sections; throws (the caller rejects the transfer) when malformed. */
export function parseMessage(bytes: Buffer): StoredMessage {
  const reader = new T.Reader(bytes);
  const stored: StoredMessage = { header: {}, annotations: [], rest: Buffer.alloc(0), decoded: rheaMessage.decode(bytes) as unknown as Message };
  const rest: Buffer[] = [];
  let sawBody = false;
  while (reader.remaining() > 0) {
    const start = reader.position;
    const section = reader.read();
    const raw = bytes.subarray(start, reader.position);
    const code = codeOf(section.descriptor);
    if (code === undefined) throw new Error(`a message section at byte ${start} has no known descriptor`);
    if (code === HEADER) {
      const { durable, priority, ttl, first_acquirer } = stored.decoded as Message & { first_acquirer?: boolean };
      stored.header = { durable, priority, ttl, first_acquirer };
    } else if (code === DELIVERY_ANNOTATIONS) {
      // per hop: not kept
    } else if (code === MESSAGE_ANNOTATIONS) {
      stored.annotations = entriesOf(section);
    } else if (code === PROPERTIES) {
      stored.properties = Buffer.from(raw);
    } else if (code === APPLICATION_PROPERTIES) {
      stored.applicationProperties = Buffer.from(raw);
    } else {
      if (code !== FOOTER) sawBody = true;
      rest.push(raw);
    }
  }
  if (!sawBody) throw new Error('the message has no body section');
  stored.rest = Buffer.from(Buffer.concat(rest));
  return stored;
}

/** The data sections of a batch (message format 0x80013700): each one is a complete encoded message. */
export function batchParts(bytes: Buffer): Buffer[] {
  const reader = new T.Reader(bytes);
  const parts: Buffer[] = [];
  while (reader.remaining() > 0) {
    const section = reader.read();
    const code = codeOf(section.descriptor);
    if (code === 0x75) parts.push(section.value);
  }
  if (parts.length === 0) throw new Error('the batch has no data sections');
  return parts;
}

export function annotation(stored: StoredMessage, key: string): unknown {
  const entry = stored.annotations.find(([k]) => k.value === key);
  return entry ? T.unwrap(entry[1]) : undefined;
}

/** Message annotations with the broker's own entries set (replacing any the sender put under those keys). */
function mergedAnnotations(stored: StoredMessage, broker: Record<string, Typed | undefined>): Typed {
  const items: Typed[] = [];
  for (const [k, v] of stored.annotations) {
    if (!(String(k.value) in broker)) items.push(k, v);
  }
  for (const [k, v] of Object.entries(broker)) if (v !== undefined) items.push(T.wrap_symbol(k), v);
  return T.described_nc(T.wrap_ulong(MESSAGE_ANNOTATIONS), T.Map32(items));
}

/** The bytes to put on the wire for one delivery. */
export function encodeForDelivery(stored: StoredMessage, deliveryCount: number, broker: Record<string, Typed | undefined>): Buffer {
  const writer = new T.Writer();
  const header = (rheaMessage as unknown as { header(fields: object): { described(): Typed } }).header({
    ...stored.header,
    delivery_count: deliveryCount,
  });
  writer.write(header.described());
  writer.write(mergedAnnotations(stored, broker));
  const head = writer.toBuffer();
  return Buffer.concat([head, stored.properties ?? Buffer.alloc(0), stored.applicationProperties ?? Buffer.alloc(0), stored.rest]);
}

/** The application properties as typed entries (empty when the message has none). */
export function applicationEntries(stored: StoredMessage): TypedEntries {
  if (!stored.applicationProperties) return [];
  return entriesOf(new T.Reader(stored.applicationProperties).read());
}

/**
 * Sets application properties (as the service does for dead-letter reasons and `propertiesToModify`),
 * keeping every other entry, and its encoding, as it was.
 */
export function withApplicationProperties(stored: StoredMessage, updates: Record<string, unknown>): StoredMessage {
  const keys = Object.keys(updates).filter((k) => updates[k] !== undefined);
  if (keys.length === 0) return stored;
  const items: Typed[] = [];
  for (const [k, v] of applicationEntries(stored)) if (!keys.includes(String(k.value))) items.push(k, v);
  for (const key of keys) items.push(T.wrap(key), T.wrap(updates[key]));
  const writer = new T.Writer();
  writer.write(T.described_nc(T.wrap_ulong(APPLICATION_PROPERTIES), T.Map32(items)));
  const applicationProperties = writer.toBuffer();
  const decoded = { ...stored.decoded, application_properties: { ...stored.decoded.application_properties, ...updates } } as Message;
  return { ...stored, applicationProperties, decoded };
}

/** Encoded size of each application property (key + value) and of the whole section. */
export function applicationPropertySizes(stored: StoredMessage): { total: number; largest?: { name: string; bytes: number } } {
  let largest: { name: string; bytes: number } | undefined;
  for (const [k, v] of applicationEntries(stored)) {
    const writer = new T.Writer();
    writer.write(k);
    writer.write(v);
    const bytes = writer.toBuffer().length;
    if (!largest || bytes > largest.bytes) largest = { name: String(k.value), bytes };
  }
  return { total: (stored.applicationProperties?.length ?? 0) + (stored.properties?.length ?? 0), largest };
}

/** The message with one message annotation set (e.g. x-opt-deadletter-source on a forwarded dead letter). */
export function withAnnotation(stored: StoredMessage, key: string, value: unknown): StoredMessage {
  const annotations: TypedEntries = stored.annotations.filter(([k]) => k.value !== key);
  annotations.push([T.wrap_symbol(key), T.wrap(value)]);
  return { ...stored, annotations };
}

const PROPERTY_FIELDS = [
  'message_id', 'user_id', 'to', 'subject', 'reply_to', 'correlation_id', 'content_type', 'content_encoding',
  'absolute_expiry_time', 'creation_time', 'group_id', 'group_sequence', 'reply_to_group_id',
] as const;

/** The message with a message-id (the service gives one to messages sent without). */
export function withMessageId(stored: StoredMessage, messageId: string): StoredMessage {
  const decoded = stored.decoded as unknown as Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  for (const f of PROPERTY_FIELDS) if (decoded[f] !== undefined) fields[f] = decoded[f];
  fields.message_id = messageId;
  const writer = new T.Writer();
  writer.write((rheaMessage as unknown as { properties(o: object): { described(): Typed } }).properties(fields).described());
  return { ...stored, properties: writer.toBuffer(), decoded: { ...stored.decoded, message_id: messageId } };
}
