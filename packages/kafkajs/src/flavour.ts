// What differs between the two clients this package traces with one code path: kafkajs, and the KafkaJS-compatible
// API of @confluentinc/kafka-javascript (`require('@confluentinc/kafka-javascript').KafkaJS`, librdkafka underneath).
// The producer and consumer code read a client's flavour; everything Confluent-specific is in this file.
import type { ClientInfo } from './client-info.js';

/** How one client library behaves, where it matters to the shared producer and consumer code. */
export interface ClientFlavour {
  readonly name: 'kafkajs' | 'confluent';
  /**
   * The client has kafkajs's instrumentation events (`client.on(client.events.REQUEST, ...)`), from which the client
   * id, broker, group and commits are learned. Confluent's `consumer.events` getter throws and `on()` throws: nothing
   * of ours reads either.
   */
  readonly events: boolean;
  /**
   * The client rewrites the message objects it is given (Confluent's `send` sets `partition`, turns a string
   * `value` into a Buffer, coerces `timestamp` and replaces `headers` with librdkafka's array form): every traced
   * message goes out as our copy, so the caller's objects stay as they were.
   */
  readonly rewritesMessages: boolean;
  /**
   * Reads what the client exposes about itself into `info` (client id, broker, group); true once there is nothing
   * more to learn. Called when a traced operation starts, until it returns true. Never throws.
   */
  readonly learn?: (client: object, info: ClientInfo) => boolean;
}

export const KAFKAJS: ClientFlavour = Object.freeze({ name: 'kafkajs', events: true, rewritesMessages: false });

/** The part of a Confluent KafkaJS-API producer or consumer we read: the librdkafka client under it. */
interface ConfluentClient {
  _getInternalClient(): ConfluentInternalClient | null | undefined;
}

/** The node-rdkafka-style client under it (`lib/client.js`): its librdkafka config and the metadata of its connect. */
interface ConfluentInternalClient {
  readonly globalConfig?: Readonly<Record<string, unknown>>;
  readonly _metadata?: { readonly orig_broker_name?: unknown };
}

/** librdkafka's own default `client.id`: what the broker sees when the application set none. */
const LIBRDKAFKA_DEFAULT_CLIENT_ID = 'rdkafka';

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * The broker the client first talked to: librdkafka's `orig_broker_name` of the connect's metadata
 * (`host:port/brokerId`), else the first bootstrap server.
 */
function brokerOf(internal: ConfluentInternalClient, config: Readonly<Record<string, unknown>>): string | undefined {
  const original = nonEmpty(internal._metadata?.orig_broker_name);
  if (original !== undefined) {
    const slash = original.lastIndexOf('/');
    return slash > 0 ? original.slice(0, slash) : original;
  }
  const servers = nonEmpty(config['bootstrap.servers']) ?? nonEmpty(config['metadata.broker.list']);
  return servers?.split(',')[0]?.trim() || undefined;
}

function learnConfluent(client: object, info: ClientInfo): boolean {
  try {
    // Null until connect(); every traced operation needs a connected client, so the next one finds it.
    const internal = (client as ConfluentClient)._getInternalClient();
    const config = internal?.globalConfig;
    if (!internal || config === null || typeof config !== 'object') return false;
    info.clientId ??= nonEmpty(config['client.id']) ?? LIBRDKAFKA_DEFAULT_CLIENT_ID;
    if (info.groupId === undefined) {
      const group = nonEmpty(config['group.id']);
      if (group !== undefined) info.setGroupId(group);
    }
    if (info.serverAddress === undefined) {
      const broker = brokerOf(internal, config);
      if (broker !== undefined) info.setBroker(broker);
    }
    // The metadata arrives with connect: until then the address may be the bootstrap server's, so look again.
    return internal._metadata?.orig_broker_name !== undefined;
  } catch {
    return true;
  }
}

export const CONFLUENT: ClientFlavour = Object.freeze({ name: 'confluent', events: false, rewritesMessages: true, learn: learnConfluent });

/**
 * The flavour of a producer or consumer: Confluent's KafkaJS-API clients are class instances with
 * `_getInternalClient()` and `dependentAdmin()`; kafkajs's are plain objects with neither.
 */
export function flavourOf(client: object): ClientFlavour {
  const c = client as { _getInternalClient?: unknown; dependentAdmin?: unknown };
  return typeof c._getInternalClient === 'function' && typeof c.dependentAdmin === 'function' ? CONFLUENT : KAFKAJS;
}

/**
 * The consumer group named in a `Kafka#consumer()` config: kafkajs's `groupId`, Confluent's `kafkaJS.groupId` or its
 * librdkafka key `group.id`.
 */
