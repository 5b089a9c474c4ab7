// Auto-instrumentation: every sender and receiver a ServiceBusClient creates (createSender, createReceiver,
// acceptSession, acceptNextSession) is traced with the same code as the explicit wrappers. The client is one
// bundle whose sender/receiver classes are not exported, so the client's prototype is where we hook.
// Disabling restores the prototype and makes objects already traced pass straight through.
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import { InstrumentationBase, InstrumentationNodeModuleDefinition, isWrapped } from '@opentelemetry/instrumentation';
import { resolveServiceBusOptions } from './config.js';
import { ServiceBusTracing } from './tracing.js';
import type { ServiceBusInstrumentationConfig } from './types.js';
import { PACKAGE_NAME, PACKAGE_VERSION, TESTED_SERVICEBUS_VERSIONS, isTestedServiceBusVersion } from './version.js';
import { warnOnce } from './diag.js';
import { clientFactories, namespaceOf } from './wrap.js';
import type { ServiceBusClientLike } from './internal-types.js';

type Method = (this: unknown, ...args: unknown[]) => unknown;
const FACTORIES = ['createSender', 'createReceiver', 'acceptSession', 'acceptNextSession'] as const;

/**
 * @azure/service-bus versions this instrumentation patches: every one (pre-releases too), so that a version outside
 * {@link TESTED_SERVICEBUS_VERSIONS} is named once through `diag.warn` and traced as far as it looks as expected,
 * instead of being skipped silently.
 */
export const SUPPORTED_VERSIONS = ['*'];

/**
 * Traces @azure/service-bus for `registerInstrumentations` or the Node SDK.
 *
 * @example
 * registerInstrumentations({ instrumentations: [new ServiceBusInstrumentation({ policy: { maxChildAgeMs: 60000 } })] });
 */
export class ServiceBusInstrumentation extends InstrumentationBase<ServiceBusInstrumentationConfig> {
  // `declare`: set in the constructor after super(), which already calls setConfig and init.
  private declare tracing: ServiceBusTracing | undefined;
  private declare definition: InstrumentationNodeModuleDefinition | undefined;

  /** Throws `BrokerTraceConfigError` for a bad option, naming it. */
  constructor(config: ServiceBusInstrumentationConfig = {}) {
    super(PACKAGE_NAME, PACKAGE_VERSION, config);
    this.tracing = new ServiceBusTracing(this.getConfig(), () => this.isEnabled());
  }

  /** Validates before applying: a bad config throws and leaves the current one in force. */
  override setConfig(config: ServiceBusInstrumentationConfig = {}): void {
    this.tracing?.setConfig(config);
    if (!this.tracing) resolveServiceBusOptions(config);
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
      '@azure/service-bus',
      SUPPORTED_VERSIONS,
      (moduleExports: unknown, version?: string) => this.patch(moduleExports, version),
      (moduleExports: unknown) => this.unpatch(moduleExports),
    );
    // Without it `*` skips pre-releases (7.10.0-beta.2) silently: they too get the warning and the tracing.
    return (this.definition = Object.assign(definition, { includePrerelease: true }));
  }

  private prototypeOf(moduleExports: unknown): Record<string, Method> | undefined {
    let Client: unknown;
    try {
      Client = (moduleExports as { ServiceBusClient?: unknown } | undefined)?.ServiceBusClient;
    } catch {
      Client = undefined;
    }
    const proto = typeof Client === 'function' ? (Client.prototype as Record<string, unknown> | undefined) : undefined;
    if (!proto || typeof proto.createSender !== 'function' || typeof proto.createReceiver !== 'function') return undefined;
    return proto as Record<string, Method>;
  }

  private patch(moduleExports: unknown, version: string | undefined): unknown {
    const name = version === undefined ? '@azure/service-bus of an unknown version' : `@azure/service-bus ${version}`;
    if (!isTestedServiceBusVersion(version)) {
      warnOnce(`version:${String(version)}`, `${name} is outside the tested range ${TESTED_SERVICEBUS_VERSIONS}; tracing it as far as it looks as expected`);
    }
    const proto = this.prototypeOf(moduleExports);
    if (!proto) {
      warnOnce(`no-client:${String(version)}`, `${name} has no ServiceBusClient with createSender() and createReceiver(); left untraced`);
      return moduleExports;
    }
    this.unpatch(moduleExports);
    const tracing = this.tracing;
    if (!tracing) return moduleExports;
    const factories = clientFactories(tracing, (client) => namespaceOf(client as ServiceBusClientLike));
    for (const name of FACTORIES) {
      const make = factories[name];
      if (typeof proto[name] === 'function' && make) this._wrap(proto, name, (original: Method) => make(original));
    }
    return moduleExports;
  }

  private unpatch(moduleExports: unknown): void {
    const proto = this.prototypeOf(moduleExports);
    if (!proto) return;
    for (const name of FACTORIES) if (isWrapped(proto[name])) this._unwrap(proto, name);
  }
}
