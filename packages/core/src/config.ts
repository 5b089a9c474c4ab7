import { BrokerTraceConfigError } from './errors.js';
import { ResolvedPolicy, createPolicy } from './policy.js';
import type { MessagingInstrumentationConfig } from './types.js';

/** The base configuration, validated, with the policy resolved and destination matching prepared. */
export interface ResolvedConfig {
  readonly config: MessagingInstrumentationConfig;
  readonly policy: ResolvedPolicy;
  readonly createSpans: boolean;
  readonly followCreationSampling: boolean;
  readonly ignoreIncomingSampledFlag: boolean;
  readonly ignoredNames: ReadonlySet<string>;
  readonly ignoredPatterns: readonly RegExp[];
  readonly ignorePredicate: ((destination: string) => boolean) | undefined;
  /** undefined: every baggage key travels. */
  readonly baggageAllowList: readonly (string | RegExp)[] | undefined;
}

function optionalBoolean(config: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const value = config[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new BrokerTraceConfigError(key, `expected a boolean, got ${typeof value}`);
  return value;
}

function stringOrRegExpList(value: unknown, option: string): (string | RegExp)[] {
  if (!Array.isArray(value)) throw new BrokerTraceConfigError(option, 'expected an array of strings and RegExps');
  const list: (string | RegExp)[] = [];
  value.forEach((item: unknown, i: number) => {
    if (typeof item !== 'string' && !(item instanceof RegExp)) {
      throw new BrokerTraceConfigError(`${option}[${i}]`, `expected a string or RegExp, got ${typeof item}`);
    }
    // A global or sticky RegExp keeps state between test() calls; match with a stateless copy.
    list.push(item instanceof RegExp && (item.global || item.sticky) ? new RegExp(item.source, item.flags.replace(/[gy]/g, '')) : item);
  });
  return list;
}

/**
 * Validates the options every broker package shares; throws {@link BrokerTraceConfigError} naming the first bad
 * option. Options a package adds on top are left for the package to check.
 */
export function resolveConfig(config: MessagingInstrumentationConfig | undefined): ResolvedConfig {
  const cfg = (config ?? {}) as MessagingInstrumentationConfig & Record<string, unknown>;
  if (typeof cfg !== 'object' || cfg === null) throw new BrokerTraceConfigError('config', `expected an object, got ${typeof config}`);
  const policy = createPolicy(cfg.policy);
  const createSpans = optionalBoolean(cfg, 'createSpans', true);
  const followCreationSampling = optionalBoolean(cfg, 'followCreationSampling', true);
  const ignoreIncomingSampledFlag = optionalBoolean(cfg, 'ignoreIncomingSampledFlag', false);

  const ignoredNames = new Set<string>();
  const ignoredPatterns: RegExp[] = [];
  let ignorePredicate: ((destination: string) => boolean) | undefined;
  const ignore: unknown = cfg.ignoreDestinations;
  if (typeof ignore === 'function') ignorePredicate = ignore as (destination: string) => boolean;
  else if (ignore !== undefined) {
    for (const item of stringOrRegExpList(ignore, 'ignoreDestinations')) {
      if (typeof item === 'string') ignoredNames.add(item);
      else ignoredPatterns.push(item);
    }
  }

  const allow: unknown = cfg.baggageAllowList;
  const baggageAllowList = allow === undefined ? undefined : stringOrRegExpList(allow, 'baggageAllowList');

  for (const key of ['tracerProvider', 'meterProvider'] as const) {
    const provider: unknown = cfg[key];
    const method = key === 'tracerProvider' ? 'getTracer' : 'getMeter';
    if (provider !== undefined && (typeof provider !== 'object' || provider === null || typeof (provider as Record<string, unknown>)[method] !== 'function')) {
      throw new BrokerTraceConfigError(key, `expected an object with ${method}()`);
    }
  }
  return {
    config: cfg,
    policy,
    createSpans,
    followCreationSampling,
    ignoreIncomingSampledFlag,
    ignoredNames,
    ignoredPatterns,
    ignorePredicate,
    baggageAllowList,
  };
}
