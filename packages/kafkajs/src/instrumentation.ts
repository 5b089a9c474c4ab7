// Auto-instrumentation: every producer and consumer that `Kafka#producer()` / `Kafka#consumer()` create is
// traced with the same code as the explicit wrappers, for kafkajs (`KafkaJsInstrumentation`) and for the
// KafkaJS-compatible API of @confluentinc/kafka-javascript (`ConfluentKafkaJsInstrumentation`): the two differ only
// in the module they patch and where its `Kafka` class is. Disabling makes existing clients pass straight through
// and restores the Kafka class.
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import { InstrumentationBase, InstrumentationNodeModuleDefinition, isWrapped } from '@opentelemetry/instrumentation';
import { resolveKafkaOptions } from './config.js';
import { KafkaTracing } from './tracing.js';
import type { KafkaJsInstrumentationConfig } from './types.js';
import {
  PACKAGE_NAME,
  PACKAGE_VERSION,
  TESTED_CONFLUENT_VERSIONS,
  TESTED_KAFKAJS_VERSIONS,
  isTestedConfluentVersion,
  isTestedKafkaJsVersion,
} from './version.js';
import { warnOnce } from './diag.js';
import { withClusterOf } from './cluster.js';
import { ClientInfo } from './client-info.js';
import { groupIdOfConfig } from './flavour.js';
import { wrapConsumer, wrapProducer } from './wrap.js';

type Factory = (this: unknown, ...args: unknown[]) => unknown;

/** The part of the `Kafka` class we patch. */
interface KafkaPrototype {
  producer: Factory;
  consumer: Factory;
}

/** The module one instrumentation patches. */
export interface KafkaModule {
  /** The package name, as require-in-the-middle sees it (also what warnings call it). */
  readonly name: string;
  readonly testedVersions: string;
  isTested(version: string | undefined): boolean;
  /** Its `Kafka` class (kafkajs: `exports.Kafka`; Confluent: `exports.KafkaJS.Kafka`). */
  kafkaClass(moduleExports: unknown): unknown;
}

/**
 * Every version is patched: one outside the tested range gets a `diag.warn` naming it, and is traced as far as its
 * classes look as expected (a range here would make require-in-the-middle skip it silently, the failure issue 18
 * is about).
 */
export const SUPPORTED_VERSIONS = ['*'];

/** What the two instrumentations share: everything but the module they patch. */
export abstract class KafkaModuleInstrumentation extends InstrumentationBase<KafkaJsInstrumentationConfig> {
  // `declare`: set in the constructor after super(), which already calls setConfig and init.
  private declare tracing: KafkaTracing | undefined;
  private declare definition: InstrumentationNodeModuleDefinition | undefined;

  /** Throws `BrokerTraceConfigError` for a bad option, naming it. */
  constructor(config: KafkaJsInstrumentationConfig = {}) {
    super(PACKAGE_NAME, PACKAGE_VERSION, config);
    this.tracing = new KafkaTracing(this.getConfig(), () => this.isEnabled());
  }

