// Running one SDK call inside a span: the span ends when the call settles, with what the answer says (request
// id, per-entry failures) or with the error, which is rethrown unchanged; the SDK's answer is returned as it is.
import { context } from '@opentelemetry/api';
import type { Attributes, Context, Span } from '@opentelemetry/api';
import { log } from './diag.js';
import type { BatchOutput, InitializeOutput, OutputMetadata } from './internal-types.js';
import {
  ATTR_AWS_REQUEST_ID,
  ATTR_AWS_SQS_QUEUE_URL,
  ATTR_BROKERTRACE_SQS_FAILED_COUNT,
  ATTR_CLOUD_REGION,
  ATTR_RPC_METHOD,
  ATTR_RPC_SERVICE,
  ATTR_RPC_SYSTEM,
  AWS_API,
  SQS_SERVICE,
} from './semconv.js';
import type { SqsTracing } from './tracing.js';

/**
 * The attributes of a span around one SDK call (`method`: the API name, e.g. `SendMessage`): the queue URL and
 * the AWS SDK conventions' `rpc.system`, `rpc.service`, `rpc.method`, and `cloud.region` when the queue URL
 * names it (the SQS conventions extend the AWS SDK ones). Not on create or process spans: they are no call.
 */
export function callAttributes(tracing: SqsTracing, queueUrl: string | undefined, method: string): Attributes {
  const attributes: Attributes = { [ATTR_RPC_SYSTEM]: AWS_API, [ATTR_RPC_SERVICE]: SQS_SERVICE, [ATTR_RPC_METHOD]: method };
  if (queueUrl !== undefined) attributes[ATTR_AWS_SQS_QUEUE_URL] = queueUrl;
  const region = tracing.endpoints.regionOf(queueUrl);
  if (region !== undefined) attributes[ATTR_CLOUD_REGION] = region;
  return attributes;
}

/** Sets `aws.request_id` from an output or an SDK error (both carry `$metadata`). */
export function setRequestId(span: Span, source: unknown): void {
  try {
    const id = (source as OutputMetadata | undefined)?.$metadata?.requestId;
    if (typeof id === 'string' && id !== '' && span.isRecording()) span.setAttribute(ATTR_AWS_REQUEST_ID, id);
  } catch {
    // A hostile error object: no request id.
  }
}

/**
 * An error standing for a batch call whose every entry failed (SQS answers 200 with `Failed` entries; the SDK
 * does not throw): `error.type` is the first entry's code.
 */
export class SqsBatchEntriesFailed extends Error {
  readonly Code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'SqsBatchEntriesFailed';
    this.Code = code;
  }
}

/**
 * Records a batch answer's failures on `span` (`brokertrace.sqs.batch.failed_count`); returns the error to end
 * the span with when every entry failed.
 */
export function batchOutcome(span: Span, output: BatchOutput | undefined, entries: number): Error | undefined {
  const failed = Array.isArray(output?.Failed) ? output.Failed : [];
  if (failed.length === 0) return undefined;
  if (span.isRecording()) span.setAttribute(ATTR_BROKERTRACE_SQS_FAILED_COUNT, failed.length);
  if (failed.length < entries) return undefined;
  const first = failed[0]!;
  return new SqsBatchEntriesFailed(typeof first.Code === 'string' && first.Code !== '' ? first.Code : 'Failed', `every entry failed: ${String(first.Message ?? first.Code)}`);
}

/**
 * Calls `call` in `ctx`; when it resolves, `onOutput` may return an error to end the span with (a failed batch)
 * and the output is returned unchanged; when it rejects the span ends with that error, rethrown.
 */
export function callInSpan(
  tracing: SqsTracing,
  span: Span,
  ctx: Context,
  call: () => Promise<InitializeOutput>,
  onOutput: (output: unknown) => Error | undefined,
  onError?: (error: unknown) => void,
): Promise<InitializeOutput> {
  const telemetry = tracing.telemetry;
  let pending: Promise<InitializeOutput>;
  try {
    pending = context.with(ctx, call);
  } catch (err) {
    onError?.(err);
    telemetry.end(span, err);
    throw err;
  }
  return pending.then(
    (result) => {
      let failure: Error | undefined;
      try {
        const output = result?.output;
        setRequestId(span, output);
        failure = onOutput(output);
      } catch (err) {
        log.debug('reading an SQS answer for its span failed', err);
      }
      telemetry.end(span, failure);
      return result;
    },
    (err: unknown) => {
      onError?.(err);
      setRequestId(span, err);
      telemetry.end(span, err);
      throw err;
    },
  );
}
