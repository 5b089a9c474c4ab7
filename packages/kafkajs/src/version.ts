// Versions: this package's own (the instrumentation scope of every span and metric, kept in step with
// package.json) and the kafkajs versions it is tested with (integration/kafkajs/versions.test.ts runs each).
export const PACKAGE_NAME = '@brokertrace/kafkajs';
export const PACKAGE_VERSION = '0.1.0';

/**
 * The kafkajs versions tested on a real Kafka: 1.4.0 (the oldest), 1.16.0, 2.0.2 and 2.2.4 (the newest). Another
 * version is still traced where the client looks as expected, after one `diag.warn` naming it.
 */
export const TESTED_KAFKAJS_VERSIONS = '>=1.4.0 <3';
const OLDEST: Triple = [1, 4, 0];
const FIRST_UNTESTED_MAJOR = 3;

type Triple = [number, number, number];

/** True for a release (no pre-release tag) within {@link TESTED_KAFKAJS_VERSIONS}. */
export function isTestedKafkaJsVersion(version: string | undefined): boolean {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version ?? '');
  if (!match) return false;
  const v = [Number(match[1]), Number(match[2]), Number(match[3])] as Triple;
  if (v[0] >= FIRST_UNTESTED_MAJOR) return false;
  for (let i = 0; i < 3; i++) if (v[i] !== OLDEST[i]) return v[i]! > OLDEST[i]!;
  return true;
}
