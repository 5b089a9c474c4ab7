// Versions: this package's own (the instrumentation scope of every span and metric, kept in step with
// package.json) and the @aws-sdk/client-sqs and sqs-consumer versions it is tested with
// (integration/sqs/versions.test.ts runs each client version in a process of its own).
export const PACKAGE_NAME = '@brokertrace/sqs';
export const PACKAGE_VERSION = '0.1.0';

/**
 * The @aws-sdk/client-sqs versions tested against an SQS server: 3.1040.0 (the oldest, before the middleware
 * stack moved into @smithy/core at 3.1046) and 3.1175.0 (the newest). Another version is still traced where the
 * client looks as expected, after one `diag.warn` naming it.
 */
export const TESTED_CLIENT_SQS_VERSIONS = '>=3.1040.0 <=3.1175.0';
/** The sqs-consumer versions tested (15.x, with the newest client). */
export const TESTED_SQS_CONSUMER_VERSIONS = '>=15.0.0 <16';

type Triple = [number, number, number];

function tripleOf(version: string | undefined): Triple | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version ?? '');
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

/** -1, 0, 1 as a is before, equal to, after b. */
function compare(a: Triple, b: Triple): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return 0;
}

/** True for a release (no pre-release tag) within {@link TESTED_CLIENT_SQS_VERSIONS}. */
export function isTestedClientSqsVersion(version: string | undefined): boolean {
  const v = tripleOf(version);
  return v !== undefined && compare(v, [3, 1040, 0]) >= 0 && compare(v, [3, 1175, 0]) <= 0;
}

/** True for a release within {@link TESTED_SQS_CONSUMER_VERSIONS}. */
export function isTestedSqsConsumerVersion(version: string | undefined): boolean {
  return tripleOf(version)?.[0] === 15;
}
