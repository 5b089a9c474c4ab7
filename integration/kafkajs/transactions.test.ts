// Transactional producers: sends inside a transaction are traced, commit and abort are visible, and an
// aborted transaction's messages never reach a read_committed consumer. Against kafkajs and Confluent's KafkaJS API
// (whose transaction() resolves to the producer itself: one transaction at a time per producer).
import { setupTestTelemetry } from '@brokertrace/testing';
import { traceConsumer, traceProducer } from '@brokertrace/kafkajs';
import type { KafkaMessage } from 'kafkajs';
import { uniqueName } from '../harness/index.js';
import { CLIENTS, Countdown, createTopics, kafkaClient } from './helpers.js';
import type { ClientLibrary } from './helpers.js';

const t = setupTestTelemetry();

describe.each(CLIENTS)('$name', (lib: ClientLibrary) => {

  it('shows an aborted transaction as such, and only committed messages are consumed', async () => {
    const topic = uniqueName('txn');
    await createTopics(await kafkaClient('transactions-admin'), [topic]);
    const producer = traceProducer(await lib.producer('transactions', { transactionalId: uniqueName('tx') }));
    await producer.connect();

    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ key: 'aborted', value: 'never seen' }] });
    await aborted.abort();
    const committed = await producer.transaction();
    await committed.send({ topic, messages: [{ key: 'committed', value: 'seen' }] });
    await committed.commit();
    await producer.disconnect();

    // Both clients read committed by default; say so, since that is what this test is about.
    const consumer = traceConsumer(await lib.consumer('transactions', [topic], { groupId: uniqueName('g'), readUncommitted: false }));
    const got = new Countdown<KafkaMessage>(1);
    await consumer.run({
      eachMessage: ({ message }) => {
        got.push(message);
        return Promise.resolve();
      },
    });
    // The committed message comes after the aborted one in the log: once it is here, the other was skipped.
    const [message] = await got.done;
    await consumer.disconnect();
    expect(got.items.map((m) => m.key!.toString())).toEqual(['committed']);
    expect(message!.value!.toString()).toBe('seen');

    const sends = t.spansNamed(`send ${topic}`);
    expect(sends.map((s) => s.attributes['messaging.kafka.message.key'])).toEqual(['aborted', 'committed']);
    for (const s of sends) expect(s.attributes['brokertrace.kafka.transactional']).toBe(true);
    // Named apart from the consumer's offset commits (`commit {topic}`), in span names and metrics alike.
    const [abort] = t.spansNamed(`abort_transaction ${topic}`);
    const [commit] = t.spansNamed(`commit_transaction ${topic}`);
    expect(abort!.attributes).toMatchObject({ 'brokertrace.kafka.transaction.outcome': 'abort', 'messaging.batch.message_count': 1 });
    expect(commit!.attributes).toMatchObject({ 'brokertrace.kafka.transaction.outcome': 'commit', 'messaging.batch.message_count': 1 });
    for (const s of [abort!, commit!]) expect(s.attributes).not.toHaveProperty(['messaging.operation.type']);

    const processes = t.spansNamed(`process ${topic}`);
    expect(processes).toHaveLength(1);
    expect(processes[0]!.parentSpanContext?.spanId).toBe(sends[1]!.spanContext().spanId);
    expect(t.openSpans()).toHaveLength(0);
  });
});
