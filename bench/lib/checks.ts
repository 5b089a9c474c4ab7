// The benchmark's honesty checks: after every run, what its variant recorded must be what that variant claims
// to do. A mute or half-working instrumentation would otherwise look cheap, and its row would lie.
import { instrumentationOf, withMetrics, type ChildTask, type Measurement } from './types.js';
import type { Workload } from './workload.js';

/**
 * Share of the expected records a run may fall short of: a run ends when its last message is handled, and a
 * consumer with 10 handlers in flight may end before their spans do (10% of a 100-message smoke run).
 */
const SHORTFALL = 0.85;

/** What a run must have exported, per message of the whole run (warm-up included). */
export interface Expected {
  /** Spans per message: at least `min`, at most `max` (0 and 0: nothing). */
  spans: { min: number; max: number };
  links?: number;
  /** What the figures are, for the error message. */
  what: string;
}

/**
 * - nothing is recorded by the baseline, nor by any variant not sampled;
 * - the floor makes exactly one span per message (lib/floor.ts);
 * - brokertrace at least one per message (a process or send span each; batch and settle spans come on top);
 * - the peer one per message, or what its workload's `peerRecords` says it makes on that path.
 */
export function expected(workload: Workload, task: Pick<ChildTask, 'path' | 'variant' | 'sampled'>): Expected {
  const instrumentation = instrumentationOf(task.variant);
  if (instrumentation === 'none' || !task.sampled) return { spans: { min: 0, max: 0 }, what: 'no span' };
  if (instrumentation === 'floor') return { spans: { min: SHORTFALL, max: 2 - SHORTFALL }, what: 'one span per message' };
  const peer = instrumentation === 'peer' ? workload.peerRecords?.[task.path] : undefined;
  if (!peer) return { spans: { min: SHORTFALL, max: Number.POSITIVE_INFINITY }, what: 'at least one span per message' };
  return {
    spans: { min: SHORTFALL * peer.spansPerMessage, max: Number.POSITIVE_INFINITY },
    ...(peer.linksPerMessage === undefined ? {} : { links: SHORTFALL * peer.linksPerMessage }),
    what: `${peer.spansPerMessage} span(s)${peer.linksPerMessage === undefined ? '' : ` and ${peer.linksPerMessage} link(s)`} per message (${peer.why})`,
  };
}

/** Throws when a run did not record what its variant must (or recorded while it must not). */
export function checkSpans(workload: Workload, task: ChildTask, m: Measurement): void {
  const want = expected(workload, task);
  const label = `${task.broker} ${task.path} ${task.variant}${task.sampled ? '' : ' (not sampled)'}`;
  const spans = m.spansExported / m.totalMessages;
  if (want.spans.max === 0) {
    if (m.spansExported > 0) throw new Error(`${label}: ${m.spansExported} spans exported while nothing should be recorded`);
    return;
  }
  if (m.spansExported === 0) throw new Error(`${label}: no span exported, the variant did not trace`);
  if (spans < want.spans.min || spans > want.spans.max) {
    throw new Error(`${label}: ${spans.toFixed(3)} spans per message exported (${m.spansExported} for ${m.totalMessages} messages); expected ${want.what}`);
  }
  if (want.links !== undefined) {
    const links = (m.linksExported ?? 0) / m.totalMessages;
    if (links < want.links) throw new Error(`${label}: ${links.toFixed(3)} links per message exported; expected ${want.what}`);
  }
}

/**
 * Likewise for metrics: a metrics variant must have recorded data points through its own instrumentation's
 * meter (brokertrace's scopes are named `@brokertrace/<package>`; the peer's, its npm name), and no other
 * variant any (they run without a meter provider).
 */
export function checkMetrics(task: ChildTask, m: Measurement, peer: string): void {
  const scopes = Object.keys(m.metricPoints);
  const label = `${task.broker} ${task.path} ${task.variant}`;
  if (!withMetrics(task.variant)) {
    if (scopes.length > 0) throw new Error(`${label}: metric data points recorded without a meter provider (${scopes.join(', ')})`);
    return;
  }
  const own = (scope: string): boolean => (instrumentationOf(task.variant) === 'brokertrace' ? scope.startsWith('@brokertrace/') : scope === peer);
  if (!scopes.some(own)) {
    throw new Error(`${label}: no metric data point recorded by the instrumentation (scopes with points: ${scopes.join(', ') || 'none'}); it did not get the meter provider`);
  }
}
