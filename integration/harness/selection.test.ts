// The harness starts a broker only for the test files that need it: this pins down that mapping.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brokersOf, neededBrokers, skippedBrokers } from './selection';

const root = join(__dirname, '..');
const kafkaFolders = (JSON.parse(readFileSync(join(__dirname, 'test-folders.json'), 'utf8')) as { kafka: string[] }).kafka;
const patterns = (...paths: string[]) => ({
  isSet: () => paths.length > 0,
  toExecutor: () => ({ isMatch: (file: string) => paths.some((p) => new RegExp(p, 'i').test(file)) }),
});

it('maps test files to brokers by folder', () => {
  expect(brokersOf(join(root, 'kafkajs', 'deep', 'x.test.ts'))).toEqual(['kafka']);
  expect(brokersOf(join(root, 'amqplib', 'x.test.ts'))).toEqual(['rabbitmq']);
  expect(brokersOf(join(root, 'smoke', 'sqs.test.ts'))).toEqual(['sqs']);
  expect(brokersOf(join(root, 'smoke', 'pubsub.test.ts'))).toEqual(['pubsub']);
  expect(brokersOf(join(root, 'smoke', 'servicebus.test.ts'))).toEqual(['servicebus']);
  expect(brokersOf(join(root, 'servicebus', 'x.test.ts'))).toEqual(['servicebus']);
  expect(brokersOf(join(root, 'servicebus-emulator', 'test', 'x.test.ts'))).toEqual(['servicebus']);
  expect(brokersOf(join(root, 'harness', 'selection.test.ts'))).toEqual([]);
});

it('needs only the brokers of the selected files', () => {
  const config = { rootDir: join(root, '..'), testPathIgnorePatterns: ['/node_modules/'] };
  expect(neededBrokers(root, { ...config, testPathPatterns: patterns('integration/smoke/sqs') })).toEqual(['sqs']);
  expect(neededBrokers(root, { ...config, testPathPatterns: patterns('harness/selection') })).toEqual([]);
  expect(neededBrokers(root, { ...config, testPathPatterns: patterns('integration/smoke/servicebus') })).toEqual(['servicebus']);
  expect(neededBrokers(root, { ...config, testPathPatterns: patterns() })).toEqual(['kafka', 'rabbitmq', 'sqs', 'pubsub', 'servicebus']);
  expect(
    neededBrokers(root, { ...config, testPathIgnorePatterns: ['/node_modules/', ...kafkaFolders] }),
  ).not.toContain('kafka');
});

it('reads BROKERTRACE_SKIP_BROKERS and rejects unknown names', () => {
  expect(skippedBrokers({ BROKERTRACE_SKIP_BROKERS: ' kafka, pubsub ' })).toEqual(['kafka', 'pubsub']);
  expect(skippedBrokers({})).toEqual([]);
  expect(() => skippedBrokers({ BROKERTRACE_SKIP_BROKERS: 'kafak' })).toThrow('unknown broker "kafak" (valid: kafka, rabbitmq, sqs, pubsub, servicebus)');
});
