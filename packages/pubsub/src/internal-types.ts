// The parts of @google-cloud/pubsub 6.x this package touches, as structural types: the client's own types never
// leak into our published .d.ts, and any object of the right shape can be traced.

/** Message attributes: string keys to string values (the client rejects anything else). */
export type PubSubAttributes = Record<string, string>;

/** What `Topic#publishMessage` / `Publisher#publishMessage` take. */
export interface PublishMessage {
  data?: Uint8Array | null;
  json?: unknown;
  attributes?: Readonly<Record<string, string>> | null;
  orderingKey?: string | null;
  [key: string]: unknown;
}

export type PublishCallback = (error: Error | null | undefined, messageId?: string | null) => void;

/** The client's `Publisher` (one per Topic): every publish path (publish, publishJSON, publishMessage, flowControlled()) ends in its publishMessage. */
export interface PublisherLike {
  publishMessage(message: PublishMessage, callback?: PublishCallback): unknown;
}

/** What `traceTopic` takes: a `Topic` (checked at run time; the client's types stay out of our .d.ts). */
export interface TopicLike {
  /** `projects/{project}/topics/{id}`. */
  readonly name: string;
}

/** What `traceSubscription` takes: a `Subscription`. */
export interface SubscriptionLike {
  /** `projects/{project}/subscriptions/{id}`. */
  readonly name: string;
}

/** What `tracePubSub` takes: a `PubSub` client. */
export interface PubSubLike {
  readonly topic: unknown;
  readonly subscription: unknown;
}

/** A `Topic`, as we use it. */
export interface TopicInternal {
  /** `projects/{project}/topics/{id}` (the project may still be the `{{projectId}}` placeholder). */
  name: string;
  /** The PubSub client the topic was made by (its options say where RPCs go). */
  pubsub?: unknown;
  publisher?: PublisherLike;
  /** Every RPC of the topic, the batch publish included. */
  request?: (config: RequestConfig, callback?: (...args: unknown[]) => void) => unknown;
}

/** What `Topic#request` gets for a batch publish. */
export interface RequestConfig {
  client?: string;
  method?: string;
  reqOpts?: { topic?: string; messages?: ReadonlyArray<{ attributes?: unknown; orderingKey?: unknown }> };
  [key: string]: unknown;
}

/** A `Subscription`, as we use it: an EventEmitter whose 'message' listeners get each message. */
export interface SubscriptionInternal {
  /** `projects/{project}/subscriptions/{id}`. */
  name: string;
  /** The PubSub client the subscription was made by. */
  pubsub?: unknown;
  on(event: string | symbol, listener: (...args: unknown[]) => void): unknown;
  removeListener(event: string | symbol, listener: (...args: unknown[]) => void): unknown;
}

/** A received `Message` (subscriber.js). */
export interface ReceivedMessage {
  ackId?: string;
  id?: string;
  data?: Uint8Array;
  attributes?: Readonly<Record<string, string>>;
  /** 0 unless the subscription has a dead-letter policy (then 1 on the first delivery, approximate). */
  deliveryAttempt?: number;
  orderingKey?: string;
  /** A PreciseDate (a Date). */
  publishTime?: { getTime(): number } | Date;
  isExactlyOnceDelivery?: boolean;
  ack(): void;
  nack(): void;
  modAck(deadline: number): void;
  ackWithResponse?(): Promise<string>;
  nackWithResponse?(): Promise<string>;
  modAckWithResponse?(deadline: number): Promise<string>;
}
