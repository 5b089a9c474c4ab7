// The package's diagnostics: every message goes through one component logger, so it carries the package name;
// `warnOnce` for what is said once per process (an untested amqplib, an object a wrapper does not recognise),
// whichever copy of this package (ESM, CJS) says it.
import { packageDiag } from '@brokertrace/core';
import { PACKAGE_NAME } from './version.js';

/** `diag` with namespace `@brokertrace/amqplib`; a no-op until the application sets a DiagLogger. */
export const log = packageDiag(PACKAGE_NAME);

const WARNED = Symbol.for('@brokertrace/amqplib.warned.v1');
// Bounded: keys are a few fixed kinds plus the amqplib versions loaded.
const MAX_KEYS = 100;

/** Logs `message` through `diag.warn` the first time `key` is seen in this process; false when it was said before. */
export function warnOnce(key: string, message: string): boolean {
  const holder = globalThis as { [WARNED]?: Set<string> };
  const seen = (holder[WARNED] ??= new Set<string>());
  if (seen.has(key)) return false;
  if (seen.size < MAX_KEYS) seen.add(key);
  log.warn(message);
  return true;
}
