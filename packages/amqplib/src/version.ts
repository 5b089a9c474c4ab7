/** Name and version reported as the instrumentation scope of every span and metric. */
export const PACKAGE_NAME = '@brokertrace/amqplib';
export const PACKAGE_VERSION = '0.1.0';
