// Auto-instrumentation: every producer and consumer that `Kafka#producer()` / `Kafka#consumer()` create is
// traced with the same code as the explicit wrappers. Disabling makes existing clients pass straight through
// and restores the Kafka class.
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import { InstrumentationBase, InstrumentationNodeModuleDefinition, isWrapped } from '@opentelemetry/instrumentation';
import { resolveKafkaOptions } from './config.js';
import { KafkaTracing } from './tracing.js';
import type { KafkaJsInstrumentationConfig } from './types.js';
import { PACKAGE_NAME, PACKAGE_VERSION, TESTED_KAFKAJS_VERSIONS, isTestedKafkaJsVersion } from './version.js';
import { warnOnce } from './diag.js';
import { withClusterOf } from './cluster.js';
import { ClientInfo } from './client-info.js';
import { wrapConsumer, wrapProducer } from './wrap.js';

type Factory = (this: unknown, ...args: unknown[]) => unknown;

/** The part of kafkajs's `Kafka` class we patch. */
interface KafkaPrototype {
  producer: Factory;
  consumer: Factory;
}

/**
 * Every kafkajs version is patched: one outside {@link TESTED_KAFKAJS_VERSIONS} gets a `diag.warn` naming it, and
 * is traced as far as its classes look as expected (a range here would make require-in-the-middle skip it silently,
 * the failure issue 18 is about).
 */
export const SUPPORTED_VERSIONS = ['*'];

/**
 * Traces kafkajs for `registerInstrumentations` or the Node SDK.
 *
 * @example
 * registerInstrumentations({ instrumentations: [new KafkaJsInstrumentation({ policy: { maxChildAgeMs: 60000 } })] });
 */
export class KafkaJsInstrumentation extends InstrumentationBase<KafkaJsInstrumentationConfig> {
  // `declare`: set in the constructor after super(), which already calls setConfig and init.
  private declare tracing: KafkaTracing | undefined;
  private declare definition: InstrumentationNodeModuleDefinition | undefined;

  /** Throws `BrokerTraceConfigError` for a bad option, naming it. */
  constructor(config: KafkaJsInstrumentationConfig = {}) {
    super(PACKAGE_NAME, PACKAGE_VERSION, config);
    this.tracing = new KafkaTracing(this.getConfig(), () => this.isEnabled());
  }

  /** Validates before applying: a bad config throws and leaves the current one in force. */
  override setConfig(config: KafkaJsInstrumentationConfig = {}): void {
    this.tracing?.setConfig(config);
    // Before the constructor has built `tracing` (super() calls this), validate the Kafka options at least.
    if (!this.tracing) resolveKafkaOptions(config);
    super.setConfig(config);
  }

  override setTracerProvider(tracerProvider: TracerProvider): void {
    super.setTracerProvider(tracerProvider);
    this.tracing?.setTracerProvider(tracerProvider);
  }

  override setMeterProvider(meterProvider: MeterProvider): void {
    super.setMeterProvider(meterProvider);
    this.tracing?.setMeterProvider(meterProvider);
  }

  /** One definition object, so `getModuleDefinitions()` hands out the very one `enable()`/`disable()` use. */
  protected init(): InstrumentationNodeModuleDefinition {
    if (this.definition) return this.definition;
    const definition = new InstrumentationNodeModuleDefinition(
      'kafkajs',
      SUPPORTED_VERSIONS,
      (moduleExports: unknown, moduleVersion?: string) => this.patch(moduleExports, moduleVersion),
      (moduleExports: unknown) => this.unpatch(moduleExports),
    );
    // Without it `*` skips pre-releases (2.3.0-beta.3) silently: they too get the warning and the tracing.
    return (this.definition = Object.assign(definition, { includePrerelease: true }));
  }

  private prototypeOf(moduleExports: unknown, moduleVersion: string | undefined): KafkaPrototype | undefined {
    const Kafka = (moduleExports as { Kafka?: unknown } | undefined)?.Kafka;
    const proto = typeof Kafka === 'function' ? (Kafka.prototype as Partial<KafkaPrototype> | undefined) : undefined;
    if (!proto || typeof proto.producer !== 'function' || typeof proto.consumer !== 'function') {
      warnOnce(`no-kafka-class:${String(moduleVersion)}`, `kafkajs ${String(moduleVersion)} has no Kafka class with producer() and consumer(); left untraced`);
      return undefined;
    }
    return proto as KafkaPrototype;
  }

  private patch(moduleExports: unknown, moduleVersion: string | undefined): unknown {
    if (!isTestedKafkaJsVersion(moduleVersion)) {
      const name = moduleVersion === undefined ? 'kafkajs of an unknown version' : `kafkajs ${moduleVersion}`;
      warnOnce(`version:${String(moduleVersion)}`, `${name} is outside the tested range ${TESTED_KAFKAJS_VERSIONS}; tracing it as far as it looks as expected`);
    }
    const proto = this.prototypeOf(moduleExports, moduleVersion);
    if (!proto) return moduleExports;
    this.unpatch(moduleExports);
    const trace = (client: unknown, kind: 'producer' | 'consumer', info: ClientInfo): void => this.trace(client, kind, info);
    this._wrap(proto, 'producer', (original: Factory) =>
      function producer(this: unknown, ...args: unknown[]): unknown {
        const { client, cluster } = withClusterOf(this, () => original.apply(this, args));
        trace(client, 'producer', new ClientInfo({ cluster }));
        return client;
      },
    );
    this._wrap(proto, 'consumer', (original: Factory) =>
      function consumer(this: unknown, ...args: unknown[]): unknown {
        const { client, cluster } = withClusterOf(this, () => original.apply(this, args));
        const groupId = (args[0] as { groupId?: unknown } | undefined)?.groupId;
        trace(client, 'consumer', new ClientInfo({ cluster, groupId: typeof groupId === 'string' ? groupId : undefined }));
        return client;
      },
    );
    return moduleExports;
  }

  private unpatch(moduleExports: unknown): void {
    const Kafka = (moduleExports as { Kafka?: { prototype?: KafkaPrototype } } | undefined)?.Kafka;
    const proto = Kafka?.prototype;
    if (!proto) return;
    if (isWrapped(proto.producer)) this._unwrap(proto, 'producer');
    if (isWrapped(proto.consumer)) this._unwrap(proto, 'consumer');
  }

  private trace(client: unknown, kind: 'producer' | 'consumer', info: ClientInfo): void {
    const tracing = this.tracing;
    if (!tracing || !this.isEnabled()) return;
    try {
      if (kind === 'producer') wrapProducer(client, tracing, info);
      else wrapConsumer(client, tracing, info);
    } catch (err) {
      this._diag.error(`${kind} left untraced`, err);
    }
  }
}
