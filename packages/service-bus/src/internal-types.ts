// The parts of @azure/service-bus 7.9 this package touches, as structural types: the client's own types never
// leak into our published .d.ts, and any object of the right shape can be traced. Fields starting with `_` are
// the client's internals (dist/index.js of 7.9.5), read defensively.

/** Application property values the client accepts. */
export type ApplicationPropertyValue = number | boolean | string | Date | null;

/** A message as the caller gives it to `sendMessages` / `tryAddMessage` / `scheduleMessages`. */
export interface ServiceBusMessageLike {
  body?: unknown;
  messageId?: string | number | Buffer;
  correlationId?: string | number | Buffer;
  subject?: string;
  sessionId?: string;
  partitionKey?: string;
  replyTo?: string;
  replyToSessionId?: string;
  to?: string;
  contentType?: string;
  applicationProperties?: Readonly<Record<string, ApplicationPropertyValue>>;
  [key: string]: unknown;
}

/** A Long (the client's sequence numbers). */
export interface LongLike {
  toString(): string;
  toNumber?(): number;
}

/** A received message (`ServiceBusMessageImpl`). */
export interface ReceivedMessageLike extends ServiceBusMessageLike {
  /** The AMQP header's delivery-count as it is: 0 on the first delivery. */
  deliveryCount?: number;
  enqueuedTimeUtc?: Date;
  lockedUntilUtc?: Date;
  sequenceNumber?: LongLike;
  lockToken?: string;
  state?: 'active' | 'deferred' | 'scheduled';
  deadLetterReason?: string;
  deadLetterSource?: string;
  scheduledEnqueueTimeUtc?: Date;
}

/** `ServiceBusMessageBatch`. */
export interface MessageBatchLike {
  readonly count: number;
  readonly sizeInBytes: number;
  readonly maxSizeInBytes: number;
  tryAddMessage(message: ServiceBusMessageLike, options?: unknown): boolean;
  /** Azure's own per-message span contexts (only with its tracing on). */
  readonly _messageSpanContexts?: unknown;
}

/** The connection context every sender and receiver holds (internal). */
export interface ConnectionContextLike {
  config?: { host?: string; port?: number };
}

/** `ServiceBusSender`. */
export interface SenderLike {
  entityPath: string;
  sendMessages(messages: unknown, options?: unknown): Promise<void>;
  createMessageBatch(options?: unknown): Promise<MessageBatchLike>;
  scheduleMessages(messages: unknown, scheduledEnqueueTimeUtc: Date, options?: unknown): Promise<LongLike[]>;
  cancelScheduledMessages(sequenceNumbers: unknown, options?: unknown): Promise<void>;
  _context?: ConnectionContextLike;
}

/** What `subscribe()` takes. */
export interface MessageHandlersLike {
  processMessage(message: ReceivedMessageLike): Promise<void>;
  processError(args: unknown): Promise<void>;
  [key: string]: unknown;
}

/** The link-level receiver the client settles through (StreamingReceiver, BatchingReceiver, MessageSession). */
export interface LinkReceiverLike {
  settleMessage(message: ReceivedMessageLike, operation: string, options?: unknown): Promise<unknown>;
}

/** `ServiceBusReceiver` and `ServiceBusSessionReceiver`. */
export interface ReceiverLike {
  entityPath: string;
  receiveMode?: 'peekLock' | 'receiveAndDelete';
  sessionId?: string;
  receiveMessages(maxMessageCount: number, options?: unknown): Promise<ReceivedMessageLike[]>;
  peekMessages(maxMessageCount: number, options?: unknown): Promise<ReceivedMessageLike[]>;
  receiveDeferredMessages(sequenceNumbers: unknown, options?: unknown): Promise<ReceivedMessageLike[]>;
  getMessageIterator?(options?: unknown): AsyncIterableIterator<ReceivedMessageLike>;
  subscribe(handlers: MessageHandlersLike, options?: { autoCompleteMessages?: boolean; [key: string]: unknown }): { close(): Promise<void> };
  completeMessage(message: ReceivedMessageLike): Promise<void>;
  abandonMessage(message: ReceivedMessageLike, propertiesToModify?: unknown): Promise<void>;
  deferMessage(message: ReceivedMessageLike, propertiesToModify?: unknown): Promise<void>;
  deadLetterMessage(message: ReceivedMessageLike, options?: unknown): Promise<void>;
  renewMessageLock(message: ReceivedMessageLike): Promise<Date>;
  renewSessionLock?(options?: unknown): Promise<Date>;
  _context?: ConnectionContextLike;
  /** Created by `subscribe()` (non-session receivers). */
  _streamingReceiver?: LinkReceiverLike;
  /** The session link (session receivers, set at construction). */
  _messageSession?: LinkReceiverLike;
}

/** `ServiceBusClient`. */
export interface ServiceBusClientLike {
  fullyQualifiedNamespace?: string;
  createSender(queueOrTopicName: string, options?: unknown): SenderLike;
  createReceiver(...args: unknown[]): ReceiverLike;
  acceptSession(...args: unknown[]): Promise<ReceiverLike>;
  acceptNextSession(...args: unknown[]): Promise<ReceiverLike>;
}
