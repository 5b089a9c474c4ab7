// Versions: this package's own (the instrumentation scope of every span and metric, kept in step with
// package.json) and the client versions it is tested with (integration/kafkajs/versions.test.ts runs each kafkajs;
// the Confluent client's runs through every integration test that is parametrised over both clients).
export const PACKAGE_NAME = '@brokertrace/kafkajs';
export const PACKAGE_VERSION = '0.1.0';

/**
 * The kafkajs versions tested on a real Kafka: 1.4.0 (the oldest), 1.16.0, 2.0.2 and 2.2.4 (the newest). Another
 * version is still traced where the client looks as expected, after one `diag.warn` naming it.
 */
export const TESTED_KAFKAJS_VERSIONS = '>=1.4.0 <3';

/**
 * The @confluentinc/kafka-javascript versions whose KafkaJS-compatible API is tested on a real Kafka: 1.10.1.
 * Another version is still traced where its clients look as expected, after one `diag.warn` naming it.
 */
export const TESTED_CONFLUENT_VERSIONS = '>=1.10.1 <2';

type Triple = [number, number, number];

/** True for a release (no pre-release tag) at or above `oldest` and below the major `firstUntestedMajor`. */
function isTestedVersion(version: string | undefined, oldest: Triple, firstUntestedMajor: number): boolean {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version ?? '');
  if (!match) return false;
  const v = [Number(match[1]), Number(match[2]), Number(match[3])] as Triple;
  if (v[0] >= firstUntestedMajor) return false;
  for (let i = 0; i < 3; i++) if (v[i] !== oldest[i]) return v[i]! > oldest[i]!;
  return true;
}

/** True for a release (no pre-release tag) within {@link TESTED_KAFKAJS_VERSIONS}. */
export function isTestedKafkaJsVersion(version: string | undefined): boolean {
  return isTestedVersion(version, [1, 4, 0], 3);
}

/** True for a release (no pre-release tag) within {@link TESTED_CONFLUENT_VERSIONS}. */
export function isTestedConfluentVersion(version: string | undefined): boolean {
  return isTestedVersion(version, [1, 10, 1], 2);
}
