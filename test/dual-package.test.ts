// One copy of each package per process, whatever mix of `require` and `import` loads it (B4, the dual-package
// hazard): in a real Node process, a CommonJS module and an ES module that load the same package get the very
// same objects, so module state (WeakMaps, depth counters, the patch registry) and classes exist once. And the
// type declarations of both conditions are one set: a class from `import` is the class from `require`.
import { join } from 'node:path';
import { published, root, scratchProject, type ScratchProject } from './scratch-project';

const names = published.map((p) => p.manifest.name);
let project: ScratchProject;

beforeAll(() => {
  project = scratchProject('brokertrace-dual-');
  for (const { dir, manifest } of published) project.link(manifest.name, dir);
  project.link('@opentelemetry/api', join(root, 'node_modules', '@opentelemetry', 'api'));
  project.write({
    // What each module system sees, compared by identity in the ESM module that runs last.
    'compare.mjs': `
      export function compare(required, imported) {
        const cjsKeys = Object.keys(required).sort();
        const esmKeys = Object.keys(imported).filter((k) => k !== 'default').sort();
        return {
          count: cjsKeys.length,
          onlyRequire: cjsKeys.filter((k) => !esmKeys.includes(k)),
          onlyImport: esmKeys.filter((k) => !cjsKeys.includes(k)),
          notSame: cjsKeys.filter((k) => esmKeys.includes(k) && imported[k] !== required[k]),
        };
      }`,
    // `node --require ./preload.cjs main.mjs`: the usual shape of a tracing setup in front of an ESM app.
    'preload.cjs': `globalThis.__required = (name) => require(name);\nrequire(process.env.PACKAGE);`,
    'import-first.mjs': `
      import { compare } from './compare.mjs';
      const imported = await import(process.env.PACKAGE);
      const required = globalThis.__required(process.env.PACKAGE);
      console.log(JSON.stringify(compare(required, imported)));`,
    // The other order: an ES module imports first, a CommonJS module it loads later requires.
    'late.cjs': `module.exports = require(process.env.PACKAGE);`,
    'require-later.mjs': `
      import { compare } from './compare.mjs';
      const imported = await import(process.env.PACKAGE);
      const { default: required } = await import('./late.cjs');
      console.log(JSON.stringify(compare(required, imported)));`,
  });
});
afterAll(() => project.remove());

function run(name: string, args: string[]): { count: number; onlyRequire: string[]; onlyImport: string[]; notSame: string[] } {
  return JSON.parse(project.node(args, { PACKAGE: name })) as ReturnType<typeof run>;
}

describe.each(names)('%s', (name) => {
  test('a --require preload and the ESM application share every export (===)', () => {
    const found = run(name, ['--require', './preload.cjs', 'import-first.mjs']);
    expect(found.count).toBeGreaterThan(0);
    expect(found).toEqual({ count: found.count, onlyRequire: [], onlyImport: [], notSame: [] });
  });

  test('a CommonJS module loaded after the ESM import gets the same exports (===)', () => {
    const found = run(name, ['require-later.mjs']);
    expect(found).toEqual({ count: found.count, onlyRequire: [], onlyImport: [], notSame: [] });
  });
});

test('the types of `import` and `require` are the same declarations (a class from one is the class from the other)', () => {
  // One TypeScript program in the strictest resolution (nodenext) reads both conditions of every package;
  // distinct declarations of a class with private members would not be assignable to each other.
  const checks = published.map(({ manifest }, i) => {
    const file = `check${i}.mts`;
    return [
      file,
      `import * as esm from '${manifest.name}';
       import type * as cjs from '${manifest.name}' with { 'resolution-mode': 'require' };
       // (TypeScript gives an imported CommonJS namespace a \`default\`, the module itself, as Node does.)
       export const sameValues: Omit<typeof cjs, 'default'> = esm;
       export const sameBack: typeof esm = {} as typeof cjs;
       ${classChecks(manifest.name)}`,
    ] as const;
  });
  project.write({
    ...Object.fromEntries(checks),
    'tsconfig.json': JSON.stringify({
      compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, types: [], skipLibCheck: true },
      files: checks.map(([file]) => file),
    }),
  });
  const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
  expect(project.node([tsc, '-p', 'tsconfig.json'])).toBe('');
});

/** For a package with exported classes: an instance type from `import` is assignable both ways with `require`'s. */
function classChecks(name: string): string {
  const classes: Record<string, string[]> = {
    '@brokertrace/core': ['BrokerTraceConfigError', 'MessagingTelemetry'],
    '@brokertrace/kafkajs': ['KafkaJsInstrumentation'],
    '@brokertrace/amqplib': ['AmqplibInstrumentation'],
  };
  return (classes[name] ?? [])
    .map((c) => `export const to${c} = (x: esm.${c}): cjs.${c} => x; export const from${c} = (x: cjs.${c}): esm.${c} => x;`)
    .join('\n');
}
