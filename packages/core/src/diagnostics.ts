// Diagnostics: the one way every brokertrace package logs (a component logger of OpenTelemetry's `diag`).
import { diag } from '@opentelemetry/api';
import type { DiagLogger } from '@opentelemetry/api';

/**
 * The component logger of a package: `diag` messages prefixed with the package name (e.g. `@brokertrace/kafkajs`),
 * silent until the application sets a DiagLogger. Create it once per package (module level is fine: it holds no
 * state of its own). Core logs with the telemetry's `instrumentationName`.
 *
 * @example
 * export const log = packageDiag('@brokertrace/kafkajs');
 * log.warn('kafkajs 3.0.0 is not a tested version');
 */
export function packageDiag(name: string): DiagLogger {
  return diag.createComponentLogger({ namespace: name });
}

/** Core's own logger for what happens outside a telemetry (free functions: inject, extract, policy, patching). */
export const coreLog: DiagLogger = packageDiag('@brokertrace/core');
