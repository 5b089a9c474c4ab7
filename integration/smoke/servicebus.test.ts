// Smoke test of the harness's Service Bus: the plain @azure/service-bus client, no instrumentation,
// against whatever the harness started (a user's namespace, the official emulator, or ours).
import { ServiceBusClient, type ServiceBusReceivedMessage } from '@azure/service-bus';
import { servicebus } from '../harness/index.js';

const QUEUE = 'smoke'; // integration/servicebus-emulator/config.json
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

async function receiveAll(client: ServiceBusClient, count: number): Promise<ServiceBusReceivedMessage[]> {
  const receiver = client.createReceiver(QUEUE);
  const out: ServiceBusReceivedMessage[] = [];
  const deadline = Date.now() + 15_000;
  while (out.length < count && Date.now() < deadline) {
    for (const m of await receiver.receiveMessages(count - out.length, { maxWaitTimeInMs: 2000 })) {
      await receiver.completeMessage(m);
      out.push(m);
    }
  }
  await receiver.close();
  return out;
}

describe('Service Bus from the harness', () => {
  let client: ServiceBusClient;

  beforeAll(async () => {
    client = new ServiceBusClient((await servicebus()).connectionString);
  });
  afterAll(() => client.close());

  it('delivers one message, an array and a batch, with application properties intact and increasing sequence numbers', async () => {
    const sender = client.createSender(QUEUE);
    const when = new Date('2026-01-02T03:04:05.678Z');
    await sender.sendMessages({
      body: { hello: 'world' },
      messageId: 'smoke-1',
      applicationProperties: { 'Diagnostic-Id': TRACEPARENT, text: 'ü ✓', int: 42, negative: -7, double: 1.25, yes: true, no: false, when },
    });
    await sender.sendMessages([
      { body: 'a', messageId: 'smoke-2' },
      { body: 'b', messageId: 'smoke-3' },
    ]);
    const batch = await sender.createMessageBatch();
    expect(batch.tryAddMessage({ body: 'c', messageId: 'smoke-4' })).toBe(true);
    expect(batch.tryAddMessage({ body: 'd', messageId: 'smoke-5' })).toBe(true);
    await sender.sendMessages(batch);
    await sender.close();

    const received = await receiveAll(client, 5);
    expect(received.map((m) => m.messageId)).toEqual(['smoke-1', 'smoke-2', 'smoke-3', 'smoke-4', 'smoke-5']);
    expect(received.map((m) => m.body)).toEqual([{ hello: 'world' }, 'a', 'b', 'c', 'd']);
    const [first] = received as [ServiceBusReceivedMessage];
    // the client hands Dates back as numbers (ms) unless skipConvertingDate
    expect(first.applicationProperties).toEqual({
      'Diagnostic-Id': TRACEPARENT,
      text: 'ü ✓',
      int: 42,
      negative: -7,
      double: 1.25,
      yes: true,
      no: false,
      when: when.getTime(),
    });
    expect(first.deliveryCount).toBe(0);
    expect(first.lockToken).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const seqs = received.map((m) => Number(m.sequenceNumber?.toString()));
    const times = received.map((m) => m.enqueuedTimeUtc?.getTime() ?? NaN);
    for (let i = 1; i < received.length; i++) {
      expect(seqs[i]).toBeGreaterThan(seqs[i - 1] as number);
      expect(times[i]).toBeGreaterThanOrEqual(times[i - 1] as number);
    }
    expect(Math.abs((times[0] as number) - Date.now())).toBeLessThan(60_000);
  });
});
