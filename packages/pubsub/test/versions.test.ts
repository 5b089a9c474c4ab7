// Issue 18: an untested @google-cloud/pubsub version is named once through diag.warn and still traced; an
// explicit wrapper handed something that is not a Topic / Subscription / PubSub says so once and returns it
// untraced, never throwing.
import { DiagLogLevel, diag } from '@opentelemetry/api';
import { isWrapped } from '@opentelemetry/instrumentation';
import { setupTestTelemetry } from '@brokertrace/testing';
import { PubSubInstrumentation, TESTED_PUBSUB_VERSIONS, tracePubSub, traceSubscription, traceTopic } from '../src/index';
import { isTestedPubSubVersion } from '../src/version';

const t = setupTestTelemetry();
const warnings: string[] = [];

beforeEach(async () => {
  await t.reset();
  warnings.length = 0;
  // The once-per-process memory lives behind this global symbol (shared by ESM and CJS copies): start clean.
  delete (globalThis as Record<symbol, unknown>)[Symbol.for('@brokertrace/pubsub.warned.v1')];
  diag.setLogger(
    {
      error: (...args: unknown[]) => warnings.push(`error: ${args.map(String).join(' ')}`),
      // A component logger passes its namespace first.
      warn: (namespace: string, ...rest: unknown[]) => warnings.push(namespace === '@brokertrace/pubsub' ? rest.map(String).join(' ') : `${namespace} ${rest.map(String).join(' ')}`),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    DiagLogLevel.WARN,
  );
});
afterEach(() => diag.disable());

/** A pubsub-shaped module. */
function pubsubModule(): { PubSub: { prototype: { topic: () => unknown; subscription: () => unknown } } } {
  class PubSub {
    topic(): unknown {
      return {};
    }
    subscription(): unknown {
      return {};
    }
  }
  return { PubSub };
}

/** What require-in-the-middle does when the app loads @google-cloud/pubsub `version`. */
function load(instrumentation: PubSubInstrumentation, moduleExports: object, version: string | undefined): void {
  const [definition] = instrumentation.getModuleDefinitions();
  definition!.moduleExports = moduleExports;
  definition!.patch!(moduleExports, version);
}

const outside = (v: string): string => `@google-cloud/pubsub ${v} is outside the tested range >=5.0.0 <=6.3.0; tracing it as far as it looks as expected`;

describe('tested versions', () => {
  it('are the releases from 5.0.0 to 6.3.0', () => {
    expect(TESTED_PUBSUB_VERSIONS).toBe('>=5.0.0 <=6.3.0');
    for (const v of ['5.0.0', '5.2.4', '5.3.1', '6.0.0', '6.3.0']) expect(isTestedPubSubVersion(v)).toBe(true);
    for (const v of ['4.11.0', '6.3.2', '7.0.0', '4.5.0-otel-beta.2', '6.1', '', undefined]) expect(isTestedPubSubVersion(v)).toBe(false);
  });
});

describe('PubSubInstrumentation and the client version', () => {
  it('patches every version and pre-release (a range would make require-in-the-middle skip them silently)', () => {
    const [definition] = new PubSubInstrumentation({ enabled: false }).getModuleDefinitions();
    expect(definition!.supportedVersions).toEqual(['*']);
    expect((definition as { includePrerelease?: boolean }).includePrerelease).toBe(true);
  });

  it('a tested version: patched, nothing said', () => {
    const module = pubsubModule();
    load(new PubSubInstrumentation({ enabled: false }), module, '5.0.0');
    expect(isWrapped(module.PubSub.prototype.topic)).toBe(true);
    expect(warnings).toEqual([]);
  });

  it('an untested version: named once with the range, and still patched', () => {
    const instrumentation = new PubSubInstrumentation({ enabled: false });
    const first = pubsubModule();
    load(instrumentation, first, '6.3.2');
    load(instrumentation, pubsubModule(), '6.3.2');
    load(new PubSubInstrumentation({ enabled: false }), pubsubModule(), '6.3.2');
    expect(isWrapped(first.PubSub.prototype.topic)).toBe(true);
    expect(isWrapped(first.PubSub.prototype.subscription)).toBe(true);
    load(instrumentation, pubsubModule(), '7.0.0-beta.1');
    load(instrumentation, pubsubModule(), undefined);
    expect(warnings).toEqual([
      outside('6.3.2'),
      outside('7.0.0-beta.1'),
      '@google-cloud/pubsub of an unknown version is outside the tested range >=5.0.0 <=6.3.0; tracing it as far as it looks as expected',
    ]);
  });

  it('a module without the PubSub class: said once, left as it is, no throw', () => {
    const instrumentation = new PubSubInstrumentation({ enabled: false });
    const odd = { PubSub: class {} };
    expect(() => load(instrumentation, odd, '6.0.0')).not.toThrow();
    expect(() => load(instrumentation, {}, '6.0.0')).not.toThrow();
    expect(warnings).toEqual(['@google-cloud/pubsub 6.0.0 has no PubSub class with topic() and subscription(); left untraced']);
  });
});

describe('the wrappers handed something they do not recognise', () => {
  it('traceTopic: returns it untraced, untouched, says so once', () => {
    const odd = { name: 'projects/p/topics/t', publish: () => undefined };
    const snapshot = { ...odd };
    expect(traceTopic(odd as never)).toBe(odd);
    expect(traceTopic({ publisher: { publishMessage: () => undefined } } as never)).toEqual({ publisher: { publishMessage: expect.any(Function) } });
    expect(traceTopic(null as never)).toBeNull();
    expect(odd).toEqual(snapshot);
    expect(Object.getOwnPropertySymbols(odd)).toEqual([]);
    expect(warnings).toEqual(['this Topic has no publisher.publishMessage() and request() (an untested @google-cloud/pubsub version?); left untraced']);
  });

  it('traceSubscription: returns it untraced, says so once', () => {
    const odd = { name: 'projects/p/subscriptions/s' };
    expect(traceSubscription(odd as never)).toBe(odd);
    expect(traceSubscription(undefined as never)).toBeUndefined();
    expect(Object.getOwnPropertySymbols(odd)).toEqual([]);
    expect(warnings).toEqual(['this Subscription is not an EventEmitter (an untested @google-cloud/pubsub version?); left untraced']);
  });

  it('tracePubSub: returns it untraced, says so once', () => {
    const odd = { topic: 'not a function' };
    expect(tracePubSub(odd as never)).toBe(odd);
    expect(tracePubSub(42 as never)).toBe(42);
    expect(odd).toEqual({ topic: 'not a function' });
    expect(warnings).toEqual([
      'tracePubSub() was handed something that is not a PubSub client with topic() and subscription() (an untested @google-cloud/pubsub version?); returned untraced',
    ]);
  });
});
