// The public options and hook shapes of @brokertrace/sqs (sqsTracing, processMessage, SqsInstrumentation).
import type { MessagingInstrumentationConfig, SpanHook } from '@brokertrace/core';
import type { InstrumentationConfig } from '@opentelemetry/instrumentation';
import type { LambdaSqsRecord, SendMessageInput, SqsMessage } from './internal-types.js';

export type { LambdaMessageAttribute, LambdaSqsRecord, SendMessageInput, SqsMessage, SqsMessageAttributeValue } from './internal-types.js';

/** What the producer hook sees: one message as it goes out (its attributes with our context added). */
export interface SqsProducerHookInfo {
  readonly queueName: string;
  readonly queueUrl: string | undefined;
  /** The entry (SendMessageBatch) or input (SendMessage) as sent: a copy, never the caller's object. */
  readonly message: Readonly<SendMessageInput>;
}

/** What the consumer hook sees: one message handed to user code. */
export interface SqsConsumerHookInfo {
  readonly queueName: string;
  readonly message: Readonly<SqsMessage> | Readonly<LambdaSqsRecord>;
}

/** What the receive hook sees: the messages one ReceiveMessage call returned. */
export interface SqsReceiveHookInfo {
  readonly queueName: string;
  readonly queueUrl: string | undefined;
  readonly messages: ReadonlyArray<Readonly<SqsMessage>>;
}

/** Options of `sqsTracing`, `processMessage` and `SqsInstrumentation`. */
export interface SqsConfig extends MessagingInstrumentationConfig {
  /**
   * The queues' maximum message size in bytes (`MaximumMessageSize`): our attributes are fitted into what the
   * body and the message's own attributes leave of it (SQS counts every attribute's name, type and value), and a
   * batch into the same total. Set it for queues configured lower than SQS's default, e.g. 262144 (the older
   * 256 KiB default). Default 1048576 (1 MiB).
   */
  maxMessageBytes?: number;
  /**
   * Also write the context as the `AWSTraceHeader` system attribute (X-Ray format), for consumers that only
   * read X-Ray (AWS Lambda's own tracing, X-Ray SDKs). It costs no attribute slot and no message size. A message
   * that already carries `AWSTraceHeader` keeps it. Default `false`.
   */
  writeAwsTraceHeader?: boolean;
  /**
   * Read the context from an SNS notification envelope (SNS subscription without raw message delivery: the
   * body is SNS's JSON, its `MessageAttributes` hold `{Type, Value}`), when the message's own attributes hold none.
   * Default `true`.
   */
  snsEnvelope?: boolean;
  /**
   * A `receive` span for a ReceiveMessage call that returned no message. Long-polling loops make one every
   * poll; they carry no message to link to. Default `false`.
   */
  traceEmptyReceives?: boolean;
  /** Adds attributes to the span that carries a message's context (`create`, or `send` for SendMessage). */
  producerHook?: SpanHook<SqsProducerHookInfo>;
  /** Adds attributes to each `process` span (processMessage, sqs-consumer handlers). */
  consumerHook?: SpanHook<SqsConsumerHookInfo>;
  /** Adds attributes to each `receive` span. */
  receiveHook?: SpanHook<SqsReceiveHookInfo>;
}

/** Options of {@link SqsInstrumentation}: {@link SqsConfig} plus `enabled`. */
export interface SqsInstrumentationConfig extends SqsConfig, InstrumentationConfig {}

/** Options of one `processMessage` / `processBatch` call. */
export interface ProcessOptions {
  /**
   * The queue the message came from, by URL (`https://sqs.{region}.amazonaws.com/{account}/{name}`) or ARN
   * (`arn:aws:sqs:{region}:{account}:{name}`). Not needed for messages a traced client received, nor for Lambda
   * records (their `eventSourceARN` says it).
   */
  queueUrl?: string;
  /**
   * The ambient context the process span may keep as its parent (link decision) or link (child decision).
   * Default: the active context.
   */
  parent?: import('@opentelemetry/api').Context;
  /**
   * Options for messages that no traced client received (e.g. Lambda records): the tracing setup is created once
   * per config object. Default: the setup of the client that received the message, else one with default options.
   */
  config?: SqsConfig;
}
