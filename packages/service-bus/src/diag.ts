// The package's diagnostics channel: OpenTelemetry's diag, tagged '@brokertrace/service-bus'. The component
// logger holds no state of its own, so the CJS and ESM copies of this module behave as one.
import { packageDiag } from '@brokertrace/core';
import { PACKAGE_NAME } from './version.js';

export const log = packageDiag(PACKAGE_NAME);
