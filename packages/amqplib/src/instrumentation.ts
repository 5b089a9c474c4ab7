// Auto-instrumentation: the same wrappers as traceChannel, put on amqplib's Channel prototypes by require hooks.
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import {
  InstrumentationBase,
  InstrumentationNodeModuleDefinition,
  InstrumentationNodeModuleFile,
  isWrapped,
} from '@opentelemetry/instrumentation';
import { resolveAmqplibOptions } from './config.js';
import { AmqplibTracing } from './tracing.js';
import type { AmqplibInstrumentationConfig } from './types.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';
import { CHANNEL_METHODS, wrapperFor } from './wrap.js';

/** amqplib versions whose channel_model.js / callback_model.js have the shape we patch. */
const SUPPORTED_VERSIONS = ['>=0.10.0 <3'];
const MODEL_FILES = ['amqplib/lib/channel_model.js', 'amqplib/lib/callback_model.js'];

type Prototype = Record<string, unknown>;
interface ModelExports {
  Channel?: { prototype: Prototype };
  ConfirmChannel?: { prototype: Prototype };
}

/**
 * Traces amqplib (promise and callback APIs) for `registerInstrumentations` and the Node SDK. Same spans and
 * options as {@link traceChannel}; `disable()` restores amqplib's methods. Throws `BrokerTraceConfigError` on a
 * bad option.
 */
export class AmqplibInstrumentation extends InstrumentationBase<AmqplibInstrumentationConfig> {
  // `declare`: no class field, so what super() (which calls setConfig) set is not reset after it.
  private declare tracing: AmqplibTracing | undefined;

  constructor(config: AmqplibInstrumentationConfig = {}) {
    super(PACKAGE_NAME, PACKAGE_VERSION, config);
    this.tracing = new AmqplibTracing(this.getConfig(), () => this.isEnabled());
  }

  /** Validates before applying: a bad config throws and leaves the current one in force. */
  override setConfig(config: AmqplibInstrumentationConfig = {}): void {
    if (this.tracing) this.tracing.setConfig(config);
    // super() calls this before the constructor has built `tracing`: validate the amqplib options at least.
    else resolveAmqplibOptions(config);
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

  protected init(): InstrumentationNodeModuleDefinition[] {
    const files = MODEL_FILES.map(
      (name) =>
        new InstrumentationNodeModuleFile(
          name,
          SUPPORTED_VERSIONS,
          (exports: ModelExports) => this.patchModel(exports),
          (exports?: ModelExports) => this.unpatchModel(exports),
        ),
    );
    return [new InstrumentationNodeModuleDefinition('amqplib', SUPPORTED_VERSIONS, undefined, undefined, files)];
  }

  private readonly source = (): AmqplibTracing | undefined => (this.isEnabled() ? this.tracing : undefined);

  private patchModel(exports: ModelExports): ModelExports {
    for (const proto of this.prototypes(exports)) {
      for (const method of CHANNEL_METHODS) {
        // ConfirmChannel only overrides publish/sendToQueue; its other methods are Channel's, patched once.
        if (!Object.prototype.hasOwnProperty.call(proto, method) || typeof proto[method] !== 'function') continue;
        if (isWrapped(proto[method])) this._unwrap(proto, method);
        this._wrap(proto, method, wrapperFor(method, this.source) as (original: unknown) => unknown);
      }
    }
    return exports;
  }

  private unpatchModel(exports?: ModelExports): void {
    if (exports === undefined) return;
    for (const proto of this.prototypes(exports)) {
      for (const method of CHANNEL_METHODS) {
        if (Object.prototype.hasOwnProperty.call(proto, method) && isWrapped(proto[method])) this._unwrap(proto, method);
      }
    }
  }

  private prototypes(exports: ModelExports): Prototype[] {
    const protos: Prototype[] = [];
    if (exports?.Channel?.prototype) protos.push(exports.Channel.prototype);
    if (exports?.ConfirmChannel?.prototype) protos.push(exports.ConfirmChannel.prototype);
    return protos;
  }
}
