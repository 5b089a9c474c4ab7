// Issue 18: an untested kafkajs version is named once through diag.warn and still traced; an explicit wrapper
// handed something that is not a kafkajs client says so once and returns it untraced, never throwing.
import { DiagLogLevel, diag } from '@opentelemetry/api';
import { setupTestTelemetry } from '@brokertrace/testing';
import { ConfluentKafkaJsInstrumentation, KafkaJsInstrumentation, TESTED_CONFLUENT_VERSIONS, TESTED_KAFKAJS_VERSIONS, traceConsumer, traceKafka, traceProducer } from '../src/index';
import { isTestedConfluentVersion, isTestedKafkaJsVersion } from '../src/version';
import { fakeProducer } from './fakes';

const t = setupTestTelemetry();
const warnings: string[] = [];

beforeEach(async () => {
  await t.reset();
  warnings.length = 0;
  // The once-per-process memory lives behind this global symbol (shared by ESM and CJS copies): start clean.
  delete (globalThis as Record<symbol, unknown>)[Symbol.for('@brokertrace/kafkajs.warned.v1')];
  diag.setLogger(
    {
      error: () => undefined,
      // A component logger passes its namespace first.
      warn: (namespace: string, ...rest: unknown[]) => warnings.push(namespace === '@brokertrace/kafkajs' ? rest.map(String).join(' ') : `${namespace} ${rest.map(String).join(' ')}`),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    DiagLogLevel.WARN,
  );
});
afterEach(() => diag.disable());

/** A kafkajs-shaped module whose Kafka class hands out fake producers. */
function fakeModule() {
  const made: Array<ReturnType<typeof fakeProducer>> = [];
  class Kafka {
    producer() {
      const fake = fakeProducer();
      made.push(fake);
      return fake.producer;
    }
    consumer() {
      return { run: () => Promise.resolve() };
    }
  }
  return { exports: { Kafka }, made };
}

/** What require-in-the-middle does when the app loads kafkajs `version`. */
function load(instrumentation: KafkaJsInstrumentation | ConfluentKafkaJsInstrumentation, moduleExports: object, version: string | undefined): void {
  const [definition] = instrumentation.getModuleDefinitions();
  definition!.moduleExports = moduleExports;
  definition!.patch!(moduleExports, version);
}

describe('tested versions', () => {
  it('are the releases from 1.4.0 up to 3', () => {
    expect(TESTED_KAFKAJS_VERSIONS).toBe('>=1.4.0 <3');
    for (const v of ['1.4.0', '1.4.5', '1.16.0', '2.0.2', '2.2.4', '2.99.0']) expect(isTestedKafkaJsVersion(v)).toBe(true);
    for (const v of ['1.3.1', '0.8.1', '3.0.0', '2.3.0-beta.3', '2.2', 'x', '', undefined]) expect(isTestedKafkaJsVersion(v)).toBe(false);
  });

  it('hands every version to the instrumentation: a range would make require-in-the-middle skip it silently', () => {
    const [definition] = new KafkaJsInstrumentation({ enabled: false }).getModuleDefinitions();
    expect(definition!.supportedVersions).toEqual(['*']);
    // `*` alone does not match pre-releases.
    expect(definition!.includePrerelease).toBe(true);
  });
});

describe('an untested kafkajs version', () => {
  it('is named once, with the tested range, and still traced', async () => {
    const instrumentation = new KafkaJsInstrumentation();
    const { exports, made } = fakeModule();
    load(instrumentation, exports, '3.0.0');
    load(instrumentation, exports, '3.0.0');
    expect(warnings).toEqual(['kafkajs 3.0.0 is outside the tested range >=1.4.0 <3; tracing it as far as it looks as expected']);
    await new exports.Kafka().producer().send({ topic: 'orders', messages: [{ value: 'a' }] });
    expect(made[0]!.sent[0]!.messages[0]!.headers?.traceparent).toBeDefined();
    expect(t.spansNamed('send orders')).toHaveLength(1);
    instrumentation.disable();
  });

  it('names pre-releases and unknown versions too; a tested one says nothing', () => {
    const instrumentation = new KafkaJsInstrumentation();
    const { exports } = fakeModule();
    load(instrumentation, exports, '2.2.4');
    expect(warnings).toEqual([]);
    load(instrumentation, exports, '2.3.0-beta.3');
    load(instrumentation, exports, undefined);
    expect(warnings).toEqual([
      'kafkajs 2.3.0-beta.3 is outside the tested range >=1.4.0 <3; tracing it as far as it looks as expected',
      'kafkajs of an unknown version is outside the tested range >=1.4.0 <3; tracing it as far as it looks as expected',
    ]);
    instrumentation.disable();
  });

  it('without the Kafka class it knows: said once, module left as it is', () => {
    const instrumentation = new KafkaJsInstrumentation();
    const exports = { Kafka: class {} };
    expect(() => load(instrumentation, exports, '3.0.0')).not.toThrow();
    load(instrumentation, exports, '3.0.0');
    expect(warnings).toEqual([
      'kafkajs 3.0.0 is outside the tested range >=1.4.0 <3; tracing it as far as it looks as expected',
      'kafkajs 3.0.0 has no Kafka class with producer() and consumer(); left untraced',
    ]);
    expect(Object.getOwnPropertyNames(exports.Kafka.prototype)).toEqual(['constructor']);
    instrumentation.disable();
  });

  it('a client the factory returns that is not a producer is returned untraced, said once', () => {
    const instrumentation = new KafkaJsInstrumentation();
    const odd = { sendMessages: () => undefined };
    class Kafka {
      producer() {
        return odd;
      }
      consumer() {
        return {};
      }
    }
    load(instrumentation, { Kafka }, '3.0.0');
    expect(new Kafka().producer()).toBe(odd);
    expect(new Kafka().producer()).toBe(odd);
    expect(Object.keys(odd)).toEqual(['sendMessages']);
    expect(warnings.slice(1)).toEqual(['expected a kafkajs producer (with send, sendBatch), got an object without send, sendBatch; returned untraced (an untested kafkajs version?)']);
    instrumentation.disable();
  });
});

describe('an explicit wrapper handed something it does not recognise', () => {
  it('returns it untraced and unchanged, says so once per kind, never throws', () => {
    const notProducer = Object.freeze({ produce: () => undefined });
    expect(traceProducer(notProducer as never)).toBe(notProducer);
    expect(traceProducer({ send: () => undefined } as never)).toBeDefined();
    const notConsumer = { subscribe: () => undefined };
    expect(traceConsumer(notConsumer as never)).toBe(notConsumer);
    expect(Object.keys(notConsumer)).toEqual(['subscribe']);
    expect(traceConsumer(null as never)).toBeNull();
    expect(traceKafka(undefined as never)).toBeUndefined();
    expect(warnings).toEqual([
      'expected a kafkajs producer (with send, sendBatch), got an object without send, sendBatch; returned untraced (an untested kafkajs version?)',
      'expected a kafkajs consumer (with run), got an object without run; returned untraced (an untested kafkajs version?)',
      'expected a kafkajs Kafka client (with producer, consumer), got undefined; returned untraced (an untested kafkajs version?)',
    ]);
  });

  it('still traces a real client after a bad one', async () => {
    traceProducer({} as never);
    const fake = fakeProducer();
    await traceProducer(fake.producer).send({ topic: 'orders', messages: [{ value: 'a' }] });
    expect(t.spansNamed('send orders')).toHaveLength(1);
    expect(warnings).toHaveLength(1);
  });
});

describe('Confluent versions (ConfluentKafkaJsInstrumentation)', () => {
  it('are the releases from 1.10.1 up to 2', () => {
    expect(TESTED_CONFLUENT_VERSIONS).toBe('>=1.10.1 <2');
    for (const v of ['1.10.1', '1.10.2', '1.11.0']) expect(isTestedConfluentVersion(v)).toBe(true);
    for (const v of ['1.10.0', '1.9.1', '2.0.0', '1.10.1-rc1', undefined]) expect(isTestedConfluentVersion(v)).toBe(false);
  });

  it('patches KafkaJS.Kafka of the module; an untested version is named once and still traced', async () => {
    const instrumentation = new ConfluentKafkaJsInstrumentation();
    expect(instrumentation.getModuleDefinitions()[0]!.name).toBe('@confluentinc/kafka-javascript');
    const { exports, made } = fakeModule();
    const module = { KafkaJS: exports, Producer: class {} };
    const plain = exports.Kafka.prototype.producer;
    load(instrumentation, module, '1.9.0');
    expect(exports.Kafka.prototype.producer).not.toBe(plain);
    load(instrumentation, module, '1.9.0');
    await new exports.Kafka().producer().send({ topic: 'orders', messages: [{ value: 'a' }] });
    expect(made).toHaveLength(1);
    expect(t.spansNamed('send orders')).toHaveLength(1);
    expect(warnings).toEqual([
      '@confluentinc/kafka-javascript 1.9.0 is outside the tested range >=1.10.1 <2; tracing it as far as it looks as expected',
    ]);
    instrumentation.disable();
    expect(exports.Kafka.prototype.producer).toBe(plain);
  });

  it('a module without KafkaJS.Kafka (kafkajs-shaped) is said once and left as it is', () => {
    const instrumentation = new ConfluentKafkaJsInstrumentation();
    const { exports } = fakeModule();
    load(instrumentation, exports, '1.10.1');
    expect(warnings).toEqual(['@confluentinc/kafka-javascript 1.10.1 has no Kafka class with producer() and consumer(); left untraced']);
    instrumentation.disable();
  });
});
