// What one broker contributes to the benchmark: a file in brokers/ that exports a `Workload`.
// A workload loads its client library, our package and the peer lazily (inside functions, with `load`): the child that
// measures a run installs the peer's require hook first, and only then may the client library be loaded.
import { createRequire } from 'node:module';
import type { Meter } from './meter.js';
import type { BrokerName, BrokerSettings, ChildTask, PathName, RunSize } from './types.js';

/** Parent-side helper that creates and removes the topics/queues the runs use. */
export interface BrokerAdmin {
  /**
   * Creates `destination` for one run of `path`; for the consume paths fills it with `count` messages that
   * carry a creation context (a `traceparent`), as a traced producer would have sent them.
   */
  prepare(path: PathName, destination: string, count: number): Promise<void>;
  /** Deletes a destination after its run. */
  remove(destination: string): Promise<void>;
  close(): Promise<void>;
}

/** Least a peer records per message (warm-up included) where it does not make one span per message. */
export interface PeerRecords {
  spansPerMessage: number;
  /** Links per message on its spans (a batch receive span links each message it received). */
  linksPerMessage?: number;
  why: string;
}

export interface Workload {
  /** The npm name of the instrumentation a user would pick today for this client (the `peer` variant). */
  peer: string;
  /** Whether the peer records metrics (then it gets a `peer+metrics` variant too). */
  peerRecordsMetrics: boolean;
  /**
   * Paths the peer cannot run, each with the reason (what it breaks): they run without the `peer` variants, and the
   * table and latest.json say why.
   */
  peerMissing?: Partial<Record<PathName, string>>;
  /**
   * What a sampled run of the peer records at least, per message, on the paths where that is not one span per
   * message (the default): checked after every run (lib/checks.ts), with the reason.
   */
  peerRecords?: Partial<Record<PathName, PeerRecords>>;
  /** The harness broker this client talks to, when it is not the one of the workload's name (a second Kafka client). */
  server?: Exclude<BrokerName, 'confluent'>;
  /** The paths this client has. */
  paths: readonly PathName[];
  /**
   * Smaller runs than `FULL_SIZES` (lib/options.ts) for a full run, where the broker is an emulator too slow
   * for them (the smoke sizes apply to every broker); the README says which and what it leaves out.
   */
  fullSizes?: Partial<Record<PathName, RunSize>>;
  /** Parent side: connects the admin helper. */
  admin(settings: BrokerSettings): Promise<BrokerAdmin>;
  /** Child side, before the client library is loaded: registers the peer instrumentation. */
  installPeer(): void;
  /**
   * Child side: runs `task.path` with `task.variant` (for `brokertrace`, the client objects are wrapped
   * explicitly, as our README tells users to do; for `floor`, lib/floor.ts traces each message), opening and closing `meter`'s window around the measured
   * messages.
   */
  run(task: ChildTask, meter: Meter): Promise<void>;
}

/**
 * Loads a module with `require`, as a CommonJS application does, so the peers' require hooks see the client
 * library. (Under tsx, with `--sources`, `import()` is a real ESM dynamic import that those hooks never see: the
 * peer would silently trace nothing.)
 */
export const load: (id: string) => unknown = createRequire(__filename);
