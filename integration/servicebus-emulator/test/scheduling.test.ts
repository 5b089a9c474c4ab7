// Scheduled messages and the push API with the unmodified client: scheduleMessages arrives no earlier
// than its time, cancelScheduledMessages keeps it from ever arriving, a message with
// scheduledEnqueueTimeUtc waits too, and subscribe() with autoComplete takes and completes messages.
import type { ServiceBusClient, ServiceBusReceivedMessage } from '@azure/service-bus';
import { Countdown } from '../../harness/countdown';
import { connect, receive, receiveOne } from './helpers';

describe('Service Bus emulator: scheduling and subscribe', () => {
  let client: ServiceBusClient;
  beforeAll(async () => {
    client = await connect();
  });
  afterAll(() => client.close());

  it('delivers a scheduled message no earlier than its time, and a cancelled one never', async () => {
    const sender = client.createSender('emu-schedule');
    const at = new Date(Date.now() + 2000);
    const [kept] = await sender.scheduleMessages({ body: 'kept', messageId: 'sched-kept' }, at);
    const [cancelled] = await sender.scheduleMessages({ body: 'cancelled', messageId: 'sched-cancelled' }, at);
    expect(Number(cancelled)).toBeGreaterThan(Number(kept));
    await sender.cancelScheduledMessages(cancelled!);
    await expect(sender.cancelScheduledMessages(cancelled!)).rejects.toMatchObject({ code: 'MessageNotFound' });

    const receiver = client.createReceiver('emu-schedule');
    const peeked = await receiver.peekMessages(5);
    expect(peeked.map((m) => [m.messageId, m.state])).toEqual([['sched-kept', 'scheduled']]);
    const got = await receive(receiver, 2, 5000);
    expect(got.map((m) => m.messageId)).toEqual(['sched-kept']);
    const message = got[0] as ServiceBusReceivedMessage;
    expect(Date.now()).toBeGreaterThanOrEqual(at.getTime());
    expect(message.enqueuedTimeUtc!.getTime()).toBeGreaterThanOrEqual(at.getTime());
    expect(message.scheduledEnqueueTimeUtc?.getTime()).toBe(at.getTime());
    expect(message.sequenceNumber?.toString()).toBe(kept?.toString());
    await receiver.completeMessage(message);
  }, 20_000);

  it('holds a message sent with scheduledEnqueueTimeUtc until then', async () => {
    const at = new Date(Date.now() + 1500);
    await client.createSender('emu-schedule').sendMessages({ body: 'later', messageId: 'sched-send', scheduledEnqueueTimeUtc: at });
    const receiver = client.createReceiver('emu-schedule');
    const m = await receiveOne(receiver, 5000);
    expect(m.messageId).toBe('sched-send');
    expect(Date.now()).toBeGreaterThanOrEqual(at.getTime());
    await receiver.completeMessage(m);
  }, 20_000);

  it('subscribe() with autoCompleteMessages hands every message to the handler and completes it', async () => {
    const sender = client.createSender('emu-subscribe');
    await sender.sendMessages([1, 2, 3, 4, 5].map((n) => ({ body: n, applicationProperties: { n } })));
    const receiver = client.createReceiver('emu-subscribe');
    const arrived = new Countdown<ServiceBusReceivedMessage>(5, 15_000);
    const subscription = receiver.subscribe(
      {
        processMessage: (message) => Promise.resolve(arrived.push(message)),
        processError: (args) => Promise.reject(args.error),
      },
      { autoCompleteMessages: true },
    );
    const messages = await arrived.done;
    expect(messages.map((m) => m.body)).toEqual([1, 2, 3, 4, 5]);
    expect(messages.map((m) => m.applicationProperties?.n)).toEqual([1, 2, 3, 4, 5]);
    await subscription.close();
    await receiver.close();
    // all completed: nothing comes back
    const check = client.createReceiver('emu-subscribe');
    expect(await receive(check, 1, 1500)).toEqual([]);
  });
});
