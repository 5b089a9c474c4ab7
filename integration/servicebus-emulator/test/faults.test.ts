// The fault levers of the harness's emulator (for reliability tests), and what the unmodified client does
// with them: a dropped connection is reopened by the client; an ended lock redelivers the message with the
// delivery count raised and the old lock lost. Both touch only this file's queue (servicebus-8).
import type { ServiceBusClient } from '@azure/service-bus';
import { dropServicebusConnections, expireServicebusLocks } from '../../harness/index.js';
import { connect, receive, receiveOne } from './helpers';

describe('Service Bus emulator: fault levers', () => {
  let client: ServiceBusClient;
  beforeAll(async () => {
    client = await connect({ retryOptions: { maxRetries: 5, retryDelayInMs: 200, timeoutInMs: 10_000 } });
  });
  afterAll(() => client.close());

  it('drops connections; the client reconnects and goes on sending and receiving', async () => {
    const sender = client.createSender('servicebus-8');
    await sender.sendMessages({ body: 'before', messageId: 'fault-1' });
    expect(await dropServicebusConnections('servicebus-8')).toBe(1); // only this test's connection
    await sender.sendMessages({ body: 'after', messageId: 'fault-2' });
    const receiver = client.createReceiver('servicebus-8', { receiveMode: 'receiveAndDelete' });
    const got = await receive(receiver, 2);
    expect(got.map((m) => m.messageId)).toEqual(['fault-1', 'fault-2']);
  }, 30_000);

  it('ends a lock: the message comes back with the count raised, and the old lock is lost', async () => {
    await client.createSender('servicebus-8').sendMessages({ body: 'locked', messageId: 'fault-lock' });
    const receiver = client.createReceiver('servicebus-8', { maxAutoLockRenewalDurationInMs: 0 });
    const first = await receiveOne(receiver);
    expect(await expireServicebusLocks('servicebus-8')).toBe(1);
    const again = await receiveOne(receiver);
    expect([again.messageId, again.deliveryCount]).toEqual(['fault-lock', 1]);
    await expect(receiver.completeMessage(first)).rejects.toMatchObject({ code: 'MessageLockLost' });
    await receiver.completeMessage(again);
  }, 30_000);

});
