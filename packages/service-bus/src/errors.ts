// `error.type` of a failed Service Bus call: the `ServiceBusError` code the client names (`MessageSizeExceeded`,
// `MessageLockLost`, `MessagingEntityNotFound`...), not the class name shared by all of them.

/** The `code` of a ServiceBusError (or any error with a string code); undefined for anything else. */
export function serviceBusErrorType(error: unknown): string | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  let code: unknown;
  try {
    code = (error as { code?: unknown }).code;
  } catch {
    return undefined;
  }
  return typeof code === 'string' && code !== '' && code.length <= 64 ? code : undefined;
}
