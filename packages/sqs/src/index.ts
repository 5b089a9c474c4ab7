// @brokertrace/sqs: one trace from Amazon SQS senders (@aws-sdk/client-sqs v3) to every consumer.
import { pluginFor } from './plugin.js';
import type { SqsTracingPlugin } from './plugin.js';
import { tracingFor } from './tracing.js';
import type { SqsConfig } from './types.js';

export { SqsInstrumentation, CLIENT_VERSIONS, SQS_CONSUMER_VERSIONS } from './instrumentation.js';
export { TESTED_CLIENT_SQS_VERSIONS, TESTED_SQS_CONSUMER_VERSIONS } from './version.js';
export { processBatch, processMessage } from './process.js';
export { MIDDLEWARE_NAME } from './plugin.js';
export { DEFAULT_MAX_MESSAGE_BYTES } from './config.js';
export { POLICY_SYSTEM_ATTRIBUTES } from './facts.js';
export { isValidAttributeName } from './attributes.js';
export { SqsBatchEntriesFailed } from './call.js';
export { ATTR_AWS_REQUEST_ID, ATTR_BROKERTRACE_SQS_FAILED_COUNT, ATTR_BROKERTRACE_SQS_SNS_ENVELOPE } from './semconv.js';
export type {
  LambdaMessageAttribute,
  LambdaSqsRecord,
  ProcessOptions,
  SendMessageInput,
  SqsConfig,
  SqsConsumerHookInfo,
  SqsInstrumentationConfig,
  SqsMessage,
  SqsMessageAttributeValue,
  SqsProducerHookInfo,
  SqsReceiveHookInfo,
} from './types.js';
export type { SqsTracingPlugin };
export type { MiddlewareStackLike } from './internal-types.js';

/**
 * A client plugin that traces an SQS client: `client.middlewareStack.use(sqsTracing())`. Works with any
 * `SQSClient`, the aggregated `SQS` client and every command style: send spans (and a create span per batch
 * entry) with the context in message attributes, receive spans with a link per message, settle spans for
 * DeleteMessage(Batch) and ChangeMessageVisibility(Batch). Use it once per client (a second use replaces the
 * first). Options are validated here: throws `BrokerTraceConfigError` naming a bad one. One tracing setup is
 * made per config object: pass the same object to every client that should share it.
 *
 * @example
 * const client = new SQSClient({});
 * client.middlewareStack.use(sqsTracing({ maxMessageBytes: 262144 }));
 */
export function sqsTracing(config?: SqsConfig): SqsTracingPlugin {
  const tracing = tracingFor(config);
  return pluginFor(() => tracing);
}
