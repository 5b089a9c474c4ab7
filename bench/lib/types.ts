// The vocabulary shared by the orchestrator (run.ts), the child that measures one run (child.ts) and the
// per-broker workloads (brokers/*.ts). Everything that crosses the process boundary is plain JSON.

/**
 * The brokers benchmarked so far, by client where a broker has two (`confluent`: Kafka through
 * @confluentinc/kafka-javascript's KafkaJS API); a further one is a file in brokers/ plus its name here.
 */
export const BROKER_NAMES = ['kafka', 'confluent', 'rabbitmq', 'sqs', 'pubsub', 'servicebus'] as const;
export type BrokerName = (typeof BROKER_NAMES)[number];

/**
 * The workloads, each one client call pattern:
 * - `produce-1`: one message per send call, awaited before the next;
 * - `produce-10`: batch sends of 10 messages, each awaited (SQS `SendMessageBatch`, whose limit is 10);
 * - `produce-100`: sends of 100 messages, each awaited (Pub/Sub: 100 publishes the client batches, awaited together;
 *   Service Bus: a `createMessageBatch` batch of 100);
 * - `consume`: one message per handler call (kafkajs `eachMessage`, amqplib `consume`, SQS's receive loop with
 *   a handler per message, Pub/Sub's `message` listener, Service Bus `subscribe()`);
 * - `consume-batch`: a batch per call, where the client has it: the push API (kafkajs `eachBatch`), or a pull of
 *   up to 100 (Service Bus `receiveMessages`), each message then handled and settled.
 */
export const PATHS = ['produce-1', 'produce-10', 'produce-100', 'consume', 'consume-batch'] as const;
export type PathName = (typeof PATHS)[number];

/**
 * - `baseline`: no instrumentation;
 * - `floor`: the least any instrumentation must do per message with this SDK, written on `@opentelemetry/api`
 *   alone (lib/floor.ts);
 * - `brokertrace`: our explicit wrappers;
 * - `peer`: the instrumentation a user would pick today;
 * - `brokertrace+metrics`, `peer+metrics`: the same with a real meter provider registered (sampled only; the
 *   peer's only where it records metrics).
 */
export const VARIANT_KINDS = ['baseline', 'floor', 'brokertrace', 'peer', 'brokertrace+metrics', 'peer+metrics'] as const;
export type VariantKind = (typeof VARIANT_KINDS)[number];

/** Which instrumentation a variant installs, whatever its meter provider. */
export const instrumentationOf = (variant: VariantKind): 'none' | 'floor' | 'brokertrace' | 'peer' =>
  variant === 'baseline' ? 'none' : variant === 'brokertrace+metrics' ? 'brokertrace' : variant === 'peer+metrics' ? 'peer' : variant;

/** Whether a variant runs with a real meter provider registered globally. */
export const withMetrics = (variant: VariantKind): boolean => variant.endsWith('+metrics');

/** Connection settings of a broker, as the harness hands them out (JSON-serialisable). */
export type BrokerSettings = Record<string, unknown>;

/** How big one measured run is. */
export interface RunSize {
  /** Messages handled before the measurement starts (JIT warm-up, connections, consumer group join). */
  warmup: number;
  /** Messages measured. */
  measured: number;
}

/** Everything a child needs to run one measurement. */
export interface ChildTask {
  broker: BrokerName;
  path: PathName;
  variant: VariantKind;
  sampled: boolean;
  settings: BrokerSettings;
  /** The topic or queue prepared for this run (consume paths: already holding warmup + measured messages). */
  destination: string;
  size: RunSize;
  /** Write a V8 CPU profile of the measured window here (`--cpu-prof`). */
  profileFile?: string;
}

/** What a child measured over the measured messages only. */
export interface Measurement {
  messages: number;
  cpuMicros: number;
  wallMs: number;
  /** Highest `heapUsed` sampled during the measured window, in bytes. */
  peakHeapBytes: number;
  /** Bytes allocated on the JS heap during the measured window (from V8's GC statistics). */
  allocatedBytes: number;
  /** Spans that reached the exporter, warm-up included: proves the variant really traced (0 for baseline). */
  spansExported: number;
  /**
   * Links on those spans: what a batch-receive instrumentation records per message (a link on the receive span)
   * where it makes no span per message. Absent from runs measured before it was counted.
   */
  linksExported?: number;
  /** Messages the whole child handled (warm-up included), for spans per message. */
  totalMessages: number;
  /**
   * Metric data points collected at the end of the run, by instrumentation scope (empty without a meter
   * provider): proves that a metrics variant really recorded.
   */
  metricPoints: Record<string, number>;
}

/** One measured run, as the orchestrator keeps it. */
export interface RunRecord extends Measurement {
  broker: BrokerName;
  path: PathName;
  variant: VariantKind;
  sampled: boolean;
  round: number;
}
