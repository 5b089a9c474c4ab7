// One receiver link carries any number of deliveries, as on the real service: more than the 2,048 deliveries an
// AMQP session buffers unsettled, every one completed in peek-lock mode, none left behind.
import type { ServiceBusClient } from '@azure/service-bus';
import { connect } from './helpers';

const COUNT = 2_500; // above the session's 2,048-delivery buffer

describe('Service Bus emulator: many deliveries on one link', () => {
  let client: ServiceBusClient;
  beforeAll(async () => {
    client = await connect();
  });
  afterAll(() => client.close());

  it(`delivers and completes ${COUNT} messages through one subscribe() receiver`, async () => {
    const sender = client.createSender('emu-many');
    for (let i = 0; i < COUNT; i += 250) {
      await sender.sendMessages(Array.from({ length: 250 }, (_, j) => ({ body: i + j })));
    }
    const receiver = client.createReceiver('emu-many');
    const seen = new Set<number>();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${seen.size} of ${COUNT} messages arrived within 90 s`)), 90_000);
      receiver.subscribe(
        {
          processMessage: (m) => {
            seen.add(m.body as number);
            if (seen.size === COUNT) {
              clearTimeout(timer);
              resolve();
            }
            return Promise.resolve();
          },
          processError: (args) => {
            clearTimeout(timer);
            reject(args.error);
            return Promise.resolve();
          },
        },
        { maxConcurrentCalls: 1 },
      );
    });
    await receiver.close();
    await sender.close();
    expect(seen.size).toBe(COUNT);
    // completed, not just delivered: nothing is left to receive
    const check = client.createReceiver('emu-many');
    expect(await check.peekMessages(1)).toEqual([]);
    await check.close();
  }, 120_000);
});
