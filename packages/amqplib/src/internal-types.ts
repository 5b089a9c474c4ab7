// Structural shapes of the amqplib objects we touch, so that amqplib's own types never reach our .d.ts.
// They hold for the promise API (`amqplib`) and the callback API (`amqplib/callback_api`) alike.

/** A function of the client we call through; its arguments and result pass through untouched. */
export type AnyMethod = (this: unknown, ...args: unknown[]) => unknown;

/** `message.fields` of a delivery (`consume`) or of a `get` reply. */
export interface AmqpMessageFields {
  deliveryTag: number;
  redelivered: boolean;
  exchange: string;
  routingKey: string;
  consumerTag?: string;
  messageCount?: number;
}

/** `message.properties` as amqplib decodes them; header values may be typed `{'!': type, value}`. */
export interface AmqpMessageProperties {
  headers?: Record<string, unknown>;
  messageId?: unknown;
  correlationId?: unknown;
  timestamp?: unknown;
  [key: string]: unknown;
}

/** A message handed to a consumer callback or returned by `get`. */
export interface AmqpMessage {
  fields: AmqpMessageFields;
  properties: AmqpMessageProperties;
  content: Uint8Array;
}

/** The `options` argument of `publish` / `sendToQueue`. */
export interface AmqpPublishOptions {
  headers?: Record<string, unknown>;
  messageId?: string;
  correlationId?: string;
  [key: string]: unknown;
}

/**
 * A channel we can trace: a `Channel` or `ConfirmChannel` of either API. Only its shape is checked here (the
 * methods are read at call time), so any amqplib version's own types fit.
 */
export interface AmqpChannelLike {
  publish(...args: never[]): unknown;
  consume(...args: never[]): unknown;
  ack(...args: never[]): unknown;
}

/** A connection (`ChannelModel`, `CallbackModel`, or a recovering model) we can trace every channel of. */
export interface AmqpConnectionLike {
  createChannel(...args: never[]): unknown;
  createConfirmChannel(...args: never[]): unknown;
}
