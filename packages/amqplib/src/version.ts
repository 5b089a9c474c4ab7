// Versions: this package's own (the instrumentation scope of every span and metric) and the amqplib versions it
// is tested with (integration/amqplib/versions.test.ts runs each on a real RabbitMQ).
export const PACKAGE_NAME = '@brokertrace/amqplib';
export const PACKAGE_VERSION = '0.1.0';

/**
 * The amqplib versions tested: 0.10.0 (the oldest), 0.10.9, 1.0.0, 1.2.0, 2.0.0 and 2.3.1 (the newest). Another
 * version is still traced where its channel classes look as expected, after one `diag.warn` naming it.
 */
export const TESTED_AMQPLIB_VERSIONS = '>=0.10.0 <3';
const OLDEST = [0, 10, 0] as const;
const FIRST_UNTESTED_MAJOR = 3;

/** True for a release (no pre-release tag) within {@link TESTED_AMQPLIB_VERSIONS}. */
export function isTestedAmqplibVersion(version: string | undefined): boolean {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version ?? '');
  if (!match) return false;
  const v = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (v[0]! >= FIRST_UNTESTED_MAJOR) return false;
  for (let i = 0; i < 3; i++) if (v[i] !== OLDEST[i]) return v[i]! > OLDEST[i]!;
  return true;
}
