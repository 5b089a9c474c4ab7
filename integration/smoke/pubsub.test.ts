// Smoke test of the harness's Pub/Sub emulator: the plain @google-cloud/pubsub client, no instrumentation.
import { PubSub, type Message } from '@google-cloud/pubsub';
import { pubsub, uniqueName } from '../harness/index.js';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const PAYLOAD = Buffer.from([0x00, 0xff, 0x10, 0x80, ...Buffer.from(' pubsub smoke ✓')]);

describe('Pub/Sub from the harness', () => {
  let client: PubSub;

  beforeAll(async () => {
    client = new PubSub(await pubsub());
  });
  afterAll(async () => {
    await client.close();
  });

  it('delivers a message with its traceparent attribute and payload unchanged', async () => {
    const [topic] = await client.createTopic(uniqueName('smoke-pubsub'));
    const [subscription] = await topic.createSubscription(uniqueName('smoke-pubsub-sub'));

    const received = new Promise<Message>((resolve) => subscription.once('message', resolve));
    const messageId = await topic.publishMessage({ data: PAYLOAD, attributes: { traceparent: TRACEPARENT } });
    const message = await received;
    message.ack();

    expect(message.id).toBe(messageId);
    expect(message.data).toEqual(PAYLOAD);
    expect(message.attributes).toEqual({ traceparent: TRACEPARENT });

    await subscription.close();
    await subscription.delete();
    await topic.delete();
  });
});
