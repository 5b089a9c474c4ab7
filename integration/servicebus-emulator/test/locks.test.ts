// Peek-lock timing with the unmodified client on queues with the service's shortest lock (PT5S):
// an expired lock redelivers with the count raised (and the old lock token is lost), renewMessageLock
// moves lockedUntilUtc, and subscribe() renews locks by itself for a handler slower than the lock.
import type { ServiceBusClient } from '@azure/service-bus';
import { connect, receive, receiveOne } from './helpers';

const LOCK_MS = 5000; // config.json: LockDuration PT5S

describe('Service Bus emulator: locks', () => {
  let client: ServiceBusClient;
  beforeAll(async () => {
    client = await connect();
  });
  afterAll(() => client.close());

  it('redelivers a message whose lock expired, with the delivery count raised; the old lock is lost', async () => {
    await client.createSender('emu-lock-expiry').sendMessages({ body: 'slow', messageId: 'expiry-1' });
    // the client renews locks of received messages by itself (5 minutes by default): not here
    const receiver = client.createReceiver('emu-lock-expiry', { maxAutoLockRenewalDurationInMs: 0 });
    const first = await receiveOne(receiver);
    const lockedUntil = first.lockedUntilUtc!.getTime();
    expect(lockedUntil - first.enqueuedTimeUtc!.getTime()).toBeGreaterThanOrEqual(LOCK_MS - 1000);
    const again = await receiveOne(receiver, LOCK_MS + 5000);
    expect(Date.now()).toBeGreaterThanOrEqual(lockedUntil);
    expect(again.messageId).toBe('expiry-1');
    expect(again.deliveryCount).toBe(1);
    expect(again.lockToken).not.toBe(first.lockToken);
    await expect(receiver.completeMessage(first)).rejects.toMatchObject({ code: 'MessageLockLost' });
    await receiver.completeMessage(again);
  }, 20_000);

  it('renewMessageLock pushes lockedUntilUtc out and keeps the message from coming back', async () => {
    await client.createSender('emu-lock-renew').sendMessages({ body: 'renew', messageId: 'renew-1' });
    const receiver = client.createReceiver('emu-lock-renew', { maxAutoLockRenewalDurationInMs: 0 });
    const m = await receiveOne(receiver);
    const before = m.lockedUntilUtc!.getTime();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const renewed = await receiver.renewMessageLock(m);
    expect(renewed.getTime()).toBeGreaterThanOrEqual(before + 2500);
    expect(m.lockedUntilUtc?.getTime()).toBe(renewed.getTime());
    // past the first lock's end: still locked by the renewal
    expect(await receive(receiver, 1, 3500)).toEqual([]);
    await receiver.completeMessage(m);
  }, 20_000);

  it('subscribe() renews the lock itself while a handler runs longer than the lock, then auto-completes', async () => {
    await client.createSender('emu-auto-renew').sendMessages({ body: 'long job', messageId: 'auto-1' });
    const receiver = client.createReceiver('emu-auto-renew', { maxAutoLockRenewalDurationInMs: 60_000 });
    const seen: Array<{ id: unknown; count: number | undefined }> = [];
    const errors: Error[] = [];
    let handled!: () => void;
    const done = new Promise<void>((resolve) => (handled = resolve));
    const subscription = receiver.subscribe(
      {
        processMessage: async (message) => {
          seen.push({ id: message.messageId, count: message.deliveryCount });
          await new Promise((r) => setTimeout(r, LOCK_MS + 2500));
          handled();
        },
        processError: (args) => {
          errors.push(args.error);
          return Promise.resolve();
        },
      },
      { autoCompleteMessages: true },
    );
    await done;
    // auto-complete follows the handler: wait for the queue to be empty, then stop
    const check = client.createReceiver('emu-auto-renew');
    const deadline = Date.now() + 5000;
    while ((await check.peekMessages(5)).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await subscription.close();
    expect(errors).toEqual([]);
    expect(seen).toEqual([{ id: 'auto-1', count: 0 }]);
    expect(await check.peekMessages(5)).toEqual([]);
  }, 30_000);
});
