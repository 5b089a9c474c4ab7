// A restart of the harness's emulator (restartBroker('servicebus')): same port, the client reconnects by
// itself; messages do not survive, because the emulator keeps them in memory (unlike the service).
// This file restarts the run's shared Service Bus: run it alone when other Service Bus tests could run in
// parallel (integration/README.md, "Fault tests").
import type { ServiceBusClient } from '@azure/service-bus';
import { restartBroker } from '../../harness/index.js';
import { connect, receive } from './helpers';

describe('Service Bus emulator: restart', () => {
  let client: ServiceBusClient;
  beforeAll(async () => {
    client = await connect({ retryOptions: { maxRetries: 5, retryDelayInMs: 200, timeoutInMs: 10_000 } });
  });
  afterAll(() => client.close());

  it('restarts on the same port: the client reconnects; messages do not survive (the emulator keeps them in memory)', async () => {
    await client.createSender('servicebus-7').sendMessages({ body: 'lost', messageId: 'fault-restart' });
    await restartBroker('servicebus');
    const sender = client.createSender('servicebus-7');
    await sender.sendMessages({ body: 'new', messageId: 'fault-new' });
    const got = await receive(client.createReceiver('servicebus-7', { receiveMode: 'receiveAndDelete' }), 2, 3000);
    expect(got.map((m) => m.messageId)).toEqual(['fault-new']);
  }, 60_000);
});
