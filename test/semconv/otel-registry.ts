// The OpenTelemetry registry our registry extends, read offline from @opentelemetry/semantic-conventions (generated
// from that registry, pinned to the version semconv/registry_manifest.yaml names): every attribute and metric name,
// whether it is deprecated, and the values of enum attributes. It stands in for weaver's "does not exist in the
// registry" and "deprecated" findings where weaver cannot run.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface OtelName {
  readonly name: string;
  readonly deprecated: boolean;
}

export interface OtelRegistry {
  readonly version: string;
  readonly attributes: ReadonlyMap<string, OtelName>;
  readonly metrics: ReadonlyMap<string, OtelName>;
  /** Enum values by constant prefix, e.g. `MESSAGING_SYSTEM` -> {'kafka', 'rabbitmq', ...}. */
  readonly values: ReadonlyMap<string, ReadonlySet<string>>;
}

// `/** doc */` (optional) then `declare const NAME: "value";`, as the package's declaration files are generated.
const DECLARATION = /(\/\*\*(?:(?!\*\/)[\s\S])*\*\/\s*)?declare const ([A-Z0-9_]+): "([^"]+)";/g;

export function loadOtelRegistry(): OtelRegistry {
  // Its exports map hides package.json: go up from the entry point, dist/index.cjs.
  const dist = dirname(require.resolve('@opentelemetry/semantic-conventions'));
  const version = (JSON.parse(readFileSync(join(dist, '..', 'package.json'), 'utf8')) as { version: string }).version;
  const attributes = new Map<string, OtelName>();
  const metrics = new Map<string, OtelName>();
  const values = new Map<string, Set<string>>();
  for (const file of ['stable_attributes', 'experimental_attributes', 'stable_metrics', 'experimental_metrics']) {
    const text = readFileSync(join(dist, `${file}.d.cts`), 'utf8');
    for (const [, doc, constant, value] of text.matchAll(DECLARATION)) {
      const entry = { name: value!, deprecated: doc?.includes('@deprecated') ?? false };
      if (constant!.startsWith('ATTR_')) attributes.set(value!, entry);
      else if (constant!.startsWith('METRIC_')) metrics.set(value!, entry);
      else {
        const at = constant!.indexOf('_VALUE_');
        if (at > 0) values.set(constant!.slice(0, at), (values.get(constant!.slice(0, at)) ?? new Set()).add(value!));
      }
    }
  }
  return { version, attributes, metrics, values };
}
