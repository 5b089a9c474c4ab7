// What the emulator does not implement fails loudly, naming the operation, and unknown entities fail
// as the service fails them: never a silent success.
import { isServiceBusError, ServiceBusClient } from '@azure/service-bus';
import { servicebus } from '../../harness/index.js';
import { connect } from './helpers';

describe('Service Bus emulator: what it refuses', () => {
  let client: ServiceBusClient;
  beforeAll(async () => {
    client = await connect();
  });
  afterAll(() => client.close());

  it('fails a $management operation it does not implement, naming it (subscription rules)', async () => {
    const rules = client.createRuleManager('emu-topic', 'audit');
    await expect(rules.listRules().next()).rejects.toThrow(/com\.microsoft:enumerate-rules/);
  });

  it('fails a session receiver on an entity without sessions, naming it', async () => {
    await expect(client.acceptNextSession('emu-unsupported', { maxAutoLockRenewalDurationInMs: 0 })).rejects.toThrow(/does not require sessions/);
  });

  it('fails sends to an entity that does not exist with MessagingEntityNotFound', async () => {
    const error = await client.createSender('no-such-queue').sendMessages({ body: 'x' }).catch((e: unknown) => e);
    expect(isServiceBusError(error) && error.code).toBe('MessagingEntityNotFound');
  });

  it('refuses a connection string with a wrong key ($cbs put-token answers 401)', async () => {
    const { connectionString } = await servicebus();
    const wrong = new ServiceBusClient(connectionString.replace(/SharedAccessKey=[^;]*/, 'SharedAccessKey=wrong'), {
      retryOptions: { maxRetries: 0, timeoutInMs: 5000 },
    });
    try {
      const error = await wrong.createSender('emu-unsupported').sendMessages({ body: 'x' }).catch((e: unknown) => e);
      expect(isServiceBusError(error) && error.code).toBe('UnauthorizedAccess');
    } finally {
      await wrong.close();
    }
  });
});
