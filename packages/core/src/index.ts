// @brokertrace/core's public surface. Read top-down: types.ts (vocabulary), telemetry-types.ts (what the
// telemetry takes and returns), telemetry.ts (span lifecycle), consumer-context.ts, producer.ts,
// messaging-metrics.ts, then the free functions (inject.ts, extract.ts, policy.ts) they build on.
export * from './types.js';
export { BROKER_LIMITS, RABBITMQ_DEFAULT_FRAME_MAX, RABBITMQ_HEADER_FRAME_MARGIN } from './limits.js';
export { injectContext } from './inject.js';
export { extractContext, extractSpanContext } from './extract.js';
export { copyWith, setOwn } from './copies.js';
export { headerValueToString, utf8Length, valueByteSize } from './values.js';
export { truncateTraceState, trimBaggage } from './truncate.js';
export {
  AWS_TRACE_HEADER,
  DIAGNOSTIC_ID,
  GOOGCLIENT_TRACEPARENT,
  GOOGCLIENT_TRACESTATE,
  parseTraceparent,
  parseXRayHeader,
} from './interop.js';
export {
  DEFAULT_MAX_CHILD_AGE_MS,
  DEFAULT_MAX_CHILD_DELIVERIES,
  ResolvedPolicy,
  createPolicy,
  decideRelationship,
  messageAgeMs,
} from './policy.js';
export type { ResolvedPolicyOptions } from './policy.js';
export { DeliveryCounter } from './duplicates.js';
export type { DeliveryCounterOptions } from './duplicates.js';
export { BrokerTraceConfigError } from './errors.js';
export { MessagingTelemetry, errorType, isThenable } from './telemetry.js';
export type {
  BatchStart,
  ConsumedMessage,
  CreateResult,
  CreateStart,
  MessagingTelemetryOptions,
  OutgoingMessage,
  ProcessResult,
  ProcessStart,
  SendResult,
  SendStart,
  SettleStart,
} from './telemetry-types.js';
export { creationContextOf, creationLinkAttributes, resolveConsumerContext } from './consumer-context.js';
export type { ConsumerContext, ConsumerContextInput, ConsumerTrust } from './consumer-context.js';
export { packageDiag } from './diagnostics.js';
export { CORE_CONFIG_KEYS, DEFAULT_MAX_METRIC_DESTINATIONS, resolveConfig } from './config.js';
export type { ResolvedConfig } from './config.js';
export { LinkSamplingSampler } from './sampling.js';
export { isPatched, onUnpatch, patchMethods, unpatchMethods } from './instance-patch.js';
export { AGE_BUCKETS_S, DURATION_BUCKETS_S, MAX_METRIC_ERROR_TYPES, METRIC_DESTINATION_OVERFLOW } from './messaging-metrics.js';
export * from './semconv.js';
