// Smoke test of the harness's RabbitMQ: the plain amqplib client, no instrumentation.
import { connect, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { rabbitmq, uniqueName } from '../harness/index.js';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const PAYLOAD = Buffer.from([0x00, 0xff, 0x10, 0x80, ...Buffer.from(' rabbitmq smoke ✓')]);

describe('RabbitMQ from the harness', () => {
  let connection: ChannelModel;

  beforeAll(async () => {
    connection = await connect((await rabbitmq()).url);
  });
  afterAll(async () => {
    await connection.close();
  });

  it('delivers a message with its traceparent header and payload unchanged', async () => {
    const channel = await connection.createChannel();
    const queue = uniqueName('smoke-rabbitmq');
    await channel.assertQueue(queue, { exclusive: true });

    channel.sendToQueue(queue, PAYLOAD, { headers: { traceparent: TRACEPARENT }, messageId: 'm1' });
    const received = await new Promise<ConsumeMessage>((resolve) => {
      void channel.consume(queue, (message) => message && resolve(message));
    });
    channel.ack(received);

    expect(received.content).toEqual(PAYLOAD);
    expect(received.properties.messageId).toBe('m1');
    expect(received.properties.headers?.traceparent).toBe(TRACEPARENT);
    await channel.close();
  });
});
