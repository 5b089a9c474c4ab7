// The package's diagnostics channel: every message goes through OpenTelemetry's diag, tagged
// '@brokertrace/kafkajs'. The component logger holds no state of its own (it forwards to the global diag
// logger at each call), so the CJS and ESM copies of this module behave as one.
import { diag } from '@opentelemetry/api';
import { PACKAGE_NAME } from './version.js';

export const log = diag.createComponentLogger({ namespace: PACKAGE_NAME });
