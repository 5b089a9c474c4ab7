// What a kafkajs client knows about itself but does not expose: its client id, consumer group, the broker it
// talks to and (through the cluster object its factory built, when the instrumentation saw it) the cluster id and
// the Produce API version the broker accepts. Learned from the client's own instrumentation events and state,
// with no extra round trip; for a client without those events (Confluent's), from what its flavour reads.
import {
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  onUnpatch,
} from '@brokertrace/core';
import type { Attributes } from '@opentelemetry/api';
import { log } from './diag.js';
import { KAFKAJS, flavourOf } from './flavour.js';
import type { ClientFlavour } from './flavour.js';
import type { KafkaEvent } from './internal-types.js';
import type { TransactionTrace } from './transaction.js';

/** The parts of kafkajs's internal cluster object we read (`cluster.brokerPool`), all optional. */
export interface ClusterLike {
  readonly brokerPool?: {
    readonly metadata?: { readonly clusterId?: unknown } | null;
    readonly versions?: Readonly<Record<number, { readonly maxVersion?: unknown }>> | null;
  };
}

/** Produce API key, and the first Produce version whose records carry headers (record batch v2, Kafka 0.11). */
const PRODUCE_API_KEY = 0;
export const PRODUCE_VERSION_WITH_HEADERS = 3;

/** Partitions beyond this index do not get a metric attribute set of their own (bounded memory). */
const MAX_PARTITION_SETS = 10000;

/** Per traced client; filled as the client tells us. */
export class ClientInfo {
  clientId: string | undefined;
  groupId: string | undefined;
  serverAddress: string | undefined;
  serverPort: number | undefined;
  /** The client's cluster object, when the instrumentation saw the factory build it. */
  cluster: ClusterLike | undefined;
  /** The highest Produce version a request of this client used, once seen (REQUEST events). */
  produceVersion: number | undefined;
  /** The no-headers warning was given for this client. */
  warnedNoHeaders = false;
  /** Which client library this is (kafkajs until {@link attach} says otherwise). */
  flavour: ClientFlavour = KAFKAJS;
  /**
   * The open transaction of a producer that is its own transaction object (Confluent's `transaction()` resolves to
   * the producer): its sends are marked transactional, its `commit()`/`abort()` end it.
   */
  transaction: TransactionTrace | undefined;
  /** Inside a traced `sendBatch` call: a client whose `sendBatch` calls its own `send` (Confluent's) is not traced twice. */
  inSendBatch = 0;
  private learner: (() => boolean) | undefined;
  private metrics: Attributes | undefined;
  private readonly byPartition: Attributes[] = [];

  constructor(init: { clientId?: string; groupId?: string; cluster?: ClusterLike } = {}) {
    this.clientId = init.clientId;
    this.groupId = init.groupId;
    this.cluster = init.cluster;
  }

  /** Takes the flavour of the client being traced, and what it can learn about itself from it. */
  attach(client: object): void {
    const flavour = flavourOf(client);
    this.flavour = flavour;
    const learn = flavour.learn;
    this.learner = learn === undefined ? undefined : () => learn(client, this);
  }

  /** Called when a traced operation starts: learns what the client exposes, until there is nothing more to learn. */
  refresh(): void {
    if (this.learner !== undefined && this.learner()) this.learner = undefined;
  }

