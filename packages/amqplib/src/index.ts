export { traceChannel, traceConnection, untraceChannel, untraceConnection } from './explicit.js';
export { AmqplibInstrumentation } from './instrumentation.js';
export { ATTR_BROKERTRACE_MESSAGE_SETTLEMENT } from './consumer.js';
export { DEFAULT_EXCHANGE_NAME } from './destination.js';
export type {
  AmqplibConsumeInfo,
  AmqplibInstrumentationConfig,
  AmqplibPublishInfo,
  AmqplibSettleInfo,
  AmqplibSettlement,
  AmqplibTraceConfig,
} from './types.js';
export type { AmqpChannelLike, AmqpConnectionLike, AmqpMessage, AmqpMessageFields, AmqpMessageProperties } from './internal-types.js';
