import { BrokerTraceConfigError } from '@brokertrace/core';
import { PubSubInstrumentation, traceSubscription, traceTopic } from '../src/index';
import { FakeSubscription, fakeTopic } from './fakes';

describe('config', () => {
  it.each([
    [{ writeGoogclientTraceparent: 'yes' }, 'writeGoogclientTraceparent'],
    [{ publishHook: 1 }, 'publishHook'],
    [{ sendHook: 'x' }, 'sendHook'],
    [{ processHook: {} }, 'processHook'],
    [{ maxChildAge: 1 }, 'maxChildAge'],
    [{ policy: { maxChildAgeMs: -5 } }, 'policy.maxChildAgeMs'],
  ])('%j is rejected at construction, naming %s', (config, option) => {
    for (const make of [() => traceTopic(fakeTopic().topic, config as never), () => traceSubscription(new FakeSubscription(), config as never), () => new PubSubInstrumentation(config as never)]) {
      let error: unknown;
      try {
        make();
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(BrokerTraceConfigError);
      expect(String((error as Error).message)).toContain(option);
    }
  });

  it('setConfig with a bad option keeps the old config', () => {
    const instrumentation = new PubSubInstrumentation({ writeGoogclientTraceparent: true });
    expect(() => instrumentation.setConfig({ writeGoogclientTraceparent: 3 as never })).toThrow(BrokerTraceConfigError);
    expect(instrumentation.getConfig().writeGoogclientTraceparent).toBe(true);
  });
});
