export { traceChannel, traceConnection, untraceChannel, untraceConnection } from './explicit.js';
export { AmqplibInstrumentation } from './instrumentation.js';
export { TESTED_AMQPLIB_VERSIONS } from './version.js';
export { ATTR_BROKERTRACE_MESSAGE_SETTLEMENT } from './semconv.js';
export { DEFAULT_EXCHANGE_NAME } from './destination.js';
export { AMQP_REPLY_CODES } from './errors.js';
export type {
  AmqplibConsumeInfo,
  AmqplibInstrumentationConfig,
  AmqplibPublishInfo,
  AmqplibSettleInfo,
  AmqplibSettlement,
  AmqplibTraceConfig,
} from './types.js';
export type { AmqpChannelLike, AmqpConnectionLike, AmqpMessage, AmqpMessageFields, AmqpMessageProperties } from './internal-types.js';
