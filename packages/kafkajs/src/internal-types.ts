// Structural types of the kafkajs client: only what this package reads or wraps, so kafkajs's own types never
// leak into our published declarations (any object of this shape works: kafkajs 1.x and 2.x).

/** A header value as kafkajs hands it over: a string or Buffer, or an array of them for a repeated key. */
export type KafkaHeaderValue = string | Uint8Array | ReadonlyArray<string | Uint8Array> | undefined;

/** Message headers (`IHeaders` in kafkajs). */
export type KafkaHeaders = Readonly<Record<string, KafkaHeaderValue>>;

/** A message as the caller passes it to `send` (`Message` in kafkajs). */
export interface ProducerMessage {
  readonly key?: string | Uint8Array | null;
  readonly value: string | Uint8Array | null;
  readonly partition?: number;
  readonly headers?: KafkaHeaders;
  readonly timestamp?: string;
}

/** The argument of `producer.send` (`ProducerRecord`). */
export interface ProducerRecord {
  readonly topic: string;
  readonly messages: ReadonlyArray<ProducerMessage>;
}

/** One topic of `producer.sendBatch` (`TopicMessages`). */
export interface TopicMessages {
  readonly topic: string;
  readonly messages: ReadonlyArray<ProducerMessage>;
}

/** The argument of `producer.sendBatch` (`ProducerBatch`). */
export interface ProducerBatch {
  readonly topicMessages?: ReadonlyArray<TopicMessages>;
}

/** What the broker answered for one partition (`RecordMetadata`). */
export interface RecordMetadata {
  readonly topicName: string;
  readonly partition: number;
  readonly errorCode?: number;
  readonly baseOffset?: string;
  readonly offset?: string;
}

/** What `producer.transaction()` resolves to. */
export interface KafkaTransaction {
  send(record: ProducerRecord): Promise<RecordMetadata[]>;
  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** A kafkajs producer, as far as we touch it. */
export interface KafkaProducer {
  send(record: ProducerRecord): Promise<RecordMetadata[]>;
  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]>;
  transaction?(): Promise<KafkaTransaction>;
}

/** A message as kafkajs hands it to `eachMessage` / `eachBatch` (`KafkaMessage`). */
export interface ConsumedMessage {
  readonly key: Uint8Array | string | null;
  readonly value: Uint8Array | string | null;
  readonly timestamp: string;
  readonly offset: string;
  readonly headers?: KafkaHeaders;
}

export interface EachMessagePayload {
  readonly topic: string;
  readonly partition: number;
  readonly message: ConsumedMessage;
}

/** The `batch` of `eachBatch` (`Batch`). */
export interface ConsumedBatch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: ReadonlyArray<ConsumedMessage>;
}

export interface EachBatchPayload {
  readonly batch: ConsumedBatch;
}

/** The argument of `consumer.run` (`ConsumerRunConfig`). */
export interface ConsumerRunConfig {
  eachMessage?(payload: EachMessagePayload): Promise<void>;
  eachBatch?(payload: EachBatchPayload): Promise<void>;
}

/** One partition of `consumer.commitOffsets([...])` (`TopicPartitionOffsetAndMetadata`). */
export interface CommitOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/** A kafkajs consumer, as far as we touch it. */
export interface KafkaConsumer {
  run(config?: ConsumerRunConfig): Promise<void>;
  // A mutable array, as both clients declare it: Confluent's typings declare a property (no method bivariance),
  // so a readonly parameter here made `traceConsumer(confluentConsumer)` a type error.
  commitOffsets?(offsets: CommitOffset[]): Promise<void>;
}

/** kafkajs's instrumentation events (`producer.on(producer.events.REQUEST, ...)`), read at run time only. */
export interface KafkaEvent {
  readonly payload?: Readonly<Record<string, unknown>>;
}
