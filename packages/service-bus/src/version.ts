// Instrumentation scope of every span and metric this package makes (kept in step with package.json).
export const PACKAGE_NAME = '@brokertrace/service-bus';
export const PACKAGE_VERSION = '0.1.0';
