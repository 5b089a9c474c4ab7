// Auto-instrumentation: the same plugin as sqsTracing() put on every SQS client's middleware stack at its first
// send (SQSClient.prototype.send is wrapped: it covers the aggregated SQS class and the clients libraries such as
// sqs-consumer create themselves), and sqs-consumer's handlers run inside process spans.
import { ROOT_CONTEXT } from '@opentelemetry/api';
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import { InstrumentationBase, InstrumentationNodeModuleDefinition, isWrapped } from '@opentelemetry/instrumentation';
import { resolveSqsOptions } from './config.js';
import type { LambdaSqsRecord, MiddlewareStackLike, SqsMessage } from './internal-types.js';
import { pluginFor } from './plugin.js';
import type { SqsTracingPlugin } from './plugin.js';
import { startBatchSpan, startMessageSpan } from './process.js';
import type { StartedSpan } from './process.js';
import { SqsTracing } from './tracing.js';
import type { SqsInstrumentationConfig } from './types.js';
import { PACKAGE_NAME, PACKAGE_VERSION, TESTED_CLIENT_SQS_VERSIONS, TESTED_SQS_CONSUMER_VERSIONS, isTestedClientSqsVersion, isTestedSqsConsumerVersion } from './version.js';
import { warnOnce } from './diag.js';

/**
 * Every client version is patched: one outside {@link TESTED_CLIENT_SQS_VERSIONS} gets a `diag.warn` naming it and
 * is traced as far as it looks as expected (a range here would make require-in-the-middle skip it silently, the
 * failure issue 18 is about).
 */
export const CLIENT_VERSIONS = ['*'];
/** Likewise for sqs-consumer ({@link TESTED_SQS_CONSUMER_VERSIONS} tested). */
export const SQS_CONSUMER_VERSIONS = ['*'];

type Method = (this: unknown, ...args: unknown[]) => unknown;
interface ClientLike {
  middlewareStack?: MiddlewareStackLike & { use?: (plugin: SqsTracingPlugin) => void };
}
interface ConsumerLike {
  queueUrl?: string;
}
interface ConsumerPrototype {
  processMessage?: Method;
  executeHandler?: Method;
  processMessageBatch?: Method;
  executeBatchHandler?: Method;
}

/**
 * Traces @aws-sdk/client-sqs (and sqs-consumer) for `registerInstrumentations` or the Node SDK. Same spans and
 * options as {@link sqsTracing}; `disable()` makes traced clients pass straight through and restores the modules.
 * Throws `BrokerTraceConfigError` for a bad option, naming it.
 *
 * @example
 * registerInstrumentations({ instrumentations: [new SqsInstrumentation({ maxMessageBytes: 262144 })] });
 */
export class SqsInstrumentation extends InstrumentationBase<SqsInstrumentationConfig> {
  // `declare`: set in the constructor after super(), which already calls setConfig and init.
  private declare tracing: SqsTracing | undefined;
  private declare plugin: SqsTracingPlugin | undefined;
  private declare traced: WeakSet<object> | undefined;
  /** Handler failures sqs-consumer swallows, by message (or batch array), for the process span to record. */
  private declare failures: WeakMap<object, unknown> | undefined;

  constructor(config: SqsInstrumentationConfig = {}) {
    super(PACKAGE_NAME, PACKAGE_VERSION, config);
    this.tracing = new SqsTracing(this.getConfig(), () => this.isEnabled());
    this.plugin = pluginFor(() => (this.isEnabled() ? this.tracing : undefined));
    this.traced = new WeakSet();
    this.failures = new WeakMap();
  }

  /** Validates before applying: a bad config throws and leaves the current one in force. */
  override setConfig(config: SqsInstrumentationConfig = {}): void {
    if (this.tracing) this.tracing.setConfig(config);
    // super() calls this before the constructor has built `tracing`: validate the SQS options at least.
    else resolveSqsOptions(config);
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
    // includePrerelease: without it `*` skips pre-releases silently; they too get the warning and the tracing.
    return [
      Object.assign(
        new InstrumentationNodeModuleDefinition(
          '@aws-sdk/client-sqs',
          CLIENT_VERSIONS,
          (exports: unknown, version?: string) => this.patchClient(exports, version),
          (exports: unknown) => this.unpatchClient(exports),
        ),
        { includePrerelease: true },
      ),
      Object.assign(
        new InstrumentationNodeModuleDefinition(
          'sqs-consumer',
          SQS_CONSUMER_VERSIONS,
          (exports: unknown, version?: string) => this.patchConsumer(exports, version),
          (exports: unknown) => this.unpatchConsumer(exports),
        ),
        { includePrerelease: true },
      ),
    ];
  }

  /** Puts the plugin on a client's stack once (also used by tests and by code that builds clients early). */
  traceClient(client: unknown): void {
    const traced = this.traced;
    const plugin = this.plugin;
    if (client === null || typeof client !== 'object' || !traced || !plugin || traced.has(client)) return;
    traced.add(client);
    const stack = (client as ClientLike).middlewareStack;
    try {
      if (stack && typeof stack.add === 'function') plugin.applyToStack(stack);
    } catch (err) {
      this._diag.error('an SQS client left untraced', err);
    }
  }

  private clientPrototype(exports: unknown, version: string | undefined): Record<string, unknown> | undefined {
    const SQSClient = (exports as { SQSClient?: unknown } | undefined)?.SQSClient;
    const proto = typeof SQSClient === 'function' ? (SQSClient.prototype as Record<string, unknown> | undefined) : undefined;
    if (!proto || typeof proto.send !== 'function') {
      warnOnce(`no-client:${String(version)}`, `@aws-sdk/client-sqs ${String(version)} has no SQSClient with send(); left untraced`);
      return undefined;
    }
    return proto;
  }

