// Issue 18: an untested @aws-sdk/client-sqs (or sqs-consumer) version is named once through diag.warn and still
// traced; the explicit plugin and processMessage/processBatch handed something they do not recognise say so once
// and leave it untraced, never throwing.
import { DiagLogLevel, diag } from '@opentelemetry/api';
import { isWrapped } from '@opentelemetry/instrumentation';
import { setupTestTelemetry } from '@brokertrace/testing';
import { SqsInstrumentation, TESTED_CLIENT_SQS_VERSIONS, TESTED_SQS_CONSUMER_VERSIONS, processBatch, processMessage, sqsTracing } from '../src/index';
import { isTestedClientSqsVersion, isTestedSqsConsumerVersion } from '../src/version';

const t = setupTestTelemetry();
const warnings: string[] = [];

beforeEach(async () => {
  await t.reset();
  warnings.length = 0;
  // The once-per-process memory lives behind this global symbol (shared by ESM and CJS copies): start clean.
  delete (globalThis as Record<symbol, unknown>)[Symbol.for('@brokertrace/sqs.warned.v1')];
  diag.setLogger(
    {
      error: (...args: unknown[]) => warnings.push(`error: ${args.map(String).join(' ')}`),
      // A component logger passes its namespace first.
      warn: (namespace: string, ...rest: unknown[]) => warnings.push(namespace === '@brokertrace/sqs' ? rest.map(String).join(' ') : `${namespace} ${rest.map(String).join(' ')}`),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    DiagLogLevel.WARN,
  );
});
afterEach(() => diag.disable());

/** A client-sqs-shaped module. */
function clientModule(): { SQSClient: { prototype: { send: () => unknown } } } {
  class SQSClient {
    send(): unknown {
      return undefined;
    }
  }
  return { SQSClient };
}

/** What require-in-the-middle does when the app loads the module of definition `index` at `version`. */
function load(instrumentation: SqsInstrumentation, index: number, moduleExports: object, version: string | undefined): void {
  const definition = instrumentation.getModuleDefinitions()[index]!;
  definition.moduleExports = moduleExports;
  definition.patch!(moduleExports, version);
}

describe('tested versions', () => {
  it('client-sqs: the releases from 3.1040.0 to 3.1175.0', () => {
    expect(TESTED_CLIENT_SQS_VERSIONS).toBe('>=3.1040.0 <=3.1175.0');
    for (const v of ['3.1040.0', '3.1046.0', '3.1100.2', '3.1175.0']) expect(isTestedClientSqsVersion(v)).toBe(true);
    for (const v of ['3.1039.0', '3.1175.1', '3.1176.0', '4.0.0', '3.1100.0-beta.1', '3.1100', '', undefined]) expect(isTestedClientSqsVersion(v)).toBe(false);
  });

  it('sqs-consumer: 15.x', () => {
    expect(TESTED_SQS_CONSUMER_VERSIONS).toBe('>=15.0.0 <16');
    expect(isTestedSqsConsumerVersion('15.0.3')).toBe(true);
    for (const v of ['14.2.0', '16.0.0', '15.1.0-rc.1', undefined]) expect(isTestedSqsConsumerVersion(v)).toBe(false);
  });
});

describe('SqsInstrumentation and the client version', () => {
  it('patches every version and pre-release (a range would make require-in-the-middle skip them silently)', () => {
    const instrumentation = new SqsInstrumentation({ enabled: false });
    for (const definition of instrumentation.getModuleDefinitions()) {
      expect(definition.supportedVersions).toEqual(['*']);
      expect((definition as { includePrerelease?: boolean }).includePrerelease).toBe(true);
    }
  });

  it('a tested version: patched, nothing said', () => {
    const instrumentation = new SqsInstrumentation({ enabled: false });
    const module = clientModule();
    load(instrumentation, 0, module, '3.1100.0');
    expect(isWrapped(module.SQSClient.prototype.send)).toBe(true);
    expect(warnings).toEqual([]);
  });

  it('an untested version: named once with the range, and still patched', () => {
    const instrumentation = new SqsInstrumentation({ enabled: false });
    const first = clientModule();
    load(instrumentation, 0, first, '3.1176.0');
    load(instrumentation, 0, clientModule(), '3.1176.0');
    // Another instance: still once per process.
    load(new SqsInstrumentation({ enabled: false }), 0, clientModule(), '3.1176.0');
    expect(isWrapped(first.SQSClient.prototype.send)).toBe(true);
    expect(warnings).toEqual(['@aws-sdk/client-sqs 3.1176.0 is outside the tested range >=3.1040.0 <=3.1175.0; tracing it as far as it looks as expected']);
    load(instrumentation, 0, clientModule(), '3.1000.0-rc.1');
    load(instrumentation, 0, clientModule(), undefined);
    expect(warnings.slice(1)).toEqual([
      '@aws-sdk/client-sqs 3.1000.0-rc.1 is outside the tested range >=3.1040.0 <=3.1175.0; tracing it as far as it looks as expected',
      '@aws-sdk/client-sqs of an unknown version is outside the tested range >=3.1040.0 <=3.1175.0; tracing it as far as it looks as expected',
    ]);
  });

  it('a module without SQSClient.send: said once, left as it is, no throw', () => {
    const instrumentation = new SqsInstrumentation({ enabled: false });
    const odd = { SQSClient: class {} };
    expect(() => load(instrumentation, 0, odd, '3.1100.0')).not.toThrow();
    expect(() => load(instrumentation, 0, { SQSClient: 'x' }, '3.1100.0')).not.toThrow();
    expect(warnings).toEqual(['@aws-sdk/client-sqs 3.1100.0 has no SQSClient with send(); left untraced']);
  });

  it('sqs-consumer outside 15.x: named once; one without the Consumer methods: said once, no process spans', () => {
    const instrumentation = new SqsInstrumentation({ enabled: false });
    class Consumer {
      processMessage(): unknown {
        return undefined;
      }
      executeHandler(): unknown {
        return undefined;
      }
    }
    load(instrumentation, 1, { Consumer }, '16.0.0');
    expect(isWrapped(Consumer.prototype.processMessage)).toBe(true);
    expect(() => load(instrumentation, 1, { Consumer: class {} }, '17.0.0')).not.toThrow();
    expect(warnings).toEqual([
      'sqs-consumer 16.0.0 is outside the tested range >=15.0.0 <16; tracing it as far as it looks as expected',
      'sqs-consumer 17.0.0 is outside the tested range >=15.0.0 <16; tracing it as far as it looks as expected',
      'sqs-consumer 17.0.0 has no Consumer with processMessage() and executeHandler(); its handlers run without process spans',
    ]);
  });
});

describe('the explicit plugin', () => {
  const NOT_A_STACK = 'sqsTracing() was applied to something that is not a middleware stack with add() (an untested @aws-sdk/client-sqs version?); left untraced';

  it('applied to something that is not a middleware stack: said once, no throw', () => {
    const plugin = sqsTracing();
    for (const odd of [{}, null, undefined, { add: 'x' }, 42]) expect(() => plugin.applyToStack(odd as object)).not.toThrow();
    expect(warnings).toEqual([NOT_A_STACK]);
  });

  it('a stack whose add() throws: said once, no throw', () => {
    const plugin = sqsTracing();
    const stack = {
      add: (): void => {
        throw new TypeError('unknown step');
      },
    };
    expect(() => plugin.applyToStack(stack)).not.toThrow();
    expect(() => plugin.applyToStack(stack)).not.toThrow();
    expect(warnings).toEqual(['the middleware stack refused the tracing middleware (an untested @aws-sdk/client-sqs version?); left untraced']);
  });

  it('a client that does not name its commands: said once, calls pass through untraced', async () => {
    let middleware: ((next: (args: unknown) => unknown, context: object) => (args: unknown) => unknown) | undefined;
    sqsTracing().applyToStack({ add: (m: typeof middleware) => (middleware = m) });
    const next = (args: unknown): unknown => Promise.resolve({ output: args });
    expect(middleware!(next, {})).toBe(next);
    expect(middleware!(next, { clientName: 'SQSClient' })).toBe(next);
    await expect(middleware!(next, {})({ input: {} })).resolves.toEqual({ output: { input: {} } });
    expect(warnings).toEqual(['the SQS client gives its middleware no commandName (an untested @aws-sdk/client-sqs version?); its calls are left untraced']);
    expect(t.spans()).toHaveLength(0);
  });
});

describe('processMessage / processBatch handed something they do not recognise', () => {
  const UNKNOWN = 'processMessage/processBatch was handed something that is neither an SQS message nor a Lambda SQS record (pass event.Records[i] or Messages[i]); handled untraced';

  it('a whole Lambda event, null, a string: the handler runs untraced, its value returned, said once', () => {
    const event = { Records: [{ messageId: 'm1', body: 'x', eventSourceARN: 'arn:aws:sqs:us-east-1:1:q' }] };
    expect(processMessage(event as never, {}, (e) => e)).toBe(event);
    expect(processMessage(null as never, {}, () => 'ran')).toBe('ran');
    expect(processMessage('body' as never, {}, () => 'ran')).toBe('ran');
    expect(t.spans()).toHaveLength(0);
    expect(warnings).toEqual([UNKNOWN]);
  });

  it('processBatch with something that is not an array: untraced, no throw, said once', () => {
    expect(processBatch({ Records: [] } as never, {}, () => 'ran')).toBe('ran');
    expect(processBatch('x' as never, {}, () => 'ran')).toBe('ran');
    expect(t.spans()).toHaveLength(0);
    expect(warnings).toEqual(['processBatch was handed something that is not an array of messages; handled untraced']);
  });

  it('a known message is still traced, and nothing is said', () => {
    processMessage({ MessageId: 'm1', Body: 'x' }, { queueUrl: 'https://sqs.us-east-1.amazonaws.com/1/orders' }, () => undefined);
    expect(t.spansNamed('process orders')).toHaveLength(1);
    expect(warnings).toEqual([]);
  });
});