  /**
   * The low-cardinality attributes of this client for spans and metrics (group, broker address, and the partition
   * when one is given: a topic has few). The same object until something new is learned, so core can cache the
   * metric attribute sets it builds from it.
   */
  metricAttributes(partition?: number): Attributes {
    if (this.metrics === undefined) {
      const attributes: Attributes = {};
      if (this.groupId !== undefined) attributes[ATTR_MESSAGING_CONSUMER_GROUP_NAME] = this.groupId;
      if (this.serverAddress !== undefined) attributes[ATTR_SERVER_ADDRESS] = this.serverAddress;
      if (this.serverPort !== undefined) attributes[ATTR_SERVER_PORT] = this.serverPort;
      this.metrics = attributes;
      this.byPartition.length = 0;
    }
    if (partition === undefined || !Number.isSafeInteger(partition) || partition < 0 || partition > MAX_PARTITION_SETS) return this.metrics;
    return (this.byPartition[partition] ??= { ...this.metrics, [ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(partition) });
  }

  /** `messaging.kafka.cluster.id`, once kafkajs has fetched metadata. */
  clusterId(): string | undefined {
    try {
      const id = this.cluster?.brokerPool?.metadata?.clusterId;
      return typeof id === 'string' && id !== '' ? id : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * False when the broker cannot take record headers (Produce API < v3: Kafka before 0.11, or a proxy that
   * negotiates down): kafkajs then writes the old message format and drops every header. Undefined while unknown.
   */
  headersSupported(): boolean | undefined {
    if (this.produceVersion !== undefined) return this.produceVersion >= PRODUCE_VERSION_WITH_HEADERS;
    try {
      const max = this.cluster?.brokerPool?.versions?.[PRODUCE_API_KEY]?.maxVersion;
      return typeof max === 'number' ? max >= PRODUCE_VERSION_WITH_HEADERS : undefined;
    } catch {
      return undefined;
    }
  }

  setGroupId(groupId: string): void {
    this.groupId = groupId;
    this.metrics = undefined;
  }

  /** `host:port` of a broker (the first the client talked to: its seed, one of the bootstrap servers). */
  setBroker(broker: string): void {
    const colon = broker.lastIndexOf(':');
    const port = colon > 0 ? Number(broker.slice(colon + 1)) : NaN;
    this.serverAddress = Number.isInteger(port) ? broker.slice(0, colon) : broker;
    this.serverPort = Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
    this.metrics = undefined;
  }
}

type On = (eventName: string, listener: (event: KafkaEvent) => void) => unknown;
type Payload = Readonly<Record<string, unknown>>;

/**
 * Listens to `eventKey` (a key of `client.events`, e.g. `REQUEST`, `COMMIT_OFFSETS`) until the client is
 * untraced; returns a remover. Does nothing for clients without the event API. A listener that throws is logged.
 */
export function listen(client: object, eventKey: string, listener: (payload: Payload) => void): () => void {
  try {
    const c = client as { on?: unknown; events?: unknown };
    const events = c.events as Record<string, unknown> | undefined;
    const eventName = events?.[eventKey];
    if (typeof c.on !== 'function' || typeof eventName !== 'string') return () => undefined;
    let removed: unknown;
    let done = false;
    removed = (c.on as On).call(client, eventName, (event: KafkaEvent) => {
      const payload = event?.payload;
      if (done || payload === null || typeof payload !== 'object') return;
      try {
        listener(payload);
      } catch (err) {
        log.debug(`a ${eventKey} listener failed`, err);
      }
    });
    const remove = () => {
      if (done) return;
      done = true;
      if (typeof removed === 'function') (removed as () => void)();
      removed = undefined;
    };
    onUnpatch(client, remove);
    return remove;
  } catch (err) {
    log.debug(`cannot listen to ${eventKey}`, err);
    return () => undefined;
  }
}

/** Hands each `eventKey` event's payload to `seen` until it returns true, then stops listening. */
export function listenUntil(client: object, eventKey: string, seen: (payload: Payload) => boolean): void {
  const remove = listen(client, eventKey, (payload) => {
    if (seen(payload)) remove();
  });
}

/** Listens once to `eventKey` and hands the event's `payload[field]` (a non-empty string) to `learn`. */
export function learnOnce(client: object, eventKey: string, field: string, learn: (value: string) => void): void {
  listenUntil(client, eventKey, (payload) => {
    const value = payload[field];
    if (typeof value !== 'string' || value === '') return false;
    learn(value);
    return true;
  });
}

/**
 * Learns from the client's REQUEST events: the client id and broker address from the first, and (producers) the
 * Produce version of the first Produce request. Stops listening once it knows all it needs.
 */
export function learnFromRequests(client: object, info: ClientInfo, producer: boolean): void {
  listenUntil(client, 'REQUEST', (payload) => {
    if (info.clientId === undefined && typeof payload.clientId === 'string' && payload.clientId !== '') info.clientId = payload.clientId;
    if (info.serverAddress === undefined && typeof payload.broker === 'string' && payload.broker !== '') info.setBroker(payload.broker);
    if (producer && payload.apiName === 'Produce' && typeof payload.apiVersion === 'number') info.produceVersion = payload.apiVersion;
    return info.clientId !== undefined && info.serverAddress !== undefined && (!producer || info.produceVersion !== undefined);
  });
}
