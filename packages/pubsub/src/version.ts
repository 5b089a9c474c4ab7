// Versions: this package's own (the instrumentation scope of every span and metric, kept in step with
// package.json) and the @google-cloud/pubsub versions it is tested with (integration/pubsub/versions.test.ts runs
// each in a process of its own against the emulator).
export const PACKAGE_NAME = '@brokertrace/pubsub';
export const PACKAGE_VERSION = '0.1.0';

/**
 * The @google-cloud/pubsub versions tested on the emulator: 5.0.0 (the oldest), 5.3.1 (the newest 5.x), 6.0.0 and
 * 6.3.0 (the newest that installs: 6.3.2 needs a package the registry does not serve here). Another version is
 * still traced where the client looks as expected, after one `diag.warn` naming it.
 */
export const TESTED_PUBSUB_VERSIONS = '>=5.0.0 <=6.3.0';

type Triple = [number, number, number];

/** -1, 0, 1 as a is before, equal to, after b. */
function compare(a: Triple, b: Triple): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return 0;
}

/** True for a release (no pre-release tag) within {@link TESTED_PUBSUB_VERSIONS}. */
export function isTestedPubSubVersion(version: string | undefined): boolean {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version ?? '');
  if (!match) return false;
  const v: Triple = [Number(match[1]), Number(match[2]), Number(match[3])];
  return compare(v, [5, 0, 0]) >= 0 && compare(v, [6, 3, 0]) <= 0;
}
