// Pins the module structure of ARCHITECTURE.md on the real source tree: no import cycles, cross-module imports
// only through `src/<module>/index.ts`, and only along the dependency table below. The checker itself is tested
// first on small in-memory trees, so a green run means the rules were applied, not that the checker saw nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkArchitecture, extractImports, findCycles, readSourceTree, type DependencyTable } from './support/architecture.js';

/** From ARCHITECTURE.md, "Modules (`src/`), and what each may import". Change both together. */
const DEPENDENCIES: DependencyTable = {
  core: [],
  engine: ['core'],
  models: ['engine', 'core'],
  data: ['storage', 'core'],
  features: ['data', 'core'],
  train: ['engine', 'models', 'data', 'features', 'storage', 'core'],
  eval: ['engine', 'models', 'data', 'features', 'storage', 'core'],
  tune: ['train', 'storage', 'core'],
  registry: ['storage', 'core'],
  storage: ['core'],
  dispatch: ['core', 'storage'],
  cluster: ['core', 'storage'],
  serve: ['engine', 'registry', 'data', 'features', 'core'],
  gateway: ['serve', 'cluster', 'core'],
  pipeline: ['core', 'data', 'features', 'models', 'train', 'tune', 'eval', 'registry', 'storage', 'serve'],
  api: '*',
  cli: '*',
};

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

test('src/ has no import cycles, no reaching into other modules, and follows the dependency table', () => {
  const files = readSourceTree(repoRoot, 'src');
  const { edges, violations } = checkArchitecture(files, { srcRoot: 'src', table: DEPENDENCIES });
  assert.ok(edges.length > 0, 'found no imports at all under src/; is the scan broken?');
  assert.deepEqual(violations, [], `\n${violations.join('\n')}\n`);
});

test('the dependency table itself has no cycles among restricted modules', () => {
  const graph = new Map<string, Set<string>>();
  for (const [module, allowed] of Object.entries(DEPENDENCIES)) {
    graph.set(module, new Set(allowed === '*' ? [] : allowed));
    if (allowed !== '*') for (const dep of allowed) assert.ok(dep in DEPENDENCIES, `${module} lists unknown module ${dep}`);
  }
  assert.deepEqual(findCycles(graph), []);
});

// --- the checker on fixtures -------------------------------------------------------------------------------

test('extractImports finds static, type, re-export, side-effect and dynamic imports with lines', () => {
  const source = [
    "import { a } from './a.js';", // 1
    "import type { B } from '../b/index.js';", // 2
    'import {', // 3
    '  c,', // 4
    '  d, // trailing comment', // 5
    "} from './cd.js';", // 6
    "export * from './all.js';", // 7
    "export { e as f } from './e.js'", // 8
    "import './side-effect.js';", // 9
    "const lazy = await import('./lazy.js');", // 10
    "import fs from 'node:fs';", // 11
  ].join('\n');
  assert.deepEqual(
    extractImports(source).map((r) => [r.specifier, r.line, r.kind]),
    [
      ['./a.js', 1, 'static'],
      ['../b/index.js', 2, 'static'],
      ['./cd.js', 3, 'static'],
      ['./all.js', 7, 'static'],
      ['./e.js', 8, 'static'],
      ['./side-effect.js', 9, 'side-effect'],
      ['./lazy.js', 10, 'dynamic'],
      ['node:fs', 11, 'static'],
    ],
  );
});

test('extractImports ignores imports inside comments, strings and templates', () => {
  const source = [
    "// import { x } from './commented.js';",
    '/*',
    "import { y } from './block.js';",
    "await import('./block-dynamic.js');",
    '*/',
    "const text = \"import z from './in-string.js'\";",
    'const generated = `',
    "import w from './in-template.js';",
    '`;',
    "const quoteRegex = /'/g; const half = 1 / 2; const slash = /\\//;",
    "import { real } from './real.js';",
    'const t = `${half}`;',
    "export { real as again } from './real-again.js';",
  ].join('\n');
  assert.deepEqual(
    extractImports(source).map((r) => `${r.specifier}@${r.line}`),
    ['./real.js@11', './real-again.js@13'],
  );
});

const FIXTURE_TABLE: DependencyTable = { core: [], engine: ['core'], models: ['engine', 'core'], cli: '*' };

function fixture(entries: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(entries));
}

