// Versions: this package's own (the instrumentation scope of every span and metric, kept in step with
// package.json) and the @azure/service-bus versions it is tested with (integration/servicebus/versions.test.ts runs each).
export const PACKAGE_NAME = '@brokertrace/service-bus';
export const PACKAGE_VERSION = '0.1.0';

/**
 * The @azure/service-bus versions tested against the harness's Service Bus: 7.8.0 (the oldest), 7.8.1, 7.9.0 and
 * 7.9.5 (the newest). Another version is still traced where the client looks as expected, after one `diag.warn`
 * naming it.
 */
export const TESTED_SERVICEBUS_VERSIONS = '>=7.8.0 <7.10.0';

/** True for a release (no pre-release tag) within {@link TESTED_SERVICEBUS_VERSIONS}. */
export function isTestedServiceBusVersion(version: string | undefined): boolean {
  const match = /^7\.(\d+)\.(\d+)$/.exec(version ?? '');
  return match !== null && (match[1] === '8' || match[1] === '9');
}