  /** The module this instrumentation patches (a method: InstrumentationBase's constructor needs it already). */
  protected abstract kafkaModule(): KafkaModule;

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
      this.kafkaModule().name,
      SUPPORTED_VERSIONS,
      (moduleExports: unknown, moduleVersion?: string) => this.patch(moduleExports, moduleVersion),
      (moduleExports: unknown) => this.unpatch(moduleExports),
    );
    // Without it `*` skips pre-releases (2.3.0-beta.3) silently: they too get the warning and the tracing.
    return (this.definition = Object.assign(definition, { includePrerelease: true }));
  }

  private prototypeOf(moduleExports: unknown): Partial<KafkaPrototype> | undefined {
    try {
      const Kafka = this.kafkaModule().kafkaClass(moduleExports);
      return typeof Kafka === 'function' ? (Kafka.prototype as Partial<KafkaPrototype> | undefined) : undefined;
    } catch {
      return undefined;
    }
  }

  private patch(moduleExports: unknown, moduleVersion: string | undefined): unknown {
    const module = this.kafkaModule();
    const named = moduleVersion === undefined ? `${module.name} of an unknown version` : `${module.name} ${moduleVersion}`;
    if (!module.isTested(moduleVersion)) {
      warnOnce(
        `version:${module.name}:${String(moduleVersion)}`,
        `${named} is outside the tested range ${module.testedVersions}; tracing it as far as it looks as expected`,
      );
    }
    const proto = this.prototypeOf(moduleExports);
    if (!proto || typeof proto.producer !== 'function' || typeof proto.consumer !== 'function') {
      warnOnce(`no-kafka-class:${module.name}:${String(moduleVersion)}`, `${named} has no Kafka class with producer() and consumer(); left untraced`);
      return moduleExports;
    }
    this.unpatch(moduleExports);
    const trace = (client: unknown, kind: 'producer' | 'consumer', info: ClientInfo): void => this.trace(client, kind, info);
    this._wrap(proto as KafkaPrototype, 'producer', (original: Factory) =>
      function producer(this: unknown, ...args: unknown[]): unknown {
        const { client, cluster } = withClusterOf(this, () => original.apply(this, args));
        trace(client, 'producer', new ClientInfo({ cluster }));
        return client;
      },
    );
    this._wrap(proto as KafkaPrototype, 'consumer', (original: Factory) =>
      function consumer(this: unknown, ...args: unknown[]): unknown {
        const { client, cluster } = withClusterOf(this, () => original.apply(this, args));
        trace(client, 'consumer', new ClientInfo({ cluster, groupId: groupIdOfConfig(args[0]) }));
        return client;
      },
    );
    return moduleExports;
  }

  private unpatch(moduleExports: unknown): void {
    const proto = this.prototypeOf(moduleExports);
    if (!proto) return;
    if (isWrapped(proto.producer)) this._unwrap(proto as KafkaPrototype, 'producer');
    if (isWrapped(proto.consumer)) this._unwrap(proto as KafkaPrototype, 'consumer');
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

const KAFKAJS_MODULE: KafkaModule = Object.freeze({
  name: 'kafkajs',
  testedVersions: TESTED_KAFKAJS_VERSIONS,
  isTested: isTestedKafkaJsVersion,
  kafkaClass: (moduleExports: unknown) => (moduleExports as { Kafka?: unknown } | undefined)?.Kafka,
});

/**
 * Traces kafkajs for `registerInstrumentations` or the Node SDK.
 *
 * @example
 * registerInstrumentations({ instrumentations: [new KafkaJsInstrumentation({ policy: { maxChildAgeMs: 60000 } })] });
 */
export class KafkaJsInstrumentation extends KafkaModuleInstrumentation {
  protected kafkaModule(): KafkaModule {
    return KAFKAJS_MODULE;
  }
}

const CONFLUENT_MODULE: KafkaModule = Object.freeze({
  name: '@confluentinc/kafka-javascript',
  testedVersions: TESTED_CONFLUENT_VERSIONS,
  isTested: isTestedConfluentVersion,
  kafkaClass: (moduleExports: unknown) => (moduleExports as { KafkaJS?: { Kafka?: unknown } } | undefined)?.KafkaJS?.Kafka,
});

/**
 * Traces the KafkaJS-compatible API of @confluentinc/kafka-javascript
 * (`require('@confluentinc/kafka-javascript').KafkaJS`) for `registerInstrumentations` or the Node SDK, with the
 * same options, code and spans as {@link KafkaJsInstrumentation}. Its node-rdkafka-style API (`Producer`,
 * `KafkaConsumer`, streams) is not traced.
 *
 * @example
 * registerInstrumentations({ instrumentations: [new ConfluentKafkaJsInstrumentation()] });
 */
export class ConfluentKafkaJsInstrumentation extends KafkaModuleInstrumentation {
  protected kafkaModule(): KafkaModule {
    return CONFLUENT_MODULE;
  }
}
