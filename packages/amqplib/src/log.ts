// The package's diagnostics: every message goes through one component logger, so it carries the package name.
import { packageDiag } from '@brokertrace/core';
import { PACKAGE_NAME } from './version.js';

/** `diag` with namespace `@brokertrace/amqplib`; a no-op until the application sets a DiagLogger. */
export const log = packageDiag(PACKAGE_NAME);
