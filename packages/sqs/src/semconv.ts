// Attribute names this package sets beyond core's: the AWS ones of the SQS conventions, and brokertrace's own.
export { ATTR_AWS_SQS_QUEUE_URL } from '@brokertrace/core';

/** The AWS request id of the call (`$metadata.requestId`), recommended by the SQS conventions. */
export const ATTR_AWS_REQUEST_ID = 'aws.request_id';
/** How many entries of a batch call (SendMessageBatch, DeleteMessageBatch, ...) SQS answered in `Failed`. */
export const ATTR_BROKERTRACE_SQS_FAILED_COUNT = 'brokertrace.sqs.batch.failed_count';
/** The message was read from an SNS notification envelope (SNS without raw delivery). */
export const ATTR_BROKERTRACE_SQS_SNS_ENVELOPE = 'brokertrace.sqs.sns_envelope';
