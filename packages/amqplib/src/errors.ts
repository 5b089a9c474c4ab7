// error.type for amqplib failures: the AMQP 0-9-1 reply code a channel or connection was closed with, by the
// name the AMQP specification gives it. Other errors fall back to core's class name.

/** AMQP 0-9-1 reply codes (amqp0-9-1.xml `constant` names) that amqplib puts on `error.code`. */
export const AMQP_REPLY_CODES: Readonly<Record<number, string>> = Object.freeze({
  311: 'content-too-large',
  312: 'no-route',
  313: 'no-consumers',
  320: 'connection-forced',
  402: 'invalid-path',
  403: 'access-refused',
  404: 'not-found',
  405: 'resource-locked',
  406: 'precondition-failed',
  501: 'frame-error',
  502: 'syntax-error',
  503: 'command-invalid',
  504: 'channel-error',
  505: 'unexpected-frame',
  506: 'resource-error',
  530: 'not-allowed',
  540: 'not-implemented',
  541: 'internal-error',
});

/** The reply-code name of an amqplib error (`error.code`), or undefined to let core use the class name. */
export function amqpErrorType(error: unknown): string | undefined {
  try {
    if (typeof error !== 'object' || error === null) return undefined;
    const code: unknown = (error as { code?: unknown }).code;
    return typeof code === 'number' ? AMQP_REPLY_CODES[code] : undefined;
  } catch {
    return undefined; // a hostile error object (throwing getter, revoked proxy)
  }
}
