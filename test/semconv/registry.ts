// Reads the brokertrace semantic-conventions registry (semconv/) into plain maps, and scans the packages' sources
// and READMEs for the telemetry names they use: the two sides test/semconv-registry.test.ts holds together.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'yaml';

/** A parsed YAML value (the registry holds nothing else). */
export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };
const parseYaml = (source: string, _file: string): YamlValue => parse(source) as YamlValue;

export const root = join(__dirname, '..', '..');
export const semconvDir = join(root, 'semconv');

type Obj = { [key: string]: YamlValue };

export interface RegistryAttribute {
  readonly name: string;
  /** `string`, `int`, `double`, `boolean`, `string[]`, ... or `enum` (string members). */
  readonly type: string;
  readonly members: readonly string[] | undefined;
  readonly group: string;
  readonly raw: Obj;
}

export interface RegistryMetric {
  readonly name: string;
  readonly id: string;
  readonly instrument: string;
  readonly unit: string;
  /** Every attribute the metric may carry (its own refs and those of the groups it extends). */
  readonly attributes: ReadonlySet<string>;
  readonly raw: Obj;
}

export interface Registry {
  readonly manifest: Obj;
  readonly groups: readonly Obj[];
  readonly attributes: ReadonlyMap<string, RegistryAttribute>;
  readonly metrics: ReadonlyMap<string, RegistryMetric>;
  /** Attribute names referenced (`ref`) by any group: ours and the OpenTelemetry registry's. */
  readonly refs: ReadonlySet<string>;
  /** Span group id -> every attribute it lists (with its `ref_group`s and `extends` resolved). */
  readonly spans: ReadonlyMap<string, ReadonlySet<string>>;
}

/** A YAML scalar as text (a mapping or sequence where text belongs is a registry error). */
export function str(v: YamlValue | undefined): string {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new Error(`expected a scalar, got ${JSON.stringify(v)}`);
}

const isObj = (v: YamlValue | undefined): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: YamlValue | undefined): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

export function loadRegistry(dir = semconvDir): Registry {
  const manifest = parseYaml(readFileSync(join(dir, 'registry_manifest.yaml'), 'utf8'), 'registry_manifest.yaml');
  if (!isObj(manifest)) throw new Error('registry_manifest.yaml is not a mapping');
  const groups: Obj[] = [];
  for (const file of yamlFiles(join(dir, 'model'))) {
    const doc = parseYaml(readFileSync(file, 'utf8'), relative(root, file));
    if (!isObj(doc) || !Array.isArray(doc.groups)) throw new Error(`${relative(root, file)}: no groups`);
    groups.push(...list(doc.groups));
  }
  const byId = new Map(groups.map((g) => [str(g.id), g]));
  const attributes = new Map<string, RegistryAttribute>();
  const refs = new Set<string>();
  for (const g of groups) {
    for (const a of list(g.attributes)) {
      if (typeof a.ref === 'string') refs.add(a.ref);
      if (typeof a.id !== 'string') continue;
      const type = a.type;
      const members = isObj(type) ? list(type.members).map((m) => str(m.value)) : undefined;
      attributes.set(a.id, { name: a.id, type: members !== undefined ? 'enum' : str(type), members, group: str(g.id), raw: a });
    }
  }
  // Every attribute a group carries: its own, its ref_groups' and its extends' (transitively).
  const carried = (id: string, seen = new Set<string>()): Set<string> => {
    const g = byId.get(id);
    if (g === undefined) throw new Error(`unknown group ${id}`);
    if (seen.has(id)) throw new Error(`group cycle at ${id}`);
    seen.add(id);
    const out = new Set<string>();
    if (typeof g.extends === 'string') for (const n of carried(g.extends, seen)) out.add(n);
    for (const a of list(g.attributes)) {
      if (typeof a.ref_group === 'string') for (const n of carried(a.ref_group, seen)) out.add(n);
      const name = a.ref ?? a.id;
      if (typeof name === 'string') out.add(name);
    }
    seen.delete(id);
    return out;
  };
  const metrics = new Map<string, RegistryMetric>();
  const spans = new Map<string, Set<string>>();
  for (const g of groups) {
    if (g.type === 'metric') {
      const name = str(g.metric_name);
      metrics.set(name, { name, id: str(g.id), instrument: str(g.instrument), unit: str(g.unit), attributes: carried(str(g.id)), raw: g });
    } else if (g.type === 'span') spans.set(str(g.id), carried(str(g.id)));
  }
  return { manifest, groups, attributes, metrics, refs, spans };
}