  private patchClient(exports: unknown, version: string | undefined): unknown {
    if (!isTestedClientSqsVersion(version)) {
      const name = version === undefined ? '@aws-sdk/client-sqs of an unknown version' : `@aws-sdk/client-sqs ${version}`;
      warnOnce(`client-version:${String(version)}`, `${name} is outside the tested range ${TESTED_CLIENT_SQS_VERSIONS}; tracing it as far as it looks as expected`);
    }
    const proto = this.clientPrototype(exports, version);
    if (!proto) return exports;
    if (isWrapped(proto.send)) this._unwrap(proto, 'send');
    const trace = (client: unknown): void => this.traceClient(client);
    const enabled = (): boolean => this.isEnabled();
    const wrapSend = (original: Method) =>
      function send(this: unknown, ...args: unknown[]): unknown {
        if (enabled()) trace(this);
        return original.apply(this, args);
      };
    this._wrap(proto, 'send', wrapSend as (original: unknown) => unknown);
    return exports;
  }

  private unpatchClient(exports: unknown): void {
    const proto = (exports as { SQSClient?: { prototype?: Record<string, unknown> } } | undefined)?.SQSClient?.prototype;
    if (proto && isWrapped(proto.send)) this._unwrap(proto, 'send');
  }

  private consumerPrototype(exports: unknown, version: string | undefined): ConsumerPrototype | undefined {
    const Consumer = (exports as { Consumer?: unknown } | undefined)?.Consumer;
    const proto = typeof Consumer === 'function' ? (Consumer.prototype as ConsumerPrototype | undefined) : undefined;
    if (!proto || typeof proto.processMessage !== 'function' || typeof proto.executeHandler !== 'function') {
      warnOnce(`no-consumer:${String(version)}`, `sqs-consumer ${String(version)} has no Consumer with processMessage() and executeHandler(); its handlers run without process spans`);
      return undefined;
    }
    return proto;
  }

  /**
   * sqs-consumer: `processMessage(message)` (handler, then delete) and `processMessageBatch(messages)` run inside a
   * process span; `executeHandler` / `executeBatchHandler` are watched for the failure sqs-consumer catches. Their
   * results pass through untouched: sqs-consumer deletes only what the handler returned.
   */
  private patchConsumer(exports: unknown, version: string | undefined): unknown {
    if (!isTestedSqsConsumerVersion(version)) {
      const name = version === undefined ? 'sqs-consumer of an unknown version' : `sqs-consumer ${version}`;
      warnOnce(`consumer-version:${String(version)}`, `${name} is outside the tested range ${TESTED_SQS_CONSUMER_VERSIONS}; tracing it as far as it looks as expected`);
    }
    const proto = this.consumerPrototype(exports, version);
    if (!proto) return exports;
    this.unpatchConsumer(exports);
    const source = (): SqsTracing | undefined => (this.isEnabled() ? this.tracing : undefined);
    const failures = this.failures!;
    const within = (started: StartedSpan | undefined, key: object, run: () => unknown): unknown => {
      if (started === undefined) return run();
      const telemetry = started.tracing.telemetry;
      return telemetry.run(
        started.span,
        () => {
          const result = run();
          // The span ends with the handler's failure, which sqs-consumer's processMessage catches and emits.
          return Promise.resolve(result).then((value) => {
            const failure = failures.get(key);
            if (failure !== undefined) {
              failures.delete(key);
              telemetry.end(started.span, failure);
            }
            return value;
          });
        },
        started.context,
      );
    };
    const watch = (original: Method) =>
      function watched(this: unknown, ...args: unknown[]): unknown {
        const key = args[0];
        const result = original.apply(this, args);
        if (key === null || typeof key !== 'object' || !(result instanceof Promise)) return result;
        return result.catch((err: unknown) => {
          failures.set(key, err);
          throw err;
        });
      };
    const wrapOne = (original: Method) =>
      function processMessage(this: unknown, ...args: unknown[]): unknown {
        const tracing = source();
        const message = args[0] as SqsMessage | undefined;
        if (!tracing || message === null || typeof message !== 'object') return original.apply(this, args);
        const started = startMessageSpan(tracing, message, { parent: ROOT_CONTEXT, queueUrl: (this as ConsumerLike).queueUrl });
        return within(started, message, () => original.apply(this, args));
      };
    const wrapBatch = (original: Method) =>
      function processMessageBatch(this: unknown, ...args: unknown[]): unknown {
        const tracing = source();
        const messages = args[0] as Array<SqsMessage | LambdaSqsRecord> | undefined;
        if (!tracing || !Array.isArray(messages)) return original.apply(this, args);
        const started = startBatchSpan(tracing, messages, { parent: ROOT_CONTEXT, queueUrl: (this as ConsumerLike).queueUrl });
        return within(started, messages, () => original.apply(this, args));
      };
    const target = proto as Record<string, unknown>;
    this._wrap(target, 'processMessage', wrapOne as (original: unknown) => unknown);
    this._wrap(target, 'executeHandler', watch as (original: unknown) => unknown);
    if (typeof proto.processMessageBatch === 'function') this._wrap(target, 'processMessageBatch', wrapBatch as (original: unknown) => unknown);
    if (typeof proto.executeBatchHandler === 'function') this._wrap(target, 'executeBatchHandler', watch as (original: unknown) => unknown);
    return exports;
  }

  private unpatchConsumer(exports: unknown): void {
    const proto = (exports as { Consumer?: { prototype?: Record<string, unknown> } } | undefined)?.Consumer?.prototype;
    if (!proto) return;
    for (const name of ['processMessage', 'executeHandler', 'processMessageBatch', 'executeBatchHandler']) {
      if (isWrapped(proto[name])) this._unwrap(proto, name);
    }
  }
}
