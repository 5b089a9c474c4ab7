// The client libraries the SQS tests drive, resolved from packages/sqs (its devDependencies): the current
// @aws-sdk/client-sqs (middleware stack in @smithy/core), 3.1040 (before the move, @smithy/smithy-client) and
// sqs-consumer (which shares the current client). Integration tests import them from here.
import * as current from '@aws-sdk/client-sqs';
import * as before1046 from 'client-sqs-3.1040';
import * as sqsConsumer from 'sqs-consumer';

export { current, before1046, sqsConsumer };
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const CURRENT_VERSION = (require('@aws-sdk/client-sqs/package.json') as { version: string }).version;
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const BEFORE_1046_VERSION = (require('client-sqs-3.1040/package.json') as { version: string }).version;
