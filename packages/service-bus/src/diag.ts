// The package's diagnostics channel: OpenTelemetry's diag, tagged '@brokertrace/service-bus', and `warnOnce` for
// what must be said once per process (an untested @azure/service-bus version, an object a wrapper does not
// recognise), whichever copy of this package (ESM, CJS) says it: the record of what was said is behind a global symbol.
import { packageDiag } from '@brokertrace/core';
import { PACKAGE_NAME } from './version.js';

export const log = packageDiag(PACKAGE_NAME);

const WARNED = Symbol.for('@brokertrace/service-bus.warned.v1');
// Bounded: keys are a few fixed kinds plus the client versions loaded.
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
