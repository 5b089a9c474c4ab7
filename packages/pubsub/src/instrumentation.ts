// Auto-instrumentation: every Topic and Subscription that `PubSub#topic()` / `PubSub#subscription()` hand out
// (createTopic, getTopics, topic.subscription() and the rest go through them) is traced with the same code as
// the explicit wrappers. Disabling restores the PubSub class and makes objects already traced pass straight through.
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import { InstrumentationBase, InstrumentationNodeModuleDefinition, isWrapped } from '@opentelemetry/instrumentation';
import { resolvePubSubOptions } from './config.js';
import { PubSubTracing } from './tracing.js';
import type { PubSubInstrumentationConfig } from './types.js';
import { warnOnce } from './diag.js';
import { PACKAGE_NAME, PACKAGE_VERSION, TESTED_PUBSUB_VERSIONS, isTestedPubSubVersion } from './version.js';
import { traceMade } from './wrap.js';

type Factory = (this: unknown, ...args: unknown[]) => unknown;

interface PubSubPrototype {
  topic: Factory;
  subscription: Factory;
}

/**
 * Every @google-cloud/pubsub version is patched: one outside {@link TESTED_PUBSUB_VERSIONS} gets a `diag.warn`
 * naming it and is traced as far as it looks as expected (a range here would make require-in-the-middle skip it
 * silently, the failure issue 18 is about).
 */
export const SUPPORTED_VERSIONS = ['*'];

/**
 * Traces @google-cloud/pubsub for `registerInstrumentations` or the Node SDK.
 *
 * @example
 * registerInstrumentations({ instrumentations: [new PubSubInstrumentation({ policy: { maxChildAgeMs: 60000 } })] });
 */
export class PubSubInstrumentation extends InstrumentationBase<PubSubInstrumentationConfig> {
  // `declare`: set in the constructor after super(), which already calls setConfig and init.
  private declare tracing: PubSubTracing | undefined;
  private declare definition: InstrumentationNodeModuleDefinition | undefined;

  /** Throws `BrokerTraceConfigError` for a bad option, naming it. */
  constructor(config: PubSubInstrumentationConfig = {}) {
    super(PACKAGE_NAME, PACKAGE_VERSION, config);
    this.tracing = new PubSubTracing(this.getConfig(), () => this.isEnabled());
  }

  /** Validates before applying: a bad config throws and leaves the current one in force. */
  override setConfig(config: PubSubInstrumentationConfig = {}): void {
    this.tracing?.setConfig(config);
    if (!this.tracing) resolvePubSubOptions(config);
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
    // includePrerelease: without it `*` skips pre-releases silently; they too get the warning and the tracing.
    return (this.definition ??= Object.assign(
      new InstrumentationNodeModuleDefinition(
        '@google-cloud/pubsub',
        SUPPORTED_VERSIONS,
        (moduleExports: unknown, version?: string) => this.patch(moduleExports, version),
        (moduleExports: unknown) => this.unpatch(moduleExports),
      ),
      { includePrerelease: true },
    ));
  }

  private prototypeOf(moduleExports: unknown): PubSubPrototype | undefined {
    let PubSub: unknown;
    try {
      PubSub = (moduleExports as { PubSub?: unknown } | undefined)?.PubSub;
    } catch {
      PubSub = undefined;
    }
    const proto = typeof PubSub === 'function' ? (PubSub.prototype as Partial<PubSubPrototype> | undefined) : undefined;
    if (!proto || typeof proto.topic !== 'function' || typeof proto.subscription !== 'function') return undefined;
    return proto as PubSubPrototype;
  }

  private patch(moduleExports: unknown, version: string | undefined): unknown {
    if (!isTestedPubSubVersion(version)) {
      const name = version === undefined ? '@google-cloud/pubsub of an unknown version' : `@google-cloud/pubsub ${version}`;
      warnOnce(`version:${String(version)}`, `${name} is outside the tested range ${TESTED_PUBSUB_VERSIONS}; tracing it as far as it looks as expected`);
    }
    const proto = this.prototypeOf(moduleExports);
    if (!proto) {
      warnOnce(`no-pubsub-class:${String(version)}`, `@google-cloud/pubsub ${String(version)} has no PubSub class with topic() and subscription(); left untraced`);
      return moduleExports;
    }
    this.unpatch(moduleExports);
    const made = (object: unknown, kind: 'topic' | 'subscription'): void => {
      if (this.tracing && this.isEnabled()) traceMade(object, kind, this.tracing);
    };
    for (const kind of ['topic', 'subscription'] as const) {
      this._wrap(proto, kind, (original: Factory) =>
        function factory(this: unknown, ...args: unknown[]): unknown {
          const object = original.apply(this, args);
          made(object, kind);
          return object;
        },
      );
    }
    return moduleExports;
  }

  private unpatch(moduleExports: unknown): void {
    const proto = this.prototypeOf(moduleExports);
    if (!proto) return;
    if (isWrapped(proto.topic)) this._unwrap(proto, 'topic');
    if (isWrapped(proto.subscription)) this._unwrap(proto, 'subscription');
  }
}
