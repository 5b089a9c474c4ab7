// Minimal sessions with the unmodified client: acceptSession / acceptNextSession get a session-filtered link that
// holds one session (named in the attach answer, with its lock), receive only that session's messages and
// complete them; a session held by another receiver cannot be locked; the rest of sessions is refused, named.
import { isServiceBusError, type ServiceBusClient } from '@azure/service-bus';
import { connect, receive } from './helpers';

const QUEUE = 'emu-sessions';
const NO_RENEWAL = { maxAutoLockRenewalDurationInMs: 0 };

describe('Service Bus emulator: minimal sessions', () => {
  let client: ServiceBusClient;
  beforeAll(async () => {
    client = await connect();
  });
  afterAll(() => client.close());

  it('acceptSession and acceptNextSession receive and complete only their session', async () => {
    const sender = client.createSender(QUEUE);
    await sender.sendMessages([
      { body: 'a1', sessionId: 'a' },
      { body: 'b1', sessionId: 'b' },
      { body: 'a2', sessionId: 'a' },
    ]);
    const a = await client.acceptSession(QUEUE, 'a', NO_RENEWAL);
    expect(a.sessionId).toBe('a');
    expect(a.sessionLockedUntilUtc.getTime()).toBeGreaterThan(Date.now() + 50_000);
    const fromA = await receive(a, 2);
    expect(fromA.map((m) => [m.body, m.sessionId])).toEqual([['a1', 'a'], ['a2', 'a']]);
    for (const m of fromA) await a.completeMessage(m);
    // b is the only session left with a message
    const next = await client.acceptNextSession(QUEUE, NO_RENEWAL);
    expect(next.sessionId).toBe('b');
    const [b1] = await receive(next, 1);
    expect(b1!.body).toBe('b1');
    await next.completeMessage(b1!);
    // a session held by a receiver cannot be locked by another
    const error = await client.acceptSession(QUEUE, 'b', NO_RENEWAL).catch((e: unknown) => e);
    expect(isServiceBusError(error) && error.code).toBe('SessionCannotBeLocked');
    await Promise.all([a.close(), next.close(), sender.close()]);
    // all completed: nothing left for the session
    const again = await client.acceptSession(QUEUE, 'a', NO_RENEWAL);
    expect(await receive(again, 1, 500)).toEqual([]);
    await again.close();
  });

  it('refuses what it does not implement of sessions, naming it', async () => {
    const s = await client.acceptSession(QUEUE, 'state', NO_RENEWAL);
    await expect(s.getSessionState()).rejects.toThrow(/com\.microsoft:get-session-state/);
    await expect(s.renewSessionLock()).rejects.toThrow(/com\.microsoft:renew-session-lock/);
    await s.close();
    // a plain receiver on a session queue
    const plain = client.createReceiver(QUEUE);
    await expect(plain.receiveMessages(1, { maxWaitTimeInMs: 1000 })).rejects.toThrow(/requires sessions/);
    await plain.close();
  });
});
