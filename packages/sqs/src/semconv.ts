// Attribute names this package sets beyond core's: the AWS ones of the SQS and AWS SDK conventions, and
// brokertrace's own.
export { ATTR_AWS_SQS_QUEUE_URL } from '@brokertrace/core';

/** The AWS request id of the call (`$metadata.requestId`), recommended by the SQS conventions. */
export const ATTR_AWS_REQUEST_ID = 'aws.request_id';
/** How many entries of a batch call (SendMessageBatch, DeleteMessageBatch, ...) SQS answered in `Failed`. */
export const ATTR_BROKERTRACE_SQS_FAILED_COUNT = 'brokertrace.sqs.batch.failed_count';
/** The message was read from an SNS notification envelope (SNS without raw delivery). */
export const ATTR_BROKERTRACE_SQS_SNS_ENVELOPE = 'brokertrace.sqs.sns_envelope';
/** The AWS SDK conventions' attributes of a call: `rpc.system` is `aws-api`, `rpc.service` the service's name. */
export const ATTR_RPC_SYSTEM = 'rpc.system';
export const ATTR_RPC_SERVICE = 'rpc.service';
/** The API name of the call, e.g. `SendMessage`. */
export const ATTR_RPC_METHOD = 'rpc.method';
/** The region the call went to. */
export const ATTR_CLOUD_REGION = 'cloud.region';
export const AWS_API = 'aws-api';
export const SQS_SERVICE = 'SQS';
