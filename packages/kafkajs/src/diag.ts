// The package's diagnostics channel: core's component logger of OpenTelemetry's diag, tagged
// '@brokertrace/kafkajs'. It holds no state of its own (it forwards to the global diag logger at each call).
import { packageDiag } from '@brokertrace/core';
import { PACKAGE_NAME } from './version.js';

export const log = packageDiag(PACKAGE_NAME);
