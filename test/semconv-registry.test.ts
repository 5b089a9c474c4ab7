// The semantic-conventions registry in semconv/ and the code agree, both ways: every brokertrace.* name a package
// can emit is in the registry with the same type (and enum values), every registry entry is emitted by some
// package, every OpenTelemetry name a package emits is referenced where it appears, and the READMEs mention only
// names that exist. The registry's own shape follows weaver's syntax and the conventions' naming rules. Every
// OpenTelemetry name a package emits exists, not deprecated, in the OpenTelemetry registry ours extends.
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { AttributeValue, Attributes } from '@opentelemetry/api';
import * as core from '@brokertrace/core';
import { MessagingTelemetry } from '@brokertrace/core';
import { setupTestTelemetry } from '@brokertrace/testing';
import { createdInstruments, loadRegistry, packageDirs, root, str, OTEL_PREFIX, scanReadmes, scanSources, unionMembers } from './semconv/registry';
import type { RegistryAttribute, YamlValue } from './semconv/registry';
import { loadOtelRegistry } from './semconv/otel-registry';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const registry = loadRegistry();
const sources = scanSources();
const ours = (name: string): boolean => name.startsWith('brokertrace.');
const sourceNames = (pred: (n: string) => boolean) => [...new Set(sources.map((s) => s.name).filter(pred))].sort();
/** OpenTelemetry metric names core records (the OpenTelemetry registry defines them; ours does not). */
const otelMetrics = new Set(
  Object.entries(core)
    .filter(([k, v]) => k.startsWith('METRIC_MESSAGING_') && typeof v === 'string')
    .map(([, v]) => v as string),
);

/** Types of the names no in-memory run below reaches (their packages need a broker): what the code assigns. */
const PACKAGE_ATTRIBUTE_TYPES: Record<string, string> = {
  'brokertrace.message.settlement': 'enum', // AmqplibSettlement
  'brokertrace.kafka.transactional': 'boolean', // `= true`
  'brokertrace.kafka.transaction.outcome': 'enum', // Outcome
  'brokertrace.kafka.transaction.topics': 'string[]', // [...txn.topics].sort()
  'brokertrace.kafka.commit.partitions': 'int', // partitions.length
  'brokertrace.gcp_pubsub.dead_letter.source_subscription': 'string',
  'brokertrace.gcp_pubsub.dead_letter.source_delivery_count': 'int', // Number.isInteger(count)
  'brokertrace.gcp_pubsub.ack_response': 'string', // typeof response === 'string'
  'brokertrace.gcp_pubsub.exactly_once_delivery': 'boolean', // `= true`
  'brokertrace.sqs.batch.failed_count': 'int', // failed.length
  'brokertrace.sqs.sns_envelope': 'boolean', // `= true`
  'brokertrace.context.field': 'string', // a metric attribute: the field name
  'brokertrace.servicebus.message.sequence_number': 'int', // typeof seq === 'number'
  'brokertrace.servicebus.sequence_numbers': 'string[]', // Longs as decimal strings
  'brokertrace.servicebus.batch.rejected': 'boolean',
  'brokertrace.servicebus.locked_until': 'int', // ms since the epoch
  'brokertrace.servicebus.dead_letter.reason': 'string', // reason.slice(0, 256)
};

/** Enum attributes and the TypeScript union type holding their values in the code. */
const ENUM_SOURCES: Record<string, [file: string, type: string]> = {
  'brokertrace.decision.relationship': ['packages/core/src/types.ts', 'Relationship'],
  'brokertrace.decision.reason': ['packages/core/src/types.ts', 'DecisionReason'],
  'brokertrace.message.settlement': ['packages/amqplib/src/types.ts', 'AmqplibSettlement'],
  'brokertrace.kafka.transaction.outcome': ['packages/kafkajs/src/transaction.ts', 'Outcome'],
};

