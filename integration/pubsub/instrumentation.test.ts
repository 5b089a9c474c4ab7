// PubSubInstrumentation on the real @google-cloud/pubsub module: topics and subscriptions the PubSub client
// hands out are traced with the same code as the explicit wrappers, and disabling restores plain Pub/Sub.
import { setupTestTelemetry } from '@brokertrace/testing';
import { PubSubInstrumentation } from '@brokertrace/pubsub';
import * as pubsubModule from '@google-cloud/pubsub';
import { uniqueName } from '../harness/index.js';
import { Countdown, cleanup, pubsubClient } from './helpers.js';
import type { Message } from './helpers.js';

const t = setupTestTelemetry();

it('traces what PubSub#topic()/subscription() hand out after patching, and passes through once disabled', async () => {
  const instrumentation = new PubSubInstrumentation({ policy: { maxChildAgeMs: 60_000 } });
  const plainTopic = pubsubModule.PubSub.prototype.topic;
  // What require-in-the-middle does when the app loads the module (jest has its own module loader).
  const [definition] = instrumentation.getModuleDefinitions();
  definition!.moduleExports = pubsubModule;
  definition!.patch!(pubsubModule, '6.3.0');
  expect(pubsubModule.PubSub.prototype.topic).not.toBe(plainTopic);

  const client = await pubsubClient();
  const [topic] = await client.createTopic(uniqueName('auto'));
  const [subscription] = await topic.createSubscription(uniqueName('auto-sub'));
  const first = new Countdown<Message>(1);
  const second = new Countdown<Message>(1);
  const listener = (m: Message) => {
    m.ack();
    (first.items.length === 0 ? first : second).push(m);
  };
  subscription.on('message', listener);
  await topic.publishMessage({ data: Buffer.from('traced') });
  const [traced] = await first.done;
  instrumentation.disable();
  expect(pubsubModule.PubSub.prototype.topic).toBe(plainTopic);
  await topic.publishMessage({ data: Buffer.from('plain') });
  const [plain] = await second.done;
  // removing the listener works as untraced: the stream closes with the last listener
  subscription.removeListener('message', listener);
  expect(subscription.listenerCount('message')).toBe(0);
  expect(subscription.isOpen).toBe(false);
  await cleanup(topic, [subscription]);
  await client.close();

  expect(traced!.attributes.traceparent).toBeDefined();
  expect(plain!.attributes).toEqual({});
  const topicId = topic.name.slice(topic.name.lastIndexOf('/') + 1);
  const subId = subscription.name.slice(subscription.name.lastIndexOf('/') + 1);
  expect(t.spansNamed(`create ${topicId}`)).toHaveLength(1);
  const [process] = t.spansNamed(`subscribe ${subId}`);
  expect(t.spansNamed(`subscribe ${subId}`)).toHaveLength(1);
  expect(process!.parentSpanContext?.spanId).toBe(t.spansNamed(`create ${topicId}`)[0]!.spanContext().spanId);
});
