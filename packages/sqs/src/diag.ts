// The package's diagnostics channel: every message goes through OpenTelemetry's diag, tagged '@brokertrace/sqs'.
// The component logger forwards to the global diag logger at each call, so the CJS and ESM copies behave as one.
import { packageDiag } from '@brokertrace/core';
import { PACKAGE_NAME } from './version.js';

export const log = packageDiag(PACKAGE_NAME);
