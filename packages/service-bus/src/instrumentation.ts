// Auto-instrumentation: every sender and receiver a ServiceBusClient creates (createSender, createReceiver,
// acceptSession, acceptNextSession) is traced with the same code as the explicit wrappers. The client is one
// bundle whose sender/receiver classes are not exported, so the client's prototype is where we hook.
// Disabling restores the prototype and makes objects already traced pass straight through.
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import { InstrumentationBase, InstrumentationNodeModuleDefinition, isWrapped } from '@opentelemetry/instrumentation';
import { resolveServiceBusOptions } from './config.js';
import { ServiceBusTracing } from './tracing.js';
import type { ServiceBusInstrumentationConfig } from './types.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';
import { clientFactories, namespaceOf } from './wrap.js';
import type { ServiceBusClientLike } from './internal-types.js';

type Method = (this: unknown, ...args: unknown[]) => unknown;
const FACTORIES = ['createSender', 'createReceiver', 'acceptSession', 'acceptNextSession'] as const;

/** @azure/service-bus versions this package patches. */
export const SUPPORTED_VERSIONS = ['>=7.9.0 <8'];
/** The versions the tests run against; any other is named once through diag. */
const TESTED = /^7\.9\./;

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
    return (this.definition ??= new InstrumentationNodeModuleDefinition(
      '@azure/service-bus',
      SUPPORTED_VERSIONS,
      (moduleExports: unknown, version?: string) => this.patch(moduleExports, version),
      (moduleExports: unknown) => this.unpatch(moduleExports),
    ));
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
    const proto = this.prototypeOf(moduleExports);
    if (!proto) {
      this._diag.warn('@azure/service-bus loaded without the ServiceBusClient this instrumentation knows; left untraced');
      return moduleExports;
    }
    if (version !== undefined && !TESTED.test(version)) {
      this._diag.warn(`@azure/service-bus ${version} is not a tested version (tested: 7.9.x); tracing it anyway`);
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
