// Real @google-cloud/pubsub objects (Topic, Publisher with its batching and ordered queues, Message) whose only
// fake part is the RPC: `topic.request` records each batch publish and answers with message ids (or an error).
import { PubSub, Message } from '@google-cloud/pubsub';
import type { Topic } from '@google-cloud/pubsub';
import { EventEmitter } from 'node:events';

export interface SentBatch {
  topic: string;
  messages: Array<{ data?: Buffer; attributes?: Record<string, string>; orderingKey?: string }>;
}

export interface FakeTopic {
  topic: Topic;
  batches: SentBatch[];
  /** The next batch fails with this error. */
  failNext(error: Error): void;
}

let counter = 0;

export function fakeTopic(name = 'orders', options?: Parameters<PubSub['topic']>[1]): FakeTopic {
  const pubsub = new PubSub({ projectId: 'test-project' });
  const topic = pubsub.topic(name, options);
  const batches: SentBatch[] = [];
  let failure: Error | undefined;
  (topic as unknown as { request: unknown }).request = (config: { method: string; reqOpts: SentBatch }, callback: (err: Error | null, resp?: unknown) => void) => {
    if (config.method !== 'publish') throw new Error(`unexpected RPC ${config.method}`);
    batches.push({ topic: config.reqOpts.topic, messages: config.reqOpts.messages });
    const error = failure;
    failure = undefined;
    setImmediate(() => (error ? callback(error) : callback(null, { messageIds: config.reqOpts.messages.map(() => `id-${++counter}`) })));
  };
  return { topic, batches, failNext: (error) => (failure = error) };
}

/** What the client's Message needs from its Subscriber. */
export class FakeSubscriber {
  acks: string[] = [];
  nacks: string[] = [];
  modAcks: Array<[string, number]> = [];
  isExactlyOnceDelivery = false;
  name = 'projects/test-project/subscriptions/billing';
  ack(m: Message): Promise<void> {
    this.acks.push(m.id);
    return Promise.resolve();
  }
  nack(m: Message): Promise<void> {
    this.nacks.push(m.id);
    return Promise.resolve();
  }
  modAck(m: Message, deadline: number): Promise<void> {
    this.modAcks.push([m.id, deadline]);
    return Promise.resolve();
  }
  ackWithResponse(m: Message): Promise<string> {
    this.acks.push(m.id);
    return Promise.resolve('SUCCESS');
  }
  nackWithResponse(m: Message): Promise<string> {
    this.nacks.push(m.id);
    return Promise.resolve('SUCCESS');
  }
  modAckWithResponse(m: Message, deadline: number): Promise<string> {
    this.modAcks.push([m.id, deadline]);
    return Promise.resolve('SUCCESS');
  }
}

export interface ReceivedShape {
  id?: string;
  attributes?: Record<string, string>;
  data?: Buffer;
  deliveryAttempt?: number;
  orderingKey?: string;
  publishTimeMs?: number;
}

/** A real client Message, as the client builds it from a ReceivedMessage proto. */
export function receivedMessage(subscriber: FakeSubscriber, shape: ReceivedShape = {}): Message {
  const ms = shape.publishTimeMs ?? Date.now();
  return new Message(subscriber as never, {
    ackId: `ack-${shape.id ?? 'm1'}`,
    deliveryAttempt: shape.deliveryAttempt ?? 0,
    message: {
      messageId: shape.id ?? 'm1',
      data: shape.data ?? Buffer.from('payload'),
      attributes: shape.attributes ?? {},
      orderingKey: shape.orderingKey ?? '',
      publishTime: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 },
    },
  });
}

/** A Subscription-shaped EventEmitter (the real one opens a streaming pull when a listener is added). */
export class FakeSubscription extends EventEmitter {
  constructor(readonly name = 'projects/test-project/subscriptions/billing') {
    super();
  }
}
