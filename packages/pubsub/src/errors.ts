// `error.type` of a failed Pub/Sub call: the gRPC status the service answered (`INVALID_ARGUMENT`, `NOT_FOUND`),
// not the class name of google-gax's wrapper error.
const GRPC_STATUS = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

/** The gRPC status name of `error.code` (a number from google-gax / grpc-js); undefined for anything else. */
export function pubsubErrorType(error: unknown): string | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  let code: unknown;
  try {
    code = (error as { code?: unknown }).code;
  } catch {
    return undefined;
  }
  return typeof code === 'number' && Number.isInteger(code) && code > 0 ? GRPC_STATUS[code] : undefined;
}
