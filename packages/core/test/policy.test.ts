import { TraceFlags, diag, DiagLogLevel } from '@opentelemetry/api';
import type { SpanContext } from '@opentelemetry/api';
import { BrokerTraceConfigError, DeliveryCounter, MessagingTelemetry, createPolicy, decideRelationship } from '@brokertrace/core';
import type { RelationshipPolicy } from '@brokertrace/core';

/** Registers a DiagLogger recording `level` calls (core logs through component loggers, not diag.* directly). */
function captureDiag(level: 'warn' | 'error'): { calls: unknown[][]; restore: () => void } {
  const calls: unknown[][] = [];
  const none = () => undefined;
  const logger = { error: none, warn: none, info: none, debug: none, verbose: none, [level]: (...args: unknown[]) => void calls.push(args) };
  diag.setLogger(logger, { logLevel: DiagLogLevel.ALL, suppressOverrideMessage: true });
  return { calls, restore: () => diag.disable() };
}

const creation: SpanContext = {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.SAMPLED,
  isRemote: true,
};
const NOW = 1_700_000_000_000;

describe('decideRelationship: each rule and its reason, in order', () => {
  test('1. no valid creation context -> no-context (even when forced or batch)', () => {
    const invalid = { ...creation, traceId: '0'.repeat(32) };
    expect(decideRelationship({}, undefined, { mode: 'link' }, NOW)).toEqual({ relationship: 'child', reason: 'no-context', ageMs: undefined });
    expect(decideRelationship({ batch: true }, invalid, undefined, NOW).reason).toBe('no-context');
  });

  test('2. the user callback wins (custom); forced modes (forced)', () => {
    const policy = createPolicy({ decide: (facts) => (facts.messageId === 'vip' ? 'child' : undefined) });
    expect(decideRelationship({ messageId: 'vip', enqueuedAtMs: 0 }, creation, policy, NOW)).toMatchObject({ relationship: 'child', reason: 'custom' });
    expect(decideRelationship({ messageId: 'other', enqueuedAtMs: 0 }, creation, policy, NOW).reason).toBe('stale');
    expect(decideRelationship({}, creation, { mode: 'link' }, NOW)).toMatchObject({ relationship: 'link', reason: 'forced' });
    expect(decideRelationship({ enqueuedAtMs: 0 }, creation, { mode: 'child' }, NOW)).toMatchObject({ relationship: 'child', reason: 'forced' });
  });

  test('2. a throwing callback is logged and the rules go on', () => {
    const error = captureDiag('error');
    try {
      const policy = createPolicy({ decide: () => { throw new Error('user bug'); } });
      expect(decideRelationship({}, creation, policy, NOW)).toMatchObject({ relationship: 'child', reason: 'fresh' });
      expect(error.calls.map((c) => c[0])).toContain('@brokertrace/core');
    } finally {
      error.restore();
    }
  });

  test('3. batch -> link', () => {
    expect(decideRelationship({ batch: true }, creation, undefined, NOW)).toMatchObject({ relationship: 'link', reason: 'batch' });
  });

  test('4. older than maxChildAgeMs -> stale; exactly at the threshold is still fresh', () => {
    const policy = createPolicy();
    expect(decideRelationship({ enqueuedAtMs: NOW - 300_001 }, creation, policy, NOW)).toEqual({ relationship: 'link', reason: 'stale', ageMs: 300_001 });
    expect(decideRelationship({ enqueuedAtMs: NOW - 300_000 }, creation, policy, NOW)).toEqual({ relationship: 'child', reason: 'fresh', ageMs: 300_000 });
  });

  test('4. clock skew: a future timestamp counts as age 0', () => {
    expect(decideRelationship({ enqueuedAtMs: NOW + 60_000 }, creation, { maxChildAgeMs: 0 }, NOW)).toEqual({ relationship: 'child', reason: 'fresh', ageMs: 0 });
  });

  test('4. a 0 ms threshold links every message of known age > 0, not those of unknown age', () => {
    const policy = createPolicy({ maxChildAgeMs: 0 });
    expect(decideRelationship({ enqueuedAtMs: NOW - 1 }, creation, policy, NOW).reason).toBe('stale');
    expect(decideRelationship({ enqueuedAtMs: NOW }, creation, policy, NOW).reason).toBe('fresh');
    expect(decideRelationship({}, creation, policy, NOW).reason).toBe('fresh');
  });

  test('5. delivery count above maxChildDeliveries, or a dead-letter replay -> redelivered', () => {
    const policy = createPolicy();
    expect(decideRelationship({ deliveryCount: 3 }, creation, policy, NOW).reason).toBe('fresh');
    expect(decideRelationship({ deliveryCount: 4 }, creation, policy, NOW)).toMatchObject({ relationship: 'link', reason: 'redelivered' });
    expect(decideRelationship({ replayedFromDeadLetter: true }, creation, policy, NOW).reason).toBe('redelivered');
    expect(decideRelationship({ deliveryCount: 1 }, creation, { maxChildDeliveries: 0 }, NOW).reason).toBe('redelivered');
  });

  test('6. the same message id seen again within the window -> duplicate; other destinations are separate', () => {
    const policy = createPolicy();
    expect(decideRelationship({ messageId: 'm1', destination: 'q' }, creation, policy, NOW).reason).toBe('fresh');
    expect(decideRelationship({ messageId: 'm1', destination: 'q' }, creation, policy, NOW + 1)).toMatchObject({ relationship: 'link', reason: 'duplicate' });
    expect(decideRelationship({ messageId: 'm1', destination: 'other' }, creation, policy, NOW + 2).reason).toBe('fresh');
    expect(decideRelationship({ messageId: 'm1', destination: 'q' }, creation, policy, NOW + 600_002).reason).toBe('fresh');
  });

  test('6. a new configuration keeps the ids seen when the window keeps its size (setConfig does not forget)', () => {
    const first = createPolicy({ destinations: { q: { maxChildAgeMs: 1000 }, own: { duplicateWindow: { maxEntries: 5 } } } });
    for (const destination of ['p', 'q', 'own']) expect(decideRelationship({ messageId: 'm', destination }, creation, first, NOW).reason).toBe('fresh');
    const next = createPolicy({ maxChildAgeMs: 60_000, destinations: { q: {}, own: { duplicateWindow: { maxEntries: 5 } } } }, 'policy', first);
    for (const destination of ['p', 'q', 'own']) expect(decideRelationship({ messageId: 'm', destination }, creation, next, NOW + 1).reason).toBe('duplicate');
    // Another size is another window: it starts empty.
    const resized = createPolicy({ duplicateWindow: { maxEntries: 50 } }, 'policy', next);
    expect(decideRelationship({ messageId: 'm', destination: 'p' }, creation, resized, NOW + 2).reason).toBe('fresh');
  });

  test('6. MessagingTelemetry.setConfig keeps the duplicate window', () => {
    const telemetry = new MessagingTelemetry({ system: 'rabbitmq', instrumentationName: 'test', config: {} });
    expect(decideRelationship({ messageId: 'kept', destination: 'q' }, creation, telemetry.policy, NOW).reason).toBe('fresh');
    telemetry.setConfig({ createSpans: false });
    expect(decideRelationship({ messageId: 'kept', destination: 'q' }, creation, telemetry.policy, NOW + 1).reason).toBe('duplicate');
  });

  test('6. a redelivery the broker counts (delivery count > 1) is not a duplicate: retries stay children up to the limit', () => {
    const policy = createPolicy();
    for (const deliveryCount of [1, 2, 3]) {
      expect(decideRelationship({ messageId: 'retried', deliveryCount }, creation, policy, NOW)).toMatchObject({ relationship: 'child', reason: 'fresh' });
    }
    expect(decideRelationship({ messageId: 'retried', deliveryCount: 4 }, creation, policy, NOW).reason).toBe('redelivered');
    // Seen again while the broker says first delivery: a real duplicate (e.g. a producer retry that sent it twice).
    expect(decideRelationship({ messageId: 'retried', deliveryCount: 1 }, creation, policy, NOW).reason).toBe('duplicate');
  });

  test('6. the same message read by two consumers (groups, subscriptions) of one destination is no duplicate', () => {
    const policy = createPolicy();
    expect(decideRelationship({ messageId: 'fan', destination: 't', consumer: 'g1' }, creation, policy, NOW).reason).toBe('fresh');
    expect(decideRelationship({ messageId: 'fan', destination: 't', consumer: 'g2' }, creation, policy, NOW).reason).toBe('fresh');
    expect(decideRelationship({ messageId: 'fan', destination: 't', consumer: 'g1' }, creation, policy, NOW).reason).toBe('duplicate');
  });

  test('6. a stale message seen again is stale first (rule order), duplicates off with duplicateWindow: false', () => {
    const policy = createPolicy();
    expect(decideRelationship({ messageId: 'm', enqueuedAtMs: 0 }, creation, policy, NOW).reason).toBe('stale');
    expect(decideRelationship({ messageId: 'm', enqueuedAtMs: 0 }, creation, policy, NOW).reason).toBe('stale');
    expect(decideRelationship({ messageId: 'm' }, creation, policy, NOW).reason).toBe('duplicate');
    const off = createPolicy({ duplicateWindow: false });
    decideRelationship({ messageId: 'm' }, creation, off, NOW);
    expect(decideRelationship({ messageId: 'm' }, creation, off, NOW).reason).toBe('fresh');
  });

  test('7. otherwise fresh child', () => {
    expect(decideRelationship({ enqueuedAtMs: NOW - 5, deliveryCount: 1, messageId: 'x' }, creation, createPolicy(), NOW)).toEqual({
      relationship: 'child',
      reason: 'fresh',
      ageMs: 5,
    });
  });

  test('per-destination overrides, inheriting the rest', () => {
    const policy = createPolicy({ maxChildAgeMs: 1000, destinations: { 'orders.dlq': { mode: 'link' }, slow: { maxChildAgeMs: 60_000 } } });
    expect(decideRelationship({ destination: 'orders.dlq' }, creation, policy, NOW).reason).toBe('forced');
    expect(decideRelationship({ destination: 'slow', enqueuedAtMs: NOW - 5000 }, creation, policy, NOW).reason).toBe('fresh');
    expect(decideRelationship({ destination: 'slow', enqueuedAtMs: NOW - 5000, deliveryCount: 4 }, creation, policy, NOW).reason).toBe('redelivered');
    expect(decideRelationship({ destination: 'orders', enqueuedAtMs: NOW - 5000 }, creation, policy, NOW).reason).toBe('stale');
  });

  test('a plain policy object is resolved once and cached (its duplicate window persists)', () => {
    const plain: RelationshipPolicy = { maxChildAgeMs: 10 };
    decideRelationship({ messageId: 'cached' }, creation, plain, NOW);
    expect(decideRelationship({ messageId: 'cached' }, creation, plain, NOW).reason).toBe('duplicate');
  });
});

