// A minimal stand-in for an amqplib channel: the methods we wrap, recording what reached "the broker".
// Only for unit tests of our own logic; everything the broker does is proven in integration/amqplib.
import { EventEmitter } from 'node:events';

export interface Sent {
  exchange: string;
  routingKey: string;
  content: Buffer;
  options: { headers?: Record<string, unknown>; [key: string]: unknown } | undefined;
}

export class FakeChannel extends EventEmitter {
  readonly sent: Sent[] = [];
  readonly settled: Array<{ op: string; args: unknown[] }> = [];
  readonly consumers = new Map<string, (msg: unknown) => unknown>();
  connection: { frameMax: number; stream?: object } = { frameMax: 131072 };
  private nextTag = 1;
  getReply: unknown = false;
  failPublish: Error | undefined;

  publish(exchange: string, routingKey: string, content: Buffer, options?: Record<string, unknown>): boolean {
    if (this.failPublish) throw this.failPublish;
    this.sent.push({ exchange, routingKey, content, options });
    return true;
  }

  sendToQueue(queue: string, content: Buffer, options?: Record<string, unknown>): boolean {
    return this.publish('', queue, content, options);
  }

  consume(queue: string, onMessage: (msg: unknown) => unknown, _options?: object): Promise<{ consumerTag: string }> {
    const consumerTag = `ctag-${queue}`;
    this.consumers.set(consumerTag, onMessage);
    return Promise.resolve({ consumerTag });
  }

  lastDeclared = '';
  private declared = 0;
  /** Like the broker: '' gets a server-generated name. */
  assertQueue(queue: string, _options?: object): Promise<{ queue: string; messageCount: number; consumerCount: number }> {
    this.lastDeclared = queue === '' ? `amq.gen-fake${++this.declared}` : queue;
    return Promise.resolve({ queue: this.lastDeclared, messageCount: 0, consumerCount: 0 });
  }

  get(_queue: string, _options?: object): Promise<unknown> {
    return Promise.resolve(this.getReply);
  }

  /** The broker delivering a message to the consumer of `queue`; returns what the handler returned. */
  deliver(queue: string, message: { headers?: Record<string, unknown>; redelivered?: boolean; properties?: Record<string, unknown> } = {}) {
    const handler = this.consumers.get(`ctag-${queue}`);
    if (!handler) throw new Error(`no consumer on ${queue}`);
    const msg = {
      fields: { deliveryTag: this.nextTag++, redelivered: message.redelivered ?? false, exchange: '', routingKey: queue, consumerTag: `ctag-${queue}` },
      properties: { headers: message.headers ?? {}, ...message.properties },
      content: Buffer.from('payload'),
    };
    return { msg, result: handler(msg) };
  }

  ack(message: unknown, allUpTo?: boolean): void {
    this.settled.push({ op: 'ack', args: [message, allUpTo] });
  }
  nack(message: unknown, allUpTo?: boolean, requeue?: boolean): void {
    this.settled.push({ op: 'nack', args: [message, allUpTo, requeue] });
  }
  reject(message: unknown, requeue?: boolean): void {
    this.settled.push({ op: 'reject', args: [message, requeue] });
  }
  ackAll(): void {
    this.settled.push({ op: 'ackAll', args: [] });
  }
  nackAll(requeue?: boolean): void {
    this.settled.push({ op: 'nackAll', args: [requeue] });
  }
}

/** A confirm channel: publish takes a callback the broker's ack/nack calls later. */
export class FakeConfirmChannel extends FakeChannel {
  readonly confirms: Array<(err: unknown) => void> = [];

  override publish(exchange: string, routingKey: string, content: Buffer, options?: Record<string, unknown>, cb?: (err: unknown) => void): boolean {
    const result = super.publish(exchange, routingKey, content, options);
    this.confirms.push(cb ?? (() => undefined));
    return result;
  }

  waitForConfirms(): Promise<void> {
    return Promise.resolve();
  }
}
