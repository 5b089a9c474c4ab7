// AMQP error conditions the emulator answers with, named as the real service names them, and the one
// error type the request handlers throw (mapped to a link detach, a rejected delivery or a management
// status code, depending on where it happened).

export const CONDITION = {
  notFound: 'amqp:not-found',
  notImplemented: 'amqp:not-implemented',
  notAllowed: 'amqp:not-allowed',
  unauthorized: 'amqp:unauthorized-access',
  invalidField: 'amqp:invalid-field',
  decodeError: 'amqp:decode-error',
  internalError: 'amqp:internal-error',
  messageSizeExceeded: 'amqp:link:message-size-exceeded',
  lockLost: 'com.microsoft:message-lock-lost',
  messageNotFound: 'com.microsoft:message-not-found',
  argumentError: 'com.microsoft:argument-error',
  sessionCannotBeLocked: 'com.microsoft:session-cannot-be-locked',
  timeout: 'com.microsoft:timeout',
} as const;

export class AmqpFailure extends Error {
  constructor(
    readonly condition: string,
    readonly description: string,
    /** The status code a $management or $cbs response carries for it. */
    readonly status = 500,
  ) {
    super(description);
    this.name = 'AmqpFailure';
  }

  get amqpError(): { condition: string; description: string } {
    return { condition: this.condition, description: this.description };
  }
}

/** Any thrown value as an AMQP failure (internal errors keep their message: this is a test fixture). */
export function asFailure(error: unknown): AmqpFailure {
  if (error instanceof AmqpFailure) return error;
  return new AmqpFailure(CONDITION.internalError, `emulator error: ${error instanceof Error ? error.message : String(error)}`, 500);
}
