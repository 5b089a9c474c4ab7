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
import { PACKAGE_NAME, PACKAGE_VERSION, TESTED_AMQPLIB_VERSIONS, isTestedAmqplibVersion } from './version.js';
import { warnOnce } from './log.js';
import { CHANNEL_METHODS, wrapperFor } from './wrap.js';

/**
 * Every amqplib version (pre-releases too) is handed to us: one outside {@link TESTED_AMQPLIB_VERSIONS} gets a
 * `diag.warn` naming it and is traced where its files look as expected. A range here would make
 * require-in-the-middle skip it silently, which is how contrib's amqplib instrumentation lost every span at 1.0.
 */
const SUPPORTED_VERSIONS = ['*'];
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
    // includePrerelease: `*` alone does not match a pre-release.
    const files = MODEL_FILES.map((name) =>
      Object.assign(
        new InstrumentationNodeModuleFile(
          name,
          SUPPORTED_VERSIONS,
          (exports: ModelExports, version?: string) => this.patchModel(exports, name, version),
          (exports?: ModelExports) => this.unpatchModel(exports),
        ),
        { includePrerelease: true },
      ),
    );
    // The main module's hook runs after channel_api.js has loaded lib/channel_model.js: it checks that the file
    // hook found what it patches (a moved or renamed file would otherwise leave amqplib untraced, silently).
    const main = new InstrumentationNodeModuleDefinition(
      'amqplib',
      SUPPORTED_VERSIONS,
      (exports: unknown, version?: string) => this.checkLoaded(exports, version),
      undefined,
      files,
    );
    return [Object.assign(main, { includePrerelease: true })];
  }

  private readonly source = (): AmqplibTracing | undefined => (this.isEnabled() ? this.tracing : undefined);
  /** Versions whose channel_model.js was patched, for {@link checkLoaded}. Bounded by the versions loaded. */
  private readonly patchedModels = new Set<string>();

  private checkVersion(version: string | undefined): void {
    if (isTestedAmqplibVersion(version)) return;
    const name = version === undefined ? 'amqplib of an unknown version' : `amqplib ${version}`;
    warnOnce(`version:${String(version)}`, `${name} is outside the tested range ${TESTED_AMQPLIB_VERSIONS}; tracing it as far as it looks as expected`);
  }

  private checkLoaded(exports: unknown, version: string | undefined): unknown {
    this.checkVersion(version);
    if (!this.patchedModels.has(String(version))) {
      warnOnce(`no-model:${String(version)}`, `amqplib ${String(version)} loaded without the lib/channel_model.js Channel this instrumentation patches; left untraced`);
    }
    return exports;
  }

  private patchModel(exports: ModelExports, file: string, version: string | undefined): ModelExports {
    this.checkVersion(version);
    const protos = this.prototypes(exports);
    if (protos.length === 0) {
      warnOnce(`no-channel:${file}:${String(version)}`, `amqplib ${String(version)}: ${file.slice('amqplib/'.length)} has no Channel class; left untraced`);
      return exports;
    }
    if (file === MODEL_FILES[0]) this.patchedModels.add(String(version));
    for (const proto of protos) {
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
