// Settlement with the unmodified @azure/service-bus client, each assertion what the real service does:
// abandon raises the delivery count, dead-letter moves to <queue>/$DeadLetterQueue with the reason,
// MaxDeliveryCount dead-letters, defer + receive by sequence number, receive-and-delete, peek.
import type { ServiceBusClient } from '@azure/service-bus';
import { connect, receive, receiveOne, seq } from './helpers';

describe('Service Bus emulator: settlement', () => {
  let client: ServiceBusClient;
  beforeAll(async () => {
    client = await connect();
  });
  afterAll(() => client.close());

  it('redelivers an abandoned message with the delivery count one higher each time, and completes it', async () => {
    await client.createSender('emu-abandon').sendMessages({ body: 'again', messageId: 'abandon-1', applicationProperties: { keep: 'me' } });
    const receiver = client.createReceiver('emu-abandon');
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await receiveOne(receiver);
      counts.push(m.deliveryCount as number);
      expect(m.messageId).toBe('abandon-1');
      if (i < 2) await receiver.abandonMessage(m, { attempt: i });
      else {
        expect(m.applicationProperties).toEqual({ keep: 'me', attempt: 1 }); // propertiesToModify land in the properties
        await receiver.completeMessage(m);
      }
    }
    expect(counts).toEqual([0, 1, 2]);
    expect(await receive(receiver, 1, 1500)).toEqual([]);
    await receiver.close();
  });

  it('dead-letters into the $DeadLetterQueue sub-queue with reason and description (no deadLetterSource there)', async () => {
    await client.createSender('emu-dead-letter').sendMessages({ body: 'poison', messageId: 'dl-1', applicationProperties: { n: 1 } });
    const receiver = client.createReceiver('emu-dead-letter');
    const m = await receiveOne(receiver);
    await receiver.deadLetterMessage(m, { deadLetterReason: 'Invalid', deadLetterErrorDescription: 'cannot parse', extra: 'x' });
    expect(await receive(receiver, 1, 1000)).toEqual([]);

    const dlq = client.createReceiver('emu-dead-letter', { subQueueType: 'deadLetter' });
    expect(dlq.entityPath).toBe('emu-dead-letter/$DeadLetterQueue');
    const dead = await receiveOne(dlq);
    expect(dead.messageId).toBe('dl-1');
    expect(dead.body).toBe('poison');
    expect(dead.deadLetterReason).toBe('Invalid');
    expect(dead.deadLetterErrorDescription).toBe('cannot parse');
    expect(dead.applicationProperties).toMatchObject({ n: 1, extra: 'x', DeadLetterReason: 'Invalid' });
    // the service sets deadLetterSource only on dead letters auto-forwarded out of the DLQ
    expect(dead.deadLetterSource).toBeUndefined();
    await dlq.completeMessage(dead);
  });

  it('stamps deadLetterSource on dead letters forwarded by ForwardDeadLetteredMessagesTo', async () => {
    await client.createSender('emu-dead-letter-forward').sendMessages({ body: 'fwd', messageId: 'dlf-1' });
    const receiver = client.createReceiver('emu-dead-letter-forward');
    await receiver.deadLetterMessage(await receiveOne(receiver), { deadLetterReason: 'Forward me', deadLetterErrorDescription: 'forwarded' });
    const collector = client.createReceiver('emu-dead-letter-collector');
    const m = await receiveOne(collector);
    expect(m.messageId).toBe('dlf-1');
    expect(m.deadLetterReason).toBe('Forward me');
    expect(m.deadLetterSource).toBe('emu-dead-letter-forward');
    await collector.completeMessage(m);
  });

  it('dead-letters with MaxDeliveryCountExceeded after MaxDeliveryCount (3) deliveries', async () => {
    await client.createSender('emu-max-delivery').sendMessages({ body: 'x', messageId: 'max-1' });
    const receiver = client.createReceiver('emu-max-delivery');
    for (let i = 0; i < 3; i++) await receiver.abandonMessage(await receiveOne(receiver));
    expect(await receive(receiver, 1, 1000)).toEqual([]);
    const dlq = client.createReceiver('emu-max-delivery', { subQueueType: 'deadLetter' });
    const dead = await receiveOne(dlq);
    expect(dead.messageId).toBe('max-1');
    expect(dead.deadLetterReason).toBe('MaxDeliveryCountExceeded');
    expect(dead.deadLetterErrorDescription).toBe('Message could not be consumed after 3 delivery attempts.');
    expect(dead.deliveryCount).toBe(3);
    await dlq.completeMessage(dead);
  });

  it('defers a message, which then only comes back by its sequence number, and settles it through $management', async () => {
    await client.createSender('emu-defer').sendMessages([
      { body: 'later', messageId: 'defer-1' },
      { body: 'now', messageId: 'defer-2' },
    ]);
    const receiver = client.createReceiver('emu-defer');
    const first = await receiveOne(receiver);
    expect(first.messageId).toBe('defer-1');
    await receiver.deferMessage(first);
    const second = await receiveOne(receiver);
    expect(second.messageId).toBe('defer-2');
    await receiver.completeMessage(second);
    expect(await receive(receiver, 1, 1000)).toEqual([]);

    const [deferred] = await receiver.receiveDeferredMessages(first.sequenceNumber!);
    expect(deferred?.messageId).toBe('defer-1');
    expect(deferred?.state).toBe('deferred');
    expect(deferred?.lockToken).toMatch(/^[0-9a-f-]{36}$/);
    await receiver.completeMessage(deferred!);
    // completed: gone, so receiving it again fails as the service fails it
    await expect(receiver.receiveDeferredMessages(first.sequenceNumber!)).rejects.toMatchObject({ code: 'MessageNotFound' });
  });

  it('receiveAndDelete takes messages without locks', async () => {
    await client.createSender('emu-receive-and-delete').sendMessages([{ body: 1 }, { body: 2 }]);
    const receiver = client.createReceiver('emu-receive-and-delete', { receiveMode: 'receiveAndDelete' });
    const got = await receive(receiver, 2);
    expect(got.map((m) => m.body)).toEqual([1, 2]);
    expect(got.every((m) => m.lockToken === undefined)).toBe(true);
    expect(got[0]?.messageId).toMatch(/^[0-9a-f]{32}$/); // the service names messages sent without an id
    expect(await receive(receiver, 1, 1000)).toEqual([]);
  });

  it('peeks without locking, in sequence order, including deferred messages', async () => {
    await client.createSender('emu-peek').sendMessages([{ body: 'p1' }, { body: 'p2' }, { body: 'p3' }]);
    const receiver = client.createReceiver('emu-peek');
    const locked = await receiveOne(receiver);
    await receiver.deferMessage(locked);
    const peeked = await receiver.peekMessages(10);
    expect(peeked.map((m) => m.body)).toEqual(['p1', 'p2', 'p3']);
    expect(peeked.map((m) => m.state)).toEqual(['deferred', 'active', 'active']);
    expect(peeked.every((m) => m.lockToken === undefined)).toBe(true);
    const from2 = await receiver.peekMessages(1, { fromSequenceNumber: peeked[1]!.sequenceNumber });
    expect(from2.map((m) => m.body)).toEqual(['p2']);
    // still there for a real receive
    const rest = await receive(receiver, 2);
    expect(rest.map((m) => m.body)).toEqual(['p2', 'p3']);
    expect(seq(rest[0]!)).toBeLessThan(seq(rest[1]!));
    for (const m of rest) await receiver.completeMessage(m);
  });

  it('expires a message past its time to live; DeadLetteringOnMessageExpiration moves it to the DLQ (TTLExpiredException)', async () => {
    await client.createSender('emu-ttl').sendMessages({ body: 'short-lived', messageId: 'ttl-1', timeToLive: 500 });
    const dlq = client.createReceiver('emu-ttl', { subQueueType: 'deadLetter' });
    const dead = await receiveOne(dlq, 5000);
    expect(dead.messageId).toBe('ttl-1');
    expect(dead.deadLetterReason).toBe('TTLExpiredException');
    await dlq.completeMessage(dead);
    expect(await receive(client.createReceiver('emu-ttl'), 1, 500)).toEqual([]);
  });
});
