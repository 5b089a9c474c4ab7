// Structural types of what we touch in @aws-sdk/client-sqs and sqs-consumer: the SDK never leaks into our
// published .d.ts (its types change with every release; these shapes have been stable through v3).

/** An SQS message attribute as the SDK sends and returns it. */
export interface SqsMessageAttributeValue {
  DataType?: string | undefined;
  StringValue?: string | undefined;
  BinaryValue?: Uint8Array | undefined;
  StringListValues?: string[] | undefined;
  BinaryListValues?: Uint8Array[] | undefined;
}

/** A message as `ReceiveMessage` returns it (SDK shape). */
export interface SqsMessage {
  MessageId?: string | undefined;
  ReceiptHandle?: string | undefined;
  MD5OfBody?: string | undefined;
  Body?: string | undefined;
  Attributes?: Partial<Record<string, string>> | undefined;
  MD5OfMessageAttributes?: string | undefined;
  MessageAttributes?: Record<string, SqsMessageAttributeValue> | undefined;
}

/** A message attribute in an AWS Lambda SQS event record. */
export interface LambdaMessageAttribute {
  stringValue?: string | undefined;
  binaryValue?: string | undefined;
  dataType?: string | undefined;
}

/** One record of an AWS Lambda SQS event (`event.Records[i]`). */
export interface LambdaSqsRecord {
  messageId?: string | undefined;
  receiptHandle?: string | undefined;
  body?: string | undefined;
  attributes?: Partial<Record<string, string>> | undefined;
  messageAttributes?: Record<string, LambdaMessageAttribute> | undefined;
  eventSource?: string | undefined;
  eventSourceARN?: string | undefined;
  awsRegion?: string | undefined;
}

export interface SendMessageInput {
  QueueUrl?: string | undefined;
  MessageBody?: string | undefined;
  MessageAttributes?: Record<string, SqsMessageAttributeValue> | undefined;
  MessageSystemAttributes?: Record<string, SqsMessageAttributeValue> | undefined;
  [key: string]: unknown;
}

export interface SendMessageBatchEntry extends SendMessageInput {
  Id?: string | undefined;
}

export interface SendMessageBatchInput {
  QueueUrl?: string | undefined;
  Entries?: SendMessageBatchEntry[] | undefined;
  [key: string]: unknown;
}

export interface BatchResultEntry {
  Id?: string | undefined;
  MessageId?: string | undefined;
  Code?: string | undefined;
  Message?: string | undefined;
  SenderFault?: boolean | undefined;
}

export interface BatchOutput {
  Successful?: BatchResultEntry[] | undefined;
  Failed?: BatchResultEntry[] | undefined;
}

export interface ReceiveMessageInput {
  QueueUrl?: string | undefined;
  AttributeNames?: string[] | undefined;
  MessageSystemAttributeNames?: string[] | undefined;
  MessageAttributeNames?: string[] | undefined;
  [key: string]: unknown;
}

export interface ReceiveMessageOutput {
  Messages?: SqsMessage[] | undefined;
}

export interface ReceiptEntry {
  Id?: string | undefined;
  ReceiptHandle?: string | undefined;
}

export interface ReceiptInput {
  QueueUrl?: string | undefined;
  ReceiptHandle?: string | undefined;
  Entries?: ReceiptEntry[] | undefined;
  [key: string]: unknown;
}

/** What every SDK output carries. */
export interface OutputMetadata {
  $metadata?: { requestId?: string | undefined; httpStatusCode?: number | undefined } | undefined;
}

/** What an initialize-step middleware receives (the command object itself: never write to it). */
export interface InitializeArgs {
  input: unknown;
  [key: string]: unknown;
}

export interface InitializeOutput {
  output: unknown;
  response?: unknown;
}

export type InitializeHandler = (args: InitializeArgs) => Promise<InitializeOutput>;

export interface HandlerContext {
  clientName?: string;
  commandName?: string;
  [key: string]: unknown;
}

export type InitializeMiddleware = (next: InitializeHandler, context: HandlerContext) => InitializeHandler;

/** The part of a smithy MiddlewareStack the plugin uses (`@smithy/middleware-stack` before 3.1046, `@smithy/core` since). */
export interface MiddlewareStackLike {
  add(
    middleware: InitializeMiddleware,
    options: { step: 'initialize'; priority: 'high'; name: string; override: boolean; tags?: string[] },
  ): void;
}
