// Two promises a sceptical user needs before turning tracing on:
// 1. faults INSIDE the tracing (a propagator, span processor, sampler, meter or user hook that throws) never
//    change what the application sees: sends succeed, handlers run once, handler errors arrive unchanged;
// 2. trust boundaries hold: baggage allow-list on inject and extract, `mode: 'link'` per destination, and
//    `ignoreIncomingSampledFlag` / `followCreationSampling` against forced sampling.
import { ROOT_CONTEXT, SamplingDecision, TraceFlags, context, diag, propagation } from '@opentelemetry/api';
import type { Context, MeterProvider, Sampler, Span, TextMapPropagator, TracerProvider } from '@opentelemetry/api';
import { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, setupTestTelemetry } from '@brokertrace/testing';
import type { ReadableSpan, SdkSampler } from '@brokertrace/testing';
import {
  ATTR_BROKERTRACE_DECISION_REASON,
  ATTR_BROKERTRACE_DECISION_RELATIONSHIP,
  LinkSamplingSampler,
  MessagingTelemetry,
} from '@brokertrace/core';
import type { MessagingInstrumentationConfig } from '@brokertrace/core';

const t = setupTestTelemetry();
beforeEach(() => t.reset());

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';
const tp = (flags: '00' | '01'): string => `00-${TRACE_ID}-${SPAN_ID}-${flags}`;

// ---------------------------------------------------------------------------------------------------------
// A tracer provider of our own (the same SDK class the test telemetry registered), with processors we choose.

interface ProcessorLike {
  onStart(span: Span, parentContext: Context): void;
  onEnd(span: ReadableSpan): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}
type SdkProvider = TracerProvider & { shutdown(): Promise<void> };
const SdkTracerProvider = t.provider.constructor as new (config: { sampler?: SdkSampler | Sampler; spanProcessors?: ProcessorLike[] }) => SdkProvider;

