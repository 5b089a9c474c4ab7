// The plugin on both sides of the middleware stack's move into @smithy/core (client 3.1046, May 2026): a client
// from before (3.1040, @smithy/smithy-client) and the current one, against the harness's SQS server.
import { setupTestTelemetry } from '@brokertrace/testing';
import { processMessage, sqsTracing } from '@brokertrace/sqs';
import { BEFORE_1046_VERSION, CURRENT_VERSION, before1046, current } from '../../packages/sqs/test/sdk.js';
import { sqs } from '../harness/index.js';
import { createQueue } from './helpers.js';

const t = setupTestTelemetry();
beforeEach(() => t.reset());

it.each([
  ['before 3.1046', BEFORE_1046_VERSION, before1046 as unknown as typeof current],
  ['after 3.1046', CURRENT_VERSION, current],
])('traces a client %s (%s): send, receive, process in one trace', async (_label, version, sdk) => {
  expect(Number(version.split('.')[1]) < 1046).toBe(_label === 'before 3.1046');
  const client = new sdk.SQSClient({ ...(await sqs()), maxAttempts: 1 });
  client.middlewareStack.use(sqsTracing());
  const url = await createQueue(client, 'version');
  await client.send(new sdk.SendMessageCommand({ QueueUrl: url, MessageBody: version }));
  // The aggregated client style shares the same stack.
  const aggregated = new sdk.SQS({ ...(await sqs()), maxAttempts: 1 });
  aggregated.middlewareStack.use(sqsTracing());
  const { Messages = [] } = await aggregated.receiveMessage({ QueueUrl: url, WaitTimeSeconds: 2 });
  expect(Messages).toHaveLength(1);
  processMessage(Messages[0]!, {}, () => undefined);
  const queue = url.slice(url.lastIndexOf('/') + 1);
  const [send] = t.spansNamed(`send ${queue}`);
  const [receive] = t.spansNamed(`receive ${queue}`);
  const [process] = t.spansNamed(`process ${queue}`);
  expect(receive!.links[0]!.context.spanId).toBe(send!.spanContext().spanId);
  expect(process!.parentSpanContext?.spanId).toBe(send!.spanContext().spanId);
});