function matchesType(attribute: RegistryAttribute, value: AttributeValue): boolean {
  const scalar = (t: string, v: unknown): boolean =>
    t === 'string' ? typeof v === 'string' : t === 'boolean' ? typeof v === 'boolean' : t === 'int' ? Number.isInteger(v) : t === 'double' ? typeof v === 'number' : false;
  if (attribute.type === 'enum') return typeof value === 'string' && attribute.members!.includes(value);
  if (attribute.type.endsWith('[]')) return Array.isArray(value) && value.every((v) => scalar(attribute.type.slice(0, -2), v));
  return scalar(attribute.type, value);
}

describe('the registry itself', () => {
  test('the manifest names our registry and extends the OpenTelemetry registry v1.44.0 or later', () => {
    const m = registry.manifest;
    expect(m).toMatchObject({ name: 'brokertrace', semconv_version: expect.any(String), schema_base_url: expect.stringMatching(/^https:\/\//) });
    expect(typeof m.description).toBe('string');
    const deps = m.dependencies as { name: string; registry_path: string }[];
    expect(deps).toHaveLength(1); // weaver takes one direct dependency
    const version = /semantic-conventions\/archive\/refs\/tags\/v(\d+)\.(\d+)\.\d+\.zip\[model\]$/.exec(deps[0]!.registry_path);
    expect(version).not.toBeNull();
    expect(Number(version![1]) > 1 || Number(version![2]) >= 44).toBe(true);
  });

  test('groups follow weaver syntax: ids, types, stability, briefs, examples, requirement levels', () => {
    const ids = registry.groups.map((g) => g.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const g of registry.groups) {
      expect([g.id, ['attribute_group', 'span', 'metric'].includes(str(g.type))]).toEqual([g.id, true]);
      expect([g.id, typeof g.brief]).toEqual([g.id, 'string']);
      if (g.type === 'span') expect([g.id, g.stability, ['producer', 'consumer', 'client'].includes(str(g.span_kind))]).toEqual([g.id, 'development', true]);
      if (g.type === 'metric') expect([g.id, g.stability, g.id]).toEqual([g.id, 'development', `metric.${str(g.metric_name)}`]);
      const defines = (g.attributes as { id?: string }[] | undefined)?.some((a) => a.id !== undefined) ?? false;
      // Attributes are defined once, in registry groups; everything else references them.
      expect([g.id, defines]).toEqual([g.id, str(g.id).startsWith('registry.brokertrace.')]);
      for (const a of (g.attributes ?? []) as Record<string, unknown>[]) {
        const level = a.requirement_level;
        if (level !== undefined) {
          const ok = typeof level === 'string' ? ['required', 'recommended', 'opt_in'].includes(level) : Object.keys(level as object).length === 1 && ['conditionally_required', 'recommended'].includes(Object.keys(level as object)[0]!);
          expect([g.id, a.ref, ok]).toEqual([g.id, a.ref, true]);
        }
      }
    }
    for (const a of registry.attributes.values()) {
      expect([a.name, a.raw.stability, typeof a.raw.brief, Array.isArray(a.raw.examples) && a.raw.examples.length > 0]).toEqual([a.name, 'development', 'string', true]);
      const examples = a.raw.examples as AttributeValue[];
      for (const e of examples) expect([a.name, e, matchesType(a, e)]).toEqual([a.name, e, true]);
      if (a.type === 'enum') {
        for (const m of (a.raw.type as { members: Record<string, unknown>[] }).members) {
          expect([a.name, m.id, m.stability, /^[a-z][a-z0-9_]*$/.test(str(m.id as YamlValue)), typeof m.brief]).toEqual([a.name, m.id, 'development', true, 'string']);
        }
      } else expect(['string', 'int', 'double', 'boolean', 'string[]', 'int[]', 'double[]', 'boolean[]']).toContain(a.type);
    }
    // Every ref resolves: to one of ours, or to an OpenTelemetry name (checked against the code below).
    for (const ref of registry.refs) expect([ref, registry.attributes.has(ref) || OTEL_PREFIX.test(ref)]).toEqual([ref, true]);
  });

  test('naming rules: lowercase dotted names, no name that is also a namespace, no unit in a name, one universe', () => {
    const attributes = [...registry.attributes.keys()];
    const metrics = [...registry.metrics.keys()];
    const found: Record<string, string> = {};
    for (const n of [...attributes, ...metrics]) expect([n, /^brokertrace(\.[a-z][a-z0-9_]*)+$/.test(n)]).toEqual([n, true]);
    for (const n of attributes) {
      if (attributes.some((o) => o.startsWith(n + '.'))) found[n] = 'an attribute name that is also a namespace';
      if (/_(ms|s|sec|seconds|bytes|kb|mb|pct|percent)$/.test(n)) found[n] = 'unit in the name of an attribute whose unit can still change';
      if (metrics.includes(n)) found[n] = 'an attribute and a metric share the name (metric names and attributes live in one universe)';
    }
    for (const n of metrics) {
      if (metrics.some((o) => o.startsWith(n + '.'))) found[n] = 'a metric name that is also a namespace';
      if (/[._](ms|seconds|bytes|total)$/.test(n)) found[n] = 'unit (or total) in a metric name';
    }
    expect(found).toEqual({}); // each name that breaks a rule, with the rule it breaks
  });
});

describe('registry and code agree', () => {
  test('every brokertrace.* name in packages/*/src is in the registry, and every registry entry is in the code', () => {
    const code = sourceNames(ours);
    const registered = [...new Set([...registry.attributes.keys(), ...registry.metrics.keys()])].sort();
    expect(code).toEqual(registered);
    // Constants say what they name: METRIC_* are metrics, ATTR_* attributes.
    for (const s of sources.filter((x) => ours(x.name) && x.constant !== undefined)) {
      if (s.constant!.startsWith('METRIC_')) expect([s.constant, registry.metrics.has(s.name)]).toEqual([s.constant, true]);
      else if (s.constant!.startsWith('ATTR_')) expect([s.constant, registry.attributes.has(s.name)]).toEqual([s.constant, true]);
    }
  });

  test('every OpenTelemetry attribute a package emits is referenced where it appears, and every reference is emitted', () => {
    const otel = sourceNames((n) => OTEL_PREFIX.test(n) && !otelMetrics.has(n));
    const referenced = [...registry.refs].filter((r) => !ours(r)).sort();
    expect(referenced).toEqual(otel);
  });

  test('enum members are exactly the values the code can assign', () => {
    const enums = [...registry.attributes.values()].filter((a) => a.type === 'enum').map((a) => a.name).sort();
    expect(enums).toEqual(Object.keys(ENUM_SOURCES).sort());
    for (const [name, [file, type]] of Object.entries(ENUM_SOURCES)) {
      expect([name, [...registry.attributes.get(name)!.members!].sort()]).toEqual([name, unionMembers(file, type).sort()]);
    }
  });

  test('metrics: the instrument and unit core creates are the registry\'s', () => {
    const created = createdInstruments('packages/core/src/messaging-metrics.ts');
    const ourConstants = Object.entries(core).filter(([k]) => k.startsWith('METRIC_BROKERTRACE_'));
    expect(ourConstants.map(([, v]) => v).sort()).toEqual([...registry.metrics.keys()].sort());
    for (const [constant, name] of ourConstants) {
      const metric = registry.metrics.get(name as string)!;
      expect([constant, created.get(constant)]).toEqual([constant, { instrument: metric.instrument, unit: metric.unit }]);
    }
  });

  test('attribute types: what an in-memory run records, and what the packages assign, match the registry', () => {
    const registryTypes = Object.fromEntries([...registry.attributes.values()].map((a) => [a.name, a.type]));
    const reachedByRun = ['brokertrace.decision.relationship', 'brokertrace.decision.reason', 'brokertrace.message.queue_time', 'brokertrace.message.delivery_count', 'brokertrace.context.dropped_fields', 'brokertrace.link.follow_sampling'];
    // Together the two lists cover every attribute, once.
    expect([...reachedByRun, ...Object.keys(PACKAGE_ATTRIBUTE_TYPES)].sort()).toEqual(Object.keys(registryTypes).sort());
    for (const [name, type] of Object.entries(PACKAGE_ATTRIBUTE_TYPES)) expect([name, type]).toEqual([name, registryTypes[name]]);
  });
});

describe('against the OpenTelemetry registry our manifest extends (what weaver would report, offline)', () => {
  const otel = loadOtelRegistry();
  const status = (names: string[], table: ReadonlyMap<string, { deprecated: boolean }>) =>
    names.map((n) => [n, table.has(n) ? (table.get(n)!.deprecated ? 'deprecated' : 'ok') : 'not in the registry']);

  test('the names are read from the version the manifest names', () => {
    const deps = registry.manifest.dependencies as { registry_path: string }[];
    expect(deps[0]!.registry_path).toContain(`/v${otel.version}.zip`);
    expect(otel.attributes.size).toBeGreaterThan(500); // the reader found the declarations
    expect(otel.attributes.get('messaging.kafka.message.offset')?.deprecated).toBe(true); // and their deprecations
  });

  test('every OpenTelemetry attribute and metric a package emits or the registry references exists and is not deprecated', () => {
    const attributes = [...new Set([...sourceNames((n) => OTEL_PREFIX.test(n) && !otelMetrics.has(n)), ...[...registry.refs].filter((r) => !ours(r))])].sort();
    expect(status(attributes, otel.attributes)).toEqual(attributes.map((n) => [n, 'ok']));
    const metrics = [...otelMetrics].sort();
    expect(status(metrics, otel.metrics)).toEqual(metrics.map((n) => [n, 'ok']));
  });

  test('messaging.system and messaging.operation.type take only registered values', () => {
    const tracingFiles = packageDirs().map((dir) => join(dir, 'src', 'tracing.ts')).filter((f) => existsSync(f));
    const systems = tracingFiles.flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/\bsystem: '([^']+)'/g)].map((m) => m[1]!));
    expect(systems.length).toBeGreaterThanOrEqual(5);
    for (const s of systems) expect([s, otel.values.get('MESSAGING_SYSTEM')?.has(s)]).toEqual([s, true]);
    const operationTypes = Object.entries(core).filter(([k]) => k.startsWith('MESSAGING_OPERATION_TYPE_VALUE_')).map(([, v]) => v as string);
    for (const v of operationTypes) expect([v, otel.values.get('MESSAGING_OPERATION_TYPE')?.has(v)]).toEqual([v, true]);
  });
});

describe('a real run through core: spans, links and metrics hold only registered names of the registered types', () => {
  const t = setupTestTelemetry();
  beforeEach(() => t.reset());

  test('send, process, batch receive, settle', async () => {
    const tel = new MessagingTelemetry({ system: 'rabbitmq', instrumentationName: 'semconv-test', config: { followCreationSampling: false } });
    const metricAttributes = { 'server.address': 'broker', 'server.port': 5672 };
    const send = tel.startSend({ destination: 'orders', metricAttributes, messages: [{ existing: {} }] });
    const carrier = send.injections[0]!.fields;
    tel.end(send.span);
    const tight = tel.startSend({ destination: 'orders', metricAttributes, messages: [{ existing: {}, limits: { maxEntries: 0 } }] });
    tel.end(tight.span);
    const facts = { enqueuedAtMs: Date.now() - 1500, deliveryCount: 2, messageId: 'm-1' };
    tel.end(tel.startProcess({ destination: 'orders', metricAttributes, facts, carrier }).span);
    tel.end(tel.startProcess({ destination: 'orders', metricAttributes, facts: {}, carrier: {} }).span);
    const batch = tel.startBatch({ destination: 'orders', operationType: 'receive', metricAttributes, messages: [{ facts, carrier }, { facts: {} }] });
    tel.end(batch.span);
    tel.end(tel.startSettle({ destination: 'orders', operationName: 'ack', parent: trace.setSpan(ROOT_CONTEXT, batch.span) }));

    const seen = new Map<string, AttributeValue[]>();
    const collect = (attributes: Attributes | undefined) => {
      for (const [k, v] of Object.entries(attributes ?? {})) if (ours(k) && v !== undefined) seen.set(k, [...(seen.get(k) ?? []), v]);
    };
    for (const span of t.spans()) {
      collect(span.attributes);
      for (const link of span.links) collect(link.attributes);
    }
    // The run reached every core attribute (else the list in the type test above would be a guess).
    expect([...seen.keys()].sort()).toEqual(
      ['brokertrace.context.dropped_fields', 'brokertrace.decision.reason', 'brokertrace.decision.relationship', 'brokertrace.link.follow_sampling', 'brokertrace.message.delivery_count', 'brokertrace.message.queue_time'],
    );
    for (const [name, values] of seen) {
      const attribute = registry.attributes.get(name);
      expect([name, attribute !== undefined]).toEqual([name, true]);
      for (const v of values) expect([name, v, matchesType(attribute!, v)]).toEqual([name, v, true]);
    }
    // Where each appears is where the span groups say.
    const process = t.spans().find((s) => s.name === 'process orders' && s.attributes['brokertrace.message.queue_time'] !== undefined)!;
    const processGroup = registry.spans.get('span.brokertrace.process.consumer')!;
    for (const k of Object.keys(process.attributes)) expect([k, processGroup.has(k)]).toEqual([k, true]);
    const sendGroup = registry.spans.get('span.brokertrace.send.producer')!;
    for (const s of t.spans().filter((x) => x.name === 'send orders')) for (const k of Object.keys(s.attributes)) expect([k, sendGroup.has(k)]).toEqual([k, true]);

    const metrics = await t.metrics();
    const recorded = Object.keys(metrics).filter(ours).sort();
    expect(recorded).toEqual([...registry.metrics.keys()].sort());
    for (const name of recorded) {
      const metric = registry.metrics.get(name)!;
      for (const point of metrics[name]!) {
        expect([name, point.kind]).toEqual([name, metric.instrument === 'histogram' ? 'histogram' : 'sum']);
        for (const k of Object.keys(point.attributes)) expect([name, k, metric.attributes.has(k)]).toEqual([name, k, true]);
        for (const [k, v] of Object.entries(point.attributes)) {
          const attribute = registry.attributes.get(k);
          if (attribute !== undefined && v !== undefined) expect([name, k, v, matchesType(attribute, v)]).toEqual([name, k, v, true]);
        }
      }
    }
  });
});

describe('READMEs', () => {
  test('the packages\' READMEs mention only names that exist: ours, or OpenTelemetry ones we reference', () => {
    const known = new Set([...registry.attributes.keys(), ...registry.metrics.keys(), ...registry.refs, ...otelMetrics]);
    const unknown = scanReadmes().filter((r) => !known.has(r.name)).map((r) => `${r.file}:${r.line} ${r.name}`);
    expect(unknown).toEqual([]);
  });

  test('each package\'s README names every brokertrace.* attribute and metric its own code emits', () => {
    const missing: string[] = [];
    for (const dir of packageDirs()) {
      const readme = join(dir, 'README.md');
      if (!existsSync(readme)) continue;
      const text = readFileSync(readme, 'utf8');
      const own = new Set(sources.filter((x) => ours(x.name) && x.file.startsWith(`${relative(root, dir)}/src/`)).map((x) => x.name));
      for (const name of own) if (!text.includes(`\`${name}\``)) missing.push(`${relative(root, readme)}: ${name}`);
    }
    expect(missing.sort()).toEqual([]);
  });
});