/** Counts spans started and ended, and keeps the ended ones: what is left open at the end is a leak. */
class SpanLedger implements ProcessorLike {
  readonly open = new Set<Span>();
  readonly ended: ReadableSpan[] = [];
  onStart(span: Span): void {
    this.open.add(span);
  }
  onEnd(span: ReadableSpan): void {
    this.open.delete(span as unknown as Span);
    this.ended.push(span);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

class ThrowingProcessor implements ProcessorLike {
  constructor(private readonly where: 'onStart' | 'onEnd') {}
  onStart(): void {
    if (this.where === 'onStart') throw new Error('span processor onStart failed');
  }
  onEnd(): void {
    if (this.where === 'onEnd') throw new Error('span processor onEnd failed');
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const throwingSampler: Sampler = {
  shouldSample: () => {
    throw new Error('sampler failed');
  },
  toString: () => 'ThrowingSampler',
};

const throwingPropagator: TextMapPropagator = {
  inject: () => {
    throw new Error('propagator inject failed');
  },
  extract: () => {
    throw new Error('propagator extract failed');
  },
  fields: () => ['traceparent'],
};

const throwingMeterProvider: MeterProvider = {
  getMeter: () => {
    throw new Error('meter provider failed');
  },
};

/** The propagator registered with the API (the test telemetry's W3C composite), to put back after a swap. */
function registeredPropagator(): TextMapPropagator {
  const registry = (globalThis as Record<symbol, { propagation?: TextMapPropagator } | undefined>)[Symbol.for('opentelemetry.js.api.1')];
  if (registry?.propagation === undefined) throw new Error('no global propagator registered');
  return registry.propagation;
}

async function withGlobalPropagator<T>(p: TextMapPropagator, fn: () => Promise<T>): Promise<T> {
  const original = registeredPropagator();
  propagation.disable();
  propagation.setGlobalPropagator(p);
  try {
    return await fn();
  } finally {
    propagation.disable();
    propagation.setGlobalPropagator(original);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Unhandled rejections: jest 30 fails the test that owns one (it replaces process listeners while tests run, so
// a listener of our own would never hear of it). Each test below waits for pending rejections to surface
// before it ends, so that one is blamed on the right test.

async function expectNoUnhandledRejection(): Promise<void> {
  // Node reports unhandled rejections once the microtask queue has drained.
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
}

// ---------------------------------------------------------------------------------------------------------
// A tiny application: a producer publishing through "a broker" (an array) and a consumer handing each message
// to a handler, instrumented exactly the way broker packages use core.

interface Delivered {
  headers: Record<string, unknown>;
  payload: Buffer;
}

class App {
  readonly broker: Delivered[] = [];
  readonly handled: Delivered[] = [];
  constructor(
    readonly tel: MessagingTelemetry,
    readonly hook?: (span: Span, info: { destination: string }) => void,
  ) {}

  /** Publishes; resolves to what the (fake) broker answered. The caller's headers object is never changed. */
  send(destination: string, payload: Buffer, headers: Readonly<Record<string, unknown>>): Promise<{ offset: number }> {
    const span = this.tel.startSend({ destination }).span;
    this.tel.runHook(this.hook, span, { destination });
    const { fields } = this.tel.inject(span, headers);
    return this.tel.run(span, async () => {
      await Promise.resolve();
      this.broker.push({ headers: { ...headers, ...fields }, payload });
      return { offset: this.broker.length - 1 };
    });
  }

  /** Delivers message `i` to `handler`; resolves or rejects exactly as the handler did. */
  deliver<T>(destination: string, i: number, handler: (m: Delivered) => T): T {
    const message = this.broker[i]!;
    const { span, context: ctx } = this.tel.startProcess({ destination, carrier: message.headers, facts: { destination, deliveryCount: 1 } });
    this.tel.runHook(this.hook, span, { destination });
    return this.tel.run(
      span,
      () => {
        this.handled.push(message);
        return handler(message);
      },
      ctx,
    );
  }
}

interface Fault {
  name: string;
  config?: () => MessagingInstrumentationConfig;
  hook?: () => void;
  around?: <T>(fn: () => Promise<T>) => Promise<T>;
  /** The provider the fault lives in, when it is a provider fault, for the open-span check. */
  ledger?: SpanLedger;
}

/**
 * A provider whose ledger sits where a real exporter's processor would: after a processor failing in onStart
 * (the SDK stops there and the tracer throws, so the span never reaches us), before one failing in onEnd.
 */
function providerWith(before: ProcessorLike[], sampler?: Sampler, after: ProcessorLike[] = []): { provider: SdkProvider; ledger: SpanLedger } {
  const ledger = new SpanLedger();
  return { provider: new SdkTracerProvider({ sampler, spanProcessors: [...before, ledger, ...after] }), ledger };
}

const faults: (() => Fault)[] = [
  () => ({ name: 'a propagator that throws on inject and extract', around: (fn) => withGlobalPropagator(throwingPropagator, fn) }),
  () => {
    const { provider, ledger } = providerWith([new ThrowingProcessor('onStart')]);
    return { name: 'a span processor that throws in onStart', config: () => ({ tracerProvider: provider }), ledger };
  },
  () => {
    const { provider, ledger } = providerWith([], undefined, [new ThrowingProcessor('onEnd')]);
    return { name: 'a span processor that throws in onEnd', config: () => ({ tracerProvider: provider }), ledger };
  },
  () => {
    const { provider, ledger } = providerWith([], throwingSampler);
    return { name: 'a sampler that throws', config: () => ({ tracerProvider: provider }), ledger };
  },
  () => ({
    name: 'a user hook that throws',
    hook: () => {
      throw new Error('hook failed');
    },
  }),
  () => ({
    name: 'a policy decide callback that throws',
    config: () => ({
      policy: {
        decide: () => {
          throw new Error('decide failed');
        },
      },
    }),
  }),
  () => ({
    name: 'an ignoreDestinations predicate that throws',
    config: () => ({
      ignoreDestinations: () => {
        throw new Error('predicate failed');
      },
    }),
  }),
  () => ({ name: 'a meter provider that throws', config: () => ({ meterProvider: throwingMeterProvider }) }),
];

describe('faults inside the tracing leave the application unchanged', () => {
  let silence: jest.SpyInstance[] = [];
  beforeEach(() => {
    // The faults are logged through diag; keep the test output readable.
    silence = [jest.spyOn(diag, 'error').mockImplementation(() => undefined), jest.spyOn(diag, 'warn').mockImplementation(() => undefined)];
  });
  afterEach(() => silence.forEach((s) => s.mockRestore()));

  describe.each(faults.map((make) => [make().name, make] as const))('%s', (_name, make) => {
    async function scenario(fn: (app: App) => Promise<void>): Promise<void> {
      const fault = make();
      const tel = new MessagingTelemetry({ system: 'kafka', instrumentationName: 'faults', config: fault.config?.() });
      const app = new App(tel, fault.hook);
      const run = fault.around ?? (<T>(f: () => Promise<T>) => f());
      await run(() => fn(app));
      await expectNoUnhandledRejection();
      expect(t.openSpans()).toEqual([]);
      if (fault.ledger) expect([...fault.ledger.open]).toEqual([]);
    }

    test('sends succeed with payload and headers unchanged; the caller objects untouched', async () => {
      await scenario(async (app) => {
        const headers = Object.freeze({ 'user-id': '42', bin: Buffer.from([0, 255]) });
        const payload = Buffer.from('{"order":1}');
        await expect(app.send('orders', payload, headers)).resolves.toEqual({ offset: 0 });
        await expect(app.send('orders', payload, headers)).resolves.toEqual({ offset: 1 });
        expect(app.broker).toHaveLength(2);
        for (const m of app.broker) {
          expect(m.payload).toBe(payload);
          expect(m.headers['user-id']).toBe('42');
          expect(m.headers.bin).toBe(headers.bin);
        }
        expect(headers).toEqual({ 'user-id': '42', bin: Buffer.from([0, 255]) });
      });
    });

    test('handlers run once per delivery and return their value', async () => {
      await scenario(async (app) => {
        for (let i = 0; i < 5; i++) await app.send('orders', Buffer.from(`m${i}`), {});
        const calls: string[] = [];
        for (let i = 0; i < 5; i++) {
          const out = await app.deliver('orders', i, async (m) => {
            calls.push(m.payload.toString());
            await Promise.resolve();
            return `done ${i}`;
          });
          expect(out).toBe(`done ${i}`);
        }
        expect(app.deliver('orders', 0, () => 'sync value')).toBe('sync value');
        expect(calls).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
        expect(app.handled).toHaveLength(6);
      });
    });

    test('handler errors reach the caller unchanged (same object), sync and async', async () => {
      await scenario(async (app) => {
        await app.send('orders', Buffer.from('x'), {});
        const syncError = new TypeError('handler failed');
        expect(() => app.deliver('orders', 0, () => { throw syncError; })).toThrow(syncError);
        const asyncError = new RangeError('async handler failed');
        await expect(app.deliver('orders', 0, () => Promise.reject(asyncError))).rejects.toBe(asyncError);
        const notAnError = { code: 'E_SOMETHING' };
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- user code may reject with anything
        await expect(app.deliver('orders', 0, () => Promise.reject(notAnError))).rejects.toBe(notAnError);
        expect(app.handled).toHaveLength(3);
      });
    });
  });
});

describe('hostile errors and return values from user code', () => {
  const tel = (): MessagingTelemetry => new MessagingTelemetry({ system: 'rabbitmq', instrumentationName: 'hostile-errors' });
  const revoked = Proxy.revocable(new Error('revoked'), {});
  revoked.revoke();
  const nameThrows = Object.defineProperty(new Error('name getter throws'), 'name', {
    get: () => {
      throw new Error('the name getter');
    },
  });
  const ctorThrows = Object.defineProperty(new Error('constructor getter throws'), 'constructor', {
    get: () => {
      throw new Error('the constructor getter');
    },
  });
  const messageThrows = Object.defineProperty(new Error(), 'message', {
    get: () => {
      throw new Error('the message getter');
    },
  });
  const errors: [string, unknown][] = [
    ['an Error whose name getter throws', nameThrows],
    ['an Error whose constructor getter throws', ctorThrows],
    ['an Error whose message getter throws', messageThrows],
    ['a revoked Proxy', revoked.proxy],
    ['undefined', undefined],
    ['null', null],
    ['a Symbol', Symbol('thrown')],
  ];

  test.each(errors)('thrown synchronously: %s reaches the caller unchanged, the span ends', async (_label, error) => {
    const tl = tel();
    const span = tl.startSettle({ destination: 'q', operationName: 'ack' });
    let caught: unknown = 'nothing thrown';
    try {
      tl.run(span, () => {
        throw error;
      });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBe(error);
    expect(t.openSpans()).toEqual([]);
    await expectNoUnhandledRejection();
  });

  test.each(errors)('rejected: %s reaches the caller unchanged, the span ends, no unhandled rejection', async (_label, error) => {
    const tl = tel();
    const span = tl.startSettle({ destination: 'q', operationName: 'ack' });
    let caught: unknown = 'nothing thrown';
    try {
      await tl.run(span, () => Promise.reject(error as Error));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBe(error);
    await expectNoUnhandledRejection();
    expect(t.openSpans()).toEqual([]);
  });

  test('a returned object whose `then` getter throws is returned as it is, and the span ends', async () => {
    const tl = tel();
    const weird = Object.defineProperty({}, 'then', {
      get: () => {
        throw new Error('then getter');
      },
    });
    const span = tl.startSettle({ destination: 'q', operationName: 'ack' });
    expect(tl.run(span, () => weird)).toBe(weird);
    expect(t.openSpans()).toEqual([]);
    await expectNoUnhandledRejection();
  });

  test('a thenable that calls back twice: subscribed to once, the caller gets a native promise of its first outcome', async () => {
    const tl = tel();
    let subscribed = 0;
    const twice = { then: (ok: (v: number) => void) => { subscribed++; ok(1); ok(2); } };
    const span = tl.startSettle({ destination: 'q', operationName: 'ack' });
    const returned = tl.run(span, () => twice);
    expect(returned).toBeInstanceOf(Promise);
    await expect(returned).resolves.toBe(1);
    expect(subscribed).toBe(1);
    await expectNoUnhandledRejection();
    expect(t.spansNamed('ack q')).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Trust boundaries.

function incoming(flags: '00' | '01', baggage?: string, tracestate?: string): Record<string, string> {
  const h: Record<string, string> = { traceparent: tp(flags) };
  if (baggage !== undefined) h.baggage = baggage;
  if (tracestate !== undefined) h.tracestate = tracestate;
  return h;
}

function withBaggage(entries: Record<string, string>): Context {
  return propagation.setBaggage(
    context.active(),
    propagation.createBaggage(Object.fromEntries(Object.entries(entries).map(([k, value]) => [k, { value }]))),
  );
}

function injectedBaggage(tel: MessagingTelemetry, ctx: Context): string | undefined {
  return context.with(ctx, () => {
    const span = tel.startSend({ destination: 'out' }).span;
    const { fields } = tel.inject(span, {});
    tel.end(span);
    return fields.baggage;
  });
}

describe('baggage allow-list', () => {
  const personal = { tenant: 'acme', 'app.region': 'eu', email: 'alice@example.com', 'user.name': 'Alice' };

  test('by default every member travels (the OpenTelemetry default)', () => {
    const tel = new MessagingTelemetry({ system: 'kafka', instrumentationName: 'trust' });
    expect(injectedBaggage(tel, withBaggage(personal))?.split(',').sort()).toEqual(
      ['app.region=eu', 'email=alice%40example.com', 'tenant=acme', 'user.name=Alice'],
    );
  });

  test('on inject: only allowed keys (names and patterns) leave the service', () => {
    const tel = new MessagingTelemetry({ system: 'kafka', instrumentationName: 'trust', config: { baggageAllowList: ['tenant', /^app\./] } });
    expect(injectedBaggage(tel, withBaggage(personal))?.split(',').sort()).toEqual(['app.region=eu', 'tenant=acme']);
    // The application's own context is not changed by the filter.
    expect(propagation.getBaggage(withBaggage(personal))?.getAllEntries()).toHaveLength(4);
  });

  test('on extract: the handler sees only allowed keys from the message, and cannot forward the rest', () => {
    const tel = new MessagingTelemetry({ system: 'kafka', instrumentationName: 'trust', config: { baggageAllowList: ['tenant'] } });
    const { span, context: handlerCtx } = tel.startProcess({
      destination: 'in',
      carrier: incoming('01', 'tenant=acme,email=alice%40example.com,isAdmin=true'),
      facts: {},
    });
    tel.end(span);
    expect(propagation.getBaggage(handlerCtx)?.getAllEntries().map(([k]) => k)).toEqual(['tenant']);
    // Even a second service with no allow-list of its own forwards only what the first let in.
    const open = new MessagingTelemetry({ system: 'kafka', instrumentationName: 'trust-2' });
    expect(injectedBaggage(open, handlerCtx)).toBe('tenant=acme');
  });

  test('an empty list keeps baggage out of messages both ways', () => {
    const tel = new MessagingTelemetry({ system: 'kafka', instrumentationName: 'trust', config: { baggageAllowList: [] } });
    expect(injectedBaggage(tel, withBaggage(personal))).toBeUndefined();
    const { span, context: handlerCtx } = tel.startProcess({ destination: 'in', carrier: incoming('01', 'tenant=acme'), facts: {} });
    tel.end(span);
    expect(propagation.getBaggage(handlerCtx)).toBeUndefined();
  });

  test('a global RegExp in the list matches every key (no lastIndex state between keys)', () => {
    const tel = new MessagingTelemetry({ system: 'kafka', instrumentationName: 'trust', config: { baggageAllowList: [/^t/g] } });
    expect(injectedBaggage(tel, withBaggage({ ta: '1', tb: '2', tc: '3', x: '4' }))).toBe('ta=1,tb=2,tc=3');
  });
});

describe("per-destination mode: 'link' against trace hijacking", () => {
  const config: MessagingInstrumentationConfig = { policy: { destinations: { 'public-ingest': { mode: 'link' } } } };

  test('a message from an untrusted destination starts our own trace, linked to the claimed producer', () => {
    const tel = new MessagingTelemetry({ system: 'rabbitmq', instrumentationName: 'trust', config });
    const attacker = incoming('01', undefined, 'evil=1');
    const { span, context: handlerCtx } = tel.startProcess({ destination: 'public-ingest', carrier: attacker, facts: {} });
    tel.end(span);
    const [processed] = t.spans();
    expect(processed!.spanContext().traceId).not.toBe(TRACE_ID);
    expect(processed!.parentSpanContext).toBeUndefined();
    expect(processed!.links.map((l) => l.context.spanId)).toEqual([SPAN_ID]);
    expect(processed!.attributes).toMatchObject({ [ATTR_BROKERTRACE_DECISION_RELATIONSHIP]: 'link', [ATTR_BROKERTRACE_DECISION_REASON]: 'forced' });
    // Downstream calls from the handler carry OUR trace, without the attacker's tracestate.
    const onward = context.with(handlerCtx, () => {
      const send = tel.startSend({ destination: 'next' }).span;
      const { fields } = tel.inject(send, {});
      tel.end(send);
      return fields;
    });
    expect(onward.traceparent).toContain(processed!.spanContext().traceId);
    expect(onward.traceparent).not.toContain(TRACE_ID);
    expect(onward.tracestate).toBeUndefined();
  });

  test('interop keys (Diagnostic-Id, googclient_traceparent, AWSTraceHeader) cannot get around it', () => {
    const tel = new MessagingTelemetry({ system: 'rabbitmq', instrumentationName: 'trust', config });
    for (const carrier of [{ 'Diagnostic-Id': tp('01') }, { googclient_traceparent: tp('01') }, { AWSTraceHeader: `Root=1-${TRACE_ID.slice(0, 8)}-${TRACE_ID.slice(8)};Parent=${SPAN_ID};Sampled=1` }]) {
      const { span } = tel.startProcess({ destination: 'public-ingest', carrier, facts: {} });
      tel.end(span);
    }
    for (const s of t.spans()) {
      expect(s.spanContext().traceId).not.toBe(TRACE_ID);
      expect(s.attributes[ATTR_BROKERTRACE_DECISION_RELATIONSHIP]).toBe('link');
    }
  });

  test('trusted destinations keep the default: a fresh message continues the producer trace', () => {
    const tel = new MessagingTelemetry({ system: 'rabbitmq', instrumentationName: 'trust', config });
    const { span } = tel.startProcess({ destination: 'internal', carrier: incoming('01'), facts: {} });
    tel.end(span);
    expect(t.spans()[0]!.spanContext().traceId).toBe(TRACE_ID);
  });
});

describe('forced sampling: an untrusted producer cannot make us record', () => {
  // The sampler a cost-conscious service runs: sample nothing of its own, follow parents and creation links.
  function tracing(config: MessagingInstrumentationConfig): { tel: MessagingTelemetry; ledger: SpanLedger } {
    const { provider, ledger } = providerWith([], new LinkSamplingSampler(new ParentBasedSampler({ root: new AlwaysOffSampler() })));
    return { tel: new MessagingTelemetry({ system: 'aws_sqs', instrumentationName: 'trust', config: { ...config, tracerProvider: provider } }), ledger };
  }
  function consume(tel: MessagingTelemetry, destination: string, flags: '00' | '01'): Span {
    const { span } = tel.startProcess({ destination, carrier: incoming(flags), facts: {} });
    tel.end(span);
    return span;
  }
  const sampledFlag = (s: Span): boolean => (s.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0;
  const linkAt = { policy: { mode: 'link' as const } };

  test('by default a sampled flag in the message is followed: as a parent (child) and through the link (link)', () => {
    const { tel } = tracing({});
    expect(sampledFlag(consume(tel, 'q', '01'))).toBe(true);
    expect(sampledFlag(consume(tel, 'q', '00'))).toBe(false);
    const { tel: linking } = tracing(linkAt);
    expect(sampledFlag(consume(linking, 'q', '01'))).toBe(true);
  });

  test('ignoreIncomingSampledFlag: the flag is not followed, neither as a parent nor through the link', () => {
    const { tel, ledger } = tracing({ ignoreIncomingSampledFlag: true });
    const child = consume(tel, 'q', '01');
    expect(sampledFlag(child)).toBe(false);
    expect(child.spanContext().traceId).toBe(TRACE_ID); // still the same trace, just not recorded here
    const { tel: linking } = tracing({ ...linkAt, ignoreIncomingSampledFlag: true });
    expect(sampledFlag(consume(linking, 'q', '01'))).toBe(false);
    expect(ledger.ended).toHaveLength(0);
  });

  test('followCreationSampling: false stops the link from forcing sampling (a child still follows its parent)', () => {
    const { tel } = tracing({ ...linkAt, followCreationSampling: false });
    expect(sampledFlag(consume(tel, 'q', '01'))).toBe(false);
  });

  test('the combination for an untrusted destination: own trace, own sampling decision', () => {
    const { tel } = tracing({ policy: { destinations: { 'public-ingest': { mode: 'link' } } }, ignoreIncomingSampledFlag: true });
    const s = consume(tel, 'public-ingest', '01');
    expect(sampledFlag(s)).toBe(false);
    expect(s.spanContext().traceId).not.toBe(TRACE_ID);
  });

  test('with an always-on sampler, ignoring the flag records everything: the flag only ever turns sampling on', () => {
    const { provider } = providerWith([], new LinkSamplingSampler(new ParentBasedSampler({ root: new AlwaysOnSampler(), remoteParentNotSampled: new AlwaysOnSampler() })));
    const tel = new MessagingTelemetry({ system: 'aws_sqs', instrumentationName: 'trust', config: { ignoreIncomingSampledFlag: true, tracerProvider: provider } });
    expect(sampledFlag(consume(tel, 'q', '00'))).toBe(true);
  });
});

test('sanity: the test sampler types line up with the API', () => {
  const s: Sampler = new AlwaysOffSampler();
  expect(s.shouldSample(ROOT_CONTEXT, TRACE_ID, 'x', 0, {}, []).decision).toBe(SamplingDecision.NOT_RECORD);
});
