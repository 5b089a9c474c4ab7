// Shared by the amqplib integration tests: a real connection to the harness's RabbitMQ, and event-driven
// collectors (a promise that resolves when the n-th expected delivery arrives, never a sleep).
import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import type { TestTelemetry } from '@brokertrace/testing';
import { rabbitmq } from '../harness/index';

type ReadableSpan = ReturnType<TestTelemetry['spans']>[number];

export async function openConnection(): Promise<ChannelModel> {
  const { url } = await rabbitmq();
  return connect(url);
}

/** Resolves with the first `count` messages that `register` hands to `push` (e.g. from a consume handler). */
export function collect<T>(count: number): { push(item: T): void; done: Promise<T[]> } {
  const items: T[] = [];
  let resolve!: (items: T[]) => void;
  const done = new Promise<T[]>((r) => (resolve = r));
  return {
    push(item) {
      items.push(item);
      if (items.length === count) resolve(items);
    },
    done,
  };
}

/** Consumes `count` messages from `queue`, handing each to `handle` (which settles it), and resolves with them. */
export async function consumeN(
  channel: Channel,
  queue: string,
  count: number,
  handle: (msg: ConsumeMessage, index: number) => void | Promise<void>,
  options?: { noAck?: boolean },
): Promise<ConsumeMessage[]> {
  const seen = collect<ConsumeMessage>(count);
  let index = 0;
  const { consumerTag } = await channel.consume(
    queue,
    (msg) => {
      if (msg === null) return;
      const i = index++;
      void Promise.resolve(handle(msg, i)).then(() => seen.push(msg));
    },
    options,
  );
  const messages = await seen.done;
  await channel.cancel(consumerTag);
  return messages;
}

export function spanIds(span: ReadableSpan | undefined): { traceId: string; spanId: string } {
  if (!span) throw new Error('span missing');
  const { traceId, spanId } = span.spanContext();
  return { traceId, spanId };
}
