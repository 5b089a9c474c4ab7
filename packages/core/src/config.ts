// The shared options every package accepts: validated once (BrokerTraceConfigError naming the option) and
// resolved into what the hot path reads (policy, ignore lists, baggage allow-list, templates).
import { BrokerTraceConfigError } from './errors.js';
import { ResolvedPolicy, createPolicy } from './policy.js';
import type { MessagingInstrumentationConfig } from './types.js';

/** Default of `maxMetricDestinations`. */
export const DEFAULT_MAX_METRIC_DESTINATIONS = 100;

/** Top-level keys of {@link MessagingInstrumentationConfig}, plus `enabled` (OpenTelemetry's InstrumentationConfig). */
export const CORE_CONFIG_KEYS: readonly string[] = Object.freeze([
  'enabled',
  'policy',
  'ignoreDestinations',
  'createSpans',
  'baggageAllowList',
  'followCreationSampling',
  'ignoreIncomingSampledFlag',
  'tracerProvider',
  'meterProvider',
  'existingContext',
  'destinationTemplate',
  'maxMetricDestinations',
]);

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
  readonly keepExistingContext: boolean;
  readonly destinationTemplate: ((destination: string) => string | undefined) | undefined;
  readonly maxMetricDestinations: number;
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
 * option. Options a package adds on top are left for the package to check, but must be named in
 * `packageOptions`: any other top-level key is rejected (a misspelt option must not be silently ignored).
 * Without `packageOptions`, unknown keys are not checked.
 */
export function resolveConfig(
  config: MessagingInstrumentationConfig | undefined,
  packageOptions?: readonly string[],
  /** The configuration this one replaces: its duplicate windows are kept where their size did not change. */
  previous?: ResolvedConfig,
): ResolvedConfig {
  const cfg = (config ?? {}) as MessagingInstrumentationConfig & Record<string, unknown>;
  if (typeof cfg !== 'object' || cfg === null) throw new BrokerTraceConfigError('config', `expected an object, got ${typeof config}`);
  if (packageOptions !== undefined) {
    for (const key of Object.keys(cfg)) {
      if (!CORE_CONFIG_KEYS.includes(key) && !packageOptions.includes(key)) throw new BrokerTraceConfigError(key, 'unknown option');
    }
  }
  const policy = createPolicy(cfg.policy, 'policy', previous?.policy);
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
  const existing: unknown = cfg.existingContext;
  if (existing !== undefined && existing !== 'keep' && existing !== 'replace') {
    throw new BrokerTraceConfigError('existingContext', `expected 'keep' or 'replace', got ${JSON.stringify(existing)}`);
  }
  const template: unknown = cfg.destinationTemplate;
  if (template !== undefined && typeof template !== 'function') {
    throw new BrokerTraceConfigError('destinationTemplate', `expected a function, got ${typeof template}`);
  }
  const maxDestinations: unknown = cfg.maxMetricDestinations ?? DEFAULT_MAX_METRIC_DESTINATIONS;
  if (typeof maxDestinations !== 'number' || !Number.isInteger(maxDestinations) || maxDestinations < 1) {
    throw new BrokerTraceConfigError('maxMetricDestinations', `expected an integer >= 1, got ${JSON.stringify(maxDestinations)}`);
  }
  return {
    config: cfg,
    keepExistingContext: existing !== 'replace',
    destinationTemplate: template as ((destination: string) => string | undefined) | undefined,
    maxMetricDestinations: maxDestinations,
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
