// The emulator's own pieces without a client: the config reader refuses what it does not implement,
// naming the setting, and a stored message goes back on the wire with the sender's sections byte for byte.
import { message as rheaMessage, types } from 'rhea';
import { encodeForDelivery, parseMessage, T, withApplicationProperties } from '../src/amqp-message';
import { loadConfig, parseConfig, parseDuration } from '../src/config';
import { SERVICEBUS_CONFIG } from '../../harness/servicebus';

const ns = (queue: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  UserConfig: { Namespaces: [{ Name: 'n', Queues: [{ Name: 'q', ...queue }], ...extra }] },
});

describe('config', () => {
  it('reads the harness config (the official emulator format)', () => {
    const config = loadConfig(SERVICEBUS_CONFIG);
    expect(config.queues.find((q) => q.name === 'emu-lock-expiry')?.settings.lockDurationMs).toBe(5000);
    expect(config.topics.find((t) => t.name === 'emu-topic')?.subscriptions.map((s) => s.name)).toEqual(['audit', 'billing']);
  });

  it('parses ISO 8601 durations as the service writes them', () => {
    expect(parseDuration('PT1M', 'x')).toBe(60_000);
    expect(parseDuration('PT0.5S', 'x')).toBe(500);
    expect(parseDuration('P1DT2H', 'x')).toBe(26 * 3_600_000);
    expect(() => parseDuration('1 minute', 'Queues[0].Properties.LockDuration')).toThrow('Queues[0].Properties.LockDuration');
  });

  it('refuses what it does not implement or the service would not accept, naming the setting', () => {
    expect(() => parseConfig(ns({ Properties: { EnablePartitioning: true } }))).toThrow('Queues[0].Properties.EnablePartitioning: not supported');
    // minimal sessions are implemented (sessions.test.ts): the setting is taken
    expect(() => parseConfig(ns({ Properties: { RequiresSession: true } }))).not.toThrow();
    expect(() => parseConfig(ns({ Properties: { LockDuration: 'PT1S' } }))).toThrow('LockDuration: must be between PT5S and PT5M');
    expect(() => parseConfig(ns({ Properties: { MaxDeliveryCount: 0 } }))).toThrow('MaxDeliveryCount: must be at least 1');
    const rules = { Topics: [{ Name: 't', Subscriptions: [{ Name: 's', Rules: [{ Name: 'r' }] }] }] };
    expect(() => parseConfig(ns({}, rules))).toThrow('Topics[0].Subscriptions[0].Rules: subscription rules (filters) are not implemented');
    expect(() => parseConfig(ns({}, { Topics: [{ Name: 'Q' }] }))).toThrow('declared twice');
  });
});

describe('stored messages', () => {
  it('keep properties, application properties and body byte for byte, and rewrite header and annotations', () => {
    const sent = rheaMessage.encode({
      message_id: 'm-1',
      application_properties: { s: 'x', n: types.wrap_ubyte(7), d: new Date(1_700_000_000_000), b: true },
      message_annotations: { 'x-opt-partition-key': 'pk' },
      body: rheaMessage.data_section(Buffer.from([0, 1, 2, 255])),
    });
    const stored = parseMessage(sent);
    const out = encodeForDelivery(stored, 3, { 'x-opt-sequence-number': T.wrap_long(42) });
    const props = stored.applicationProperties as Buffer;
    expect(out.includes(props)).toBe(true); // the ubyte stays a ubyte
    const decoded = rheaMessage.decode(out);
    expect(decoded.delivery_count).toBe(3);
    expect(decoded.message_annotations).toEqual({ 'x-opt-partition-key': 'pk', 'x-opt-sequence-number': 42 });
    expect(decoded.application_properties).toEqual({ s: 'x', n: 7, d: new Date(1_700_000_000_000), b: true });
    expect(decoded.message_id).toBe('m-1');

    const dead = withApplicationProperties(stored, { DeadLetterReason: 'why' });
    expect(rheaMessage.decode(encodeForDelivery(dead, 0, {})).application_properties).toEqual({ s: 'x', n: 7, d: new Date(1_700_000_000_000), b: true, DeadLetterReason: 'why' });
  });
});