test('a clean tree passes', () => {
  const files = fixture({
    'src/core/index.ts': "export * from './errors.js';",
    'src/core/errors.ts': 'export class E {}',
    'src/engine/index.ts': "export { graph } from './graph.js';",
    'src/engine/graph.ts': "import { E } from '../core/index.js';\nimport { shape } from './ops/shape.js';\nexport const graph = 1;",
    'src/engine/ops/shape.ts': "import type { E } from '../../core/index.js';\nexport const shape = 2;",
    'src/cli/main.ts': "import { graph } from '../engine/index.js';\nimport pkg from '../../package.json' with { type: 'json' };\nconst c = await import('../core/index.js');",
  });
  const result = checkArchitecture(files, { srcRoot: 'src', table: FIXTURE_TABLE });
  assert.deepEqual(result.violations, []);
  assert.equal(result.edges.filter((e) => e.to?.startsWith('src/')).length, 7);
});

test('a file-level import cycle is reported as a closed path', () => {
  const files = fixture({
    'src/engine/index.ts': "export * from './a.js';",
    'src/engine/a.ts': "import { b } from './b.js';",
    'src/engine/b.ts': "import { c } from './c.js';",
    'src/engine/c.ts': "import type { A } from './a.js';",
    'src/engine/self.ts': "import { me } from './self.js';",
  });
  const result = checkArchitecture(files, { srcRoot: 'src', table: FIXTURE_TABLE });
  assert.deepEqual(result.cycles, [
    ['src/engine/a.ts', 'src/engine/b.ts', 'src/engine/c.ts', 'src/engine/a.ts'],
    ['src/engine/self.ts', 'src/engine/self.ts'],
  ]);
  assert.deepEqual(result.violations, [
    'import cycle: src/engine/a.ts -> src/engine/b.ts -> src/engine/c.ts -> src/engine/a.ts',
    'import cycle: src/engine/self.ts -> src/engine/self.ts',
  ]);
});

test('importing another module\'s internal file is reported with the entry to use', () => {
  const files = fixture({
    'src/core/index.ts': "export * from './errors.js';",
    'src/core/errors.ts': 'export class E {}',
    'src/engine/index.ts': "import { E } from '../core/errors.js';",
  });
  const { violations } = checkArchitecture(files, { srcRoot: 'src', table: FIXTURE_TABLE });
  assert.deepEqual(violations, [
    'src/engine/index.ts:1 imports src/core/errors.ts, an internal file of core/; import from src/core/index.ts instead (export it there if needed)',
  ]);
});

test('a dependency outside the table is reported, also through dynamic import', () => {
  const files = fixture({
    'src/core/index.ts': "const m = await import('../models/index.js');",
    'src/engine/index.ts': "import { mlp } from '../models/index.js';",
    'src/models/index.ts': "import { g } from '../engine/index.js';",
  });
  const { violations } = checkArchitecture(files, { srcRoot: 'src', table: FIXTURE_TABLE });
  assert.ok(violations.includes('src/core/index.ts:1 core/ imports models/ ("../models/index.js"), but core/ may import only nothing of ours'), violations.join('\n'));
  assert.ok(violations.includes('src/engine/index.ts:1 engine/ imports models/ ("../models/index.js"), but engine/ may import only core'), violations.join('\n'));
  assert.ok(violations.some((v) => v.startsWith('import cycle: src/engine/index.ts -> src/models/index.ts')), violations.join('\n'));
});

test('missing files and modules absent from the table are reported', () => {
  const files = fixture({
    'src/engine/index.ts': "import { x } from './missing.js';",
    'src/mystery/index.ts': "import { y } from '../engine/index.js';",
  });
  const { violations } = checkArchitecture(files, { srcRoot: 'src', table: FIXTURE_TABLE });
  assert.deepEqual(violations, [
    'src/engine/index.ts:1 imports "./missing.js", which does not exist (looked for src/engine/missing.js and its .ts source)',
    'module "mystery" (src/mystery/index.ts) is not in the dependency table; add it to ARCHITECTURE.md and to the table in test/architecture.test.ts',
  ]);
});

test('a test file may use another module through its entry, but not reach into its internals', () => {
  const files = fixture({
    'src/core/index.ts': 'export const E = 1;',
    'src/engine/index.ts': "export * from './graph.js';",
    'src/engine/graph.ts': 'export const graph = 1;',
    'src/models/index.ts': 'export const m = 1;',
    'src/core/errors.test.ts': "import { m } from '../models/index.js';\nimport { graph } from '../engine/graph.js';",
    'src/core/errors.ts': "import { m } from '../models/index.js';",
  });
  const result = checkArchitecture(files, { srcRoot: 'src', table: FIXTURE_TABLE });
  assert.deepEqual(result.violations, [
    'src/core/errors.test.ts:2 imports src/engine/graph.ts, an internal file of engine/; import from src/engine/index.ts instead (export it there if needed)',
    'src/core/errors.ts:1 core/ imports models/ ("../models/index.js"), but core/ may import only nothing of ours',
  ]);
});
