import { metrics } from '@opentelemetry/api';
import type { Counter, Histogram, MeterProvider } from '@opentelemetry/api';
import {
  METRIC_BROKERTRACE_CONTEXT_DROPPED,
  METRIC_BROKERTRACE_DECISIONS,
  METRIC_BROKERTRACE_MESSAGE_AGE,
  METRIC_MESSAGING_CLIENT_CONSUMED_MESSAGES,
  METRIC_MESSAGING_CLIENT_OPERATION_DURATION,
  METRIC_MESSAGING_CLIENT_SENT_MESSAGES,
  METRIC_MESSAGING_PROCESS_DURATION,
} from './semconv.js';

/** Semconv advice for messaging duration histograms (seconds). */
export const DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
/** Message age buckets (seconds, like every OpenTelemetry duration): from "just sent" to "a day in a dead-letter queue". */
export const AGE_BUCKETS_S = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 86400];

/** The instruments one instrumentation records to. */
export interface Instruments {
  operationDuration: Histogram;
  processDuration: Histogram;
  sentMessages: Counter;
  consumedMessages: Counter;
  messageAge: Histogram;
  decisions: Counter;
  contextDropped: Counter;
}

/**
 * Instruments bound to a meter provider, rebuilt when the provider changes: the global metrics API has no
 * proxy, so a provider registered after the instrumentation was created must still be picked up.
 */
export class MetricsRecorder {
  private provider: MeterProvider | undefined;
  private current: Instruments | undefined;

  constructor(
    private readonly name: string,
    private readonly version: string | undefined,
    private explicitProvider: MeterProvider | undefined,
  ) {}

  setMeterProvider(provider: MeterProvider | undefined): void {
    this.explicitProvider = provider;
    this.current = undefined;
  }

  get instruments(): Instruments {
    const provider = this.explicitProvider ?? metrics.getMeterProvider();
    if (this.current === undefined || provider !== this.provider) {
      this.provider = provider;
      this.current = build(provider, this.name, this.version);
    }
    return this.current;
  }
}

function build(provider: MeterProvider, name: string, version: string | undefined): Instruments {
  const meter = provider.getMeter(name, version);
  return {
    operationDuration: meter.createHistogram(METRIC_MESSAGING_CLIENT_OPERATION_DURATION, {
      description: 'Duration of messaging operation initiated by a producer or consumer client.',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS_S },
    }),
    processDuration: meter.createHistogram(METRIC_MESSAGING_PROCESS_DURATION, {
      description: 'Duration of processing operation.',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS_S },
    }),
    sentMessages: meter.createCounter(METRIC_MESSAGING_CLIENT_SENT_MESSAGES, {
      description: 'Number of messages producer attempted to send to the broker.',
      unit: '{message}',
    }),
    consumedMessages: meter.createCounter(METRIC_MESSAGING_CLIENT_CONSUMED_MESSAGES, {
      description: 'Number of messages that were delivered to the application (brokertrace.context.valid: whether they carried a creation context).',
      unit: '{message}',
    }),
    messageAge: meter.createHistogram(METRIC_BROKERTRACE_MESSAGE_AGE, {
      description: 'Age of a message when the consumer received it (queue latency); clock skew clamped to 0.',
      unit: 's',
      advice: { explicitBucketBoundaries: AGE_BUCKETS_S },
    }),
    decisions: meter.createCounter(METRIC_BROKERTRACE_DECISIONS, {
      description: 'Child-or-link decisions, by brokertrace.decision and brokertrace.decision.reason.',
      unit: '{decision}',
    }),
    contextDropped: meter.createCounter(METRIC_BROKERTRACE_CONTEXT_DROPPED, {
      description: 'Context fields left out of messages for lack of space, by brokertrace.context.field.',
      unit: '{field}',
    }),
  };
}