/** The namespaces OpenTelemetry names we emit live in (a brokertrace package emits no other). */
export const OTEL_PREFIX = /^(messaging|server|network|error|aws)\./;

export interface SourceName {
  readonly name: string;
  readonly file: string;
  /** The exported constant it is bound to (`ATTR_...`, `METRIC_...`), if any. */
  readonly constant: string | undefined;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

export const packageDirs = (): string[] =>
  readdirSync(join(root, 'packages'))
    .map((p) => join(root, 'packages', p))
    .filter((p) => statSync(join(p, 'src'), { throwIfNoEntry: false })?.isDirectory() === true);

/**
 * Every telemetry name string literal in packages/<pkg>/src (comments aside): `brokertrace.*` and OpenTelemetry
 * ones. Symbol keys (`Symbol.for('brokertrace.pubsub.settleState')`) are not telemetry and are left out.
 */
export function scanSources(): SourceName[] {
  const out: SourceName[] = [];
  for (const dir of packageDirs()) {
    for (const file of tsFiles(join(dir, 'src'))) {
      const text = readFileSync(file, 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' '))
        .replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
      const literal = /(Symbol(?:\.for)?\(\s*)?(?:export\s+const\s+([A-Z0-9_]+)\s*(?::\s*\w+\s*)?=\s*)?(['"])((?:brokertrace|messaging|server|network|error|aws)\.[A-Za-z0-9_.]+)\3/g;
      for (const m of text.matchAll(literal)) {
        if (m[1] !== undefined) continue;
        out.push({ name: m[4]!, file: relative(root, file), constant: m[2] });
      }
    }
  }
  return out;
}

/**
 * `brokertrace.*` and `messaging.*` names in backticks in the packages' READMEs (`.temporary`-style shorthands
 * and package names aside; other namespaces hold JavaScript properties too, such as `error.option`).
 */
export function scanReadmes(): { name: string; file: string; line: number }[] {
  const out: { name: string; file: string; line: number }[] = [];
  for (const dir of packageDirs()) {
    const file = join(dir, 'README.md');
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const [i, line] of text.split('\n').entries()) {
      for (const m of line.matchAll(/`([^`]+)`/g)) {
        const name = /^(?:brokertrace|messaging)\.[a-z0-9_.]*[a-z0-9_]/.exec(m[1]!)?.[0];
        if (name !== undefined) out.push({ name, file: relative(root, file), line: i + 1 });
      }
    }
  }
  return out;
}

/** The string literal members of `type Name = 'a' | 'b' | ...` in a source file. */
export function unionMembers(file: string, typeName: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const m = new RegExp(`type\\s+${typeName}\\s*=\\s*([^;]+);`).exec(text);
  if (m === null) throw new Error(`type ${typeName} not found in ${file}`);
  return [...m[1]!.matchAll(/'([^']+)'/g)].map((x) => x[1]!);
}

/** `meter.createCounter(METRIC_X, { ... unit: 'u' ... })` calls in a source file: constant -> instrument, unit. */
export function createdInstruments(file: string): Map<string, { instrument: string; unit: string | undefined }> {
  const text = readFileSync(join(root, file), 'utf8');
  const out = new Map<string, { instrument: string; unit: string | undefined }>();
  for (const m of text.matchAll(/\.create(Counter|UpDownCounter|Histogram|Gauge)\(\s*([A-Z0-9_]+)\s*,\s*\{([\s\S]*?)\}\s*\)/g)) {
    const instrument = m[1]!.toLowerCase();
    out.set(m[2]!, { instrument, unit: /unit:\s*'([^']*)'/.exec(m[3]!)?.[1] });
  }
  return out;
}