export function groupIdOfConfig(config: unknown): string | undefined {
  if (config === null || typeof config !== 'object') return undefined;
  const c = config as { groupId?: unknown; kafkaJS?: { groupId?: unknown } | null; 'group.id'?: unknown };
  return nonEmpty(c.groupId) ?? nonEmpty(c.kafkaJS?.groupId) ?? nonEmpty(c['group.id']);
}

/**
 * librdkafka's names of broker errors (its positive codes are the Kafka protocol's) that kafkajs names otherwise;
 * every other broker error is `ERR_` + kafkajs's name. Mapped so that `error.type` does not change with the client.
 */
const KAFKAJS_NAMES: Readonly<Record<string, string>> = Object.freeze({
  ERR_INVALID_MSG: 'CORRUPT_MESSAGE',
  ERR_UNKNOWN_TOPIC_OR_PART: 'UNKNOWN_TOPIC_OR_PARTITION',
  ERR_INVALID_MSG_SIZE: 'INVALID_FETCH_SIZE',
  ERR_MSG_SIZE_TOO_LARGE: 'MESSAGE_TOO_LARGE',
  ERR_STALE_CTRL_EPOCH: 'STALE_CONTROLLER_EPOCH',
  ERR_COORDINATOR_LOAD_IN_PROGRESS: 'GROUP_LOAD_IN_PROGRESS',
  ERR_COORDINATOR_NOT_AVAILABLE: 'GROUP_COORDINATOR_NOT_AVAILABLE',
  ERR_NOT_COORDINATOR: 'NOT_COORDINATOR_FOR_GROUP',
  ERR_TOPIC_EXCEPTION: 'INVALID_TOPIC_EXCEPTION',
});

/**
 * Codes librdkafka has two names for: the client's `KafkaJSError` then finds no single name and sets `type` to -1
 * (its ERR_UNKNOWN), so these are named from the code (the coordinator errors of consumer groups).
 */
const TWO_NAMED_CODES: Readonly<Record<number, string>> = Object.freeze({
  14: 'GROUP_LOAD_IN_PROGRESS',
  15: 'GROUP_COORDINATOR_NOT_AVAILABLE',
  16: 'NOT_COORDINATOR_FOR_GROUP',
});

const LIBRDKAFKA_NAME = /^ERR__?[A-Z0-9_]{1,80}$/;

function read(object: object, name: string): unknown {
  try {
    return (object as Record<string, unknown>)[name];
  } catch {
    return undefined;
  }
}

/** librdkafka's name of `code`, from the code table the node-rdkafka layer's error class carries (`LibrdKafkaError.codes`). */
function codeName(error: object, code: number): string | undefined {
  const codes = read(read(error, 'constructor') as object ?? {}, 'codes');
  if (codes === null || typeof codes !== 'object') return undefined;
  for (const name of Object.keys(codes)) {
    if ((codes as Record<string, unknown>)[name] === code && LIBRDKAFKA_NAME.test(name)) return name;
  }
  return undefined;
}

/**
 * `error.type` of a Confluent client error, or undefined when `error` is not one. Its errors carry librdkafka's
 * numeric `code`: a `KafkaJSError` (and the few subclasses it kept) also its name as `type`
 * (`ERR_UNKNOWN_TOPIC_OR_PART`); a `LibrdKafkaError` (what `send` rejects with when librdkafka refuses a message
 * itself, e.g. one over `message.max.bytes`) only the code, named from its class's code table. A broker error
 * (code > 0) gets the Kafka protocol name kafkajs uses (`UNKNOWN_TOPIC_OR_PARTITION`, `MESSAGE_TOO_LARGE`); a
 * client-side one (code < 0: `ERR__MSG_TIMED_OUT`, `ERR__TRANSPORT`, ...) keeps librdkafka's name.
 */
export function confluentErrorType(error: object): string | undefined {
  const code = read(error, 'code');
  if (typeof code !== 'number' || !Number.isInteger(code)) return undefined;
  const name = read(error, 'name');
  const type = read(error, 'type');
  let librdkafkaName: string | undefined;
  if (typeof name === 'string' && name.startsWith('KafkaJS')) {
    if (code === -1) return 'UNKNOWN';
    // `type` is -1 (ERR_UNKNOWN) when the client found no single name for the code: one of two names, or none.
    if (typeof type === 'number') return TWO_NAMED_CODES[code];
    librdkafkaName = typeof type === 'string' && LIBRDKAFKA_NAME.test(type) ? type : undefined;
  } else if (typeof read(error, 'errno') === 'number' && typeof read(error, 'origin') === 'string') {
    librdkafkaName = code === -1 ? 'ERR_UNKNOWN' : codeName(error, code);
  }
  if (librdkafkaName === undefined) return undefined;
  if (code < 0 || librdkafkaName.startsWith('ERR__')) return code === -1 ? 'UNKNOWN' : librdkafkaName;
  return KAFKAJS_NAMES[librdkafkaName] ?? librdkafkaName.slice('ERR_'.length);
}