describe('policy validation names the option', () => {
  test.each<[unknown, string]>([
    [{ maxChildAgeMs: -1 }, 'policy.maxChildAgeMs'],
    [{ maxChildAgeMs: '5m' }, 'policy.maxChildAgeMs'],
    [{ maxChildDeliveries: NaN }, 'policy.maxChildDeliveries'],
    [{ mode: 'parent' }, 'policy.mode'],
    [{ decide: 'yes' }, 'policy.decide'],
    [{ duplicateWindow: { maxEntries: 0 } }, 'policy.duplicateWindow.maxEntries'],
    [{ duplicateWindow: { ttlMs: -5 } }, 'policy.duplicateWindow.ttlMs'],
    [{ duplicateWindow: true }, 'policy.duplicateWindow'],
    [{ maxChildAge: 5 }, 'policy.maxChildAge'],
    [{ destinations: { q: { mode: 'x' } } }, 'policy.destinations["q"].mode'],
    [{ destinations: { q: { destinations: {} } } }, 'policy.destinations["q"].destinations'],
    [{ destinations: [] }, 'policy.destinations'],
  ])('%j -> %s', (policy, option) => {
    let thrown: unknown;
    try {
      createPolicy(policy as RelationshipPolicy);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(BrokerTraceConfigError);
    expect((thrown as BrokerTraceConfigError).option).toBe(option);
    expect((thrown as Error).message).toContain(option);
  });
});

describe('DeliveryCounter', () => {
  test('counts sightings, 1 the first time', () => {
    const c = new DeliveryCounter();
    expect([c.record('a', 0), c.record('a', 1), c.record('b', 2), c.record('a', 3)]).toEqual([1, 2, 1, 3]);
  });

  test('evicts the least recently seen key when full; memory stays bounded', () => {
    const c = new DeliveryCounter({ maxEntries: 3, ttlMs: 1e9 });
    c.record('a', 1);
    c.record('b', 2);
    c.record('c', 3);
    c.record('a', 4); // a is now the most recent
    c.record('d', 5); // evicts b
    expect(c.size).toBe(3);
    expect(c.peek('b', 6)).toBe(0);
    expect(c.record('a', 7)).toBe(3);
    for (let i = 0; i < 10_000; i++) c.record(`k${i}`, 10 + i);
    expect(c.size).toBe(3);
  });

  test('a key idle longer than ttlMs starts again at 1, and expired keys are dropped', () => {
    const c = new DeliveryCounter({ maxEntries: 100, ttlMs: 1000 });
    c.record('a', 0);
    expect(c.record('a', 1000)).toBe(2);
    expect(c.record('a', 2001)).toBe(1);
    c.record('b', 2001);
    c.record('c', 5000);
    expect(c.size).toBe(1);
  });
});
