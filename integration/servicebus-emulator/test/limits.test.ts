// Sizes, batches, duplicate detection and topics with the unmodified client: a batch of 100, duplicate
// message ids dropped on a queue that requires duplicate detection, messages and application properties
// over the service's limits rejected, a topic fanning out to its subscriptions.
import { isServiceBusError, type ServiceBusClient } from '@azure/service-bus';
import { connect, receive } from './helpers';

describe('Service Bus emulator: limits, batches, duplicates, topics', () => {
  let client: ServiceBusClient;
  beforeAll(async () => {
    client = await connect();
  });
  afterAll(() => client.close());

  it('delivers a batch of 100 from createMessageBatch, in order', async () => {
    const sender = client.createSender('emu-batch');
    const batch = await sender.createMessageBatch();
    expect(batch.maxSizeInBytes).toBe(256 * 1024); // the link's max-message-size
    for (let i = 0; i < 100; i++) expect(batch.tryAddMessage({ body: { i }, applicationProperties: { i } })).toBe(true);
    await sender.sendMessages(batch);
    const receiver = client.createReceiver('emu-batch', { receiveMode: 'receiveAndDelete' });
    const got = await receive(receiver, 100);
    expect(got.map((m) => (m.body as { i: number }).i)).toEqual([...Array(100).keys()]);
    expect(got.map((m) => m.applicationProperties?.i)).toEqual([...Array(100).keys()]);
  });

  it('drops a second message with the same messageId on a queue with duplicate detection', async () => {
    const sender = client.createSender('emu-duplicates');
    await sender.sendMessages({ body: 'first', messageId: 'dup-1' });
    await sender.sendMessages({ body: 'again', messageId: 'dup-1' }); // accepted, then dropped
    await sender.sendMessages({ body: 'other', messageId: 'dup-2' });
    const receiver = client.createReceiver('emu-duplicates', { receiveMode: 'receiveAndDelete' });
    const got = await receive(receiver, 3, 3000);
    expect(got.map((m) => [m.messageId, m.body])).toEqual([
      ['dup-1', 'first'],
      ['dup-2', 'other'],
    ]);
  });

  it("rejects a message over the entity's maximum size with MessageSizeExceeded", async () => {
    const sender = client.createSender('emu-limits');
    const error = await sender.sendMessages({ body: Buffer.alloc(256 * 1024 + 1) }).catch((e: unknown) => e);
    expect(isServiceBusError(error) && error.code).toBe('MessageSizeExceeded');
    // still usable, and nothing of the rejected message arrived
    await sender.sendMessages({ body: 'small', messageId: 'limits-ok' });
    const got = await receive(client.createReceiver('emu-limits', { receiveMode: 'receiveAndDelete' }), 2, 2000);
    expect(got.map((m) => m.messageId)).toEqual(['limits-ok']);
  });

  it('rejects one application property over 32 KB, and properties over 64 KB in all', async () => {
    // the service answers a property over 32 KB with a generic, retryable failure: no retries here
    const once = await connect({ retryOptions: { maxRetries: 0, timeoutInMs: 10_000 } });
    const big = await once.createSender('emu-limits').sendMessages({ body: 'x', applicationProperties: { big: 'a'.repeat(33 * 1024) } }).catch((e: unknown) => e);
    await once.close();
    expect(big).toBeInstanceOf(Error);
    const sender = client.createSender('emu-limits');
    const many = { p1: 'a'.repeat(25_000), p2: 'b'.repeat(25_000), p3: 'c'.repeat(25_000) };
    const error = await sender.sendMessages({ body: 'x', applicationProperties: many }).catch((e: unknown) => e);
    expect(isServiceBusError(error) && error.code).toBe('MessageSizeExceeded');
    expect(await receive(client.createReceiver('emu-limits', { receiveMode: 'receiveAndDelete' }), 1, 1000)).toEqual([]);
  });

  it('fans a topic message out to every subscription; a topic itself cannot be received from', async () => {
    await client.createSender('emu-topic').sendMessages({ body: 'event', messageId: 'topic-1', applicationProperties: { kind: 'created' } });
    for (const name of ['audit', 'billing']) {
      const receiver = client.createReceiver('emu-topic', name);
      const [m] = await receive(receiver, 1);
      expect([m?.messageId, m?.applicationProperties?.kind, m?.deliveryCount]).toEqual(['topic-1', 'created', 0]);
      await receiver.completeMessage(m!);
    }
    const wrong = client.createReceiver('emu-topic');
    await expect(wrong.receiveMessages(1, { maxWaitTimeInMs: 1000 })).rejects.toThrow();
  });
});
