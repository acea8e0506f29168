/**
 * Import-graph checks for `src/`: no cycles between files, cross-module imports only through a module's
 * `index.ts`, and only along the dependency table of ARCHITECTURE.md.
 *
 * It reads imports with a comment-aware scan and regular expressions rather than the compiler, so it runs in
 * milliseconds and needs no type information. It sees static `import`/`export … from`, side-effect `import '…'`
 * and `import('…')` with a literal specifier; an `import(variable)` cannot be followed and is not reported.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Module name → modules it may import, or '*' for any. A module may always import its own files. */
export type DependencyTable = Record<string, readonly string[] | '*'>;

export interface ImportRef {
  specifier: string;
  /** 1-based line of the import in its file. */
  line: number;
  kind: 'static' | 'side-effect' | 'dynamic';
}

export interface ImportEdge extends ImportRef {
  from: string;
  /** Resolved repository-relative path (posix) for relative imports; undefined for packages and `node:`. */
  to?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading imports

/**
 * Blanks out comments and template-literal text (keeping every newline and offset), so that imports mentioned in
 * docs or in generated-code templates are not taken for real ones. Strings and regex literals are kept as they
 * are; a string or regex never spans a line here, which bounds the damage of any misreading to one line.
 */
export function stripComments(source: string): string {
  const out = source.split('');
  const blank = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (out[k] !== '\n') out[k] = ' ';
  };
  // Stack of contexts: 'code' entries count open braces so `}` can close a template's `${ … }`.
  const stack: { kind: 'code' | 'template'; braces: number }[] = [{ kind: 'code', braces: 0 }];
  let lastSignificant = ''; // last non-space code character, to tell a regex from a division
  let lastWord = '';
  let i = 0;
  const n = source.length;
  while (i < n) {
    const top = stack[stack.length - 1];
    const ch = source[i];
    if (top.kind === 'template') {
      const start = i;
      while (i < n && source[i] !== '`' && !(source[i] === '$' && source[i + 1] === '{')) i += source[i] === '\\' ? 2 : 1;
      blank(start, Math.min(i, n));
      if (i >= n) break;
      if (source[i] === '`') {
        stack.pop();
        i++;
        lastSignificant = '`';
      } else {
        stack.push({ kind: 'code', braces: 0 });
        i += 2;
        lastSignificant = '{';
      }
      continue;
    }
    const next = source[i + 1];
    if (ch === '/' && next === '/') {
      const end = source.indexOf('\n', i);
      const stop = end === -1 ? n : end;
      blank(i, stop);
      i = stop;
      continue;
    }
    if (ch === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2);
      const stop = end === -1 ? n : end + 2;
      blank(i, stop);
      i = stop;
      continue;
    }
    if (ch === '"' || ch === "'") {
      i = skipLine(source, i + 1, ch);
      lastSignificant = ch;
      lastWord = '';
      continue;
    }
    if (ch === '`') {
      stack.push({ kind: 'template', braces: 0 });
      i++;
      continue;
    }
    if (ch === '/' && startsRegex(lastSignificant, lastWord)) {
      i = skipRegex(source, i + 1);
      lastSignificant = '/';
      lastWord = '';
      continue;
    }
    if (ch === '{') top.braces++;
    if (ch === '}') {
      if (top.braces === 0 && stack.length > 1) {
        stack.pop(); // end of a template's ${ … }
        i++;
        continue;
      }
      top.braces--;
    }
    if (/[A-Za-z0-9_$]/.test(ch)) {
      const start = i;
      while (i < n && /[A-Za-z0-9_$]/.test(source[i])) i++;
      lastWord = source.slice(start, i);
      lastSignificant = 'a';
      continue;
    }
    if (!/\s/.test(ch)) {
      lastSignificant = ch;
      lastWord = '';
    }
    i++;
  }
  return out.join('');
}

const REGEX_AFTER_WORDS = new Set(['return', 'typeof', 'case', 'do', 'else', 'in', 'of', 'new', 'delete', 'void', 'throw', 'yield', 'await', 'instanceof']);

function startsRegex(lastSignificant: string, lastWord: string): boolean {
  if (lastSignificant === '') return true;
  if (lastSignificant === 'a') return REGEX_AFTER_WORDS.has(lastWord);
  return '(,=:[!&|?{};+-*%<>~^'.includes(lastSignificant);
}

/** Index just past a quoted string that started before `i`; stops at a newline if the quote never closes. */
function skipLine(source: string, i: number, quote: string): number {
  while (i < source.length) {
    const c = source[i];
    if (c === '\\') i += 2;
    else if (c === quote) return i + 1;
    else if (c === '\n') return i;
    else i++;
  }
  return i;
}

function skipRegex(source: string, i: number): number {
  let inClass = false;
  while (i < source.length) {
    const c = source[i];
    if (c === '\\') i += 2;
    else if (c === '\n') return i;
    else if (c === '[') (inClass = true), i++;
    else if (c === ']') (inClass = false), i++;
    else if (c === '/' && !inClass) {
      i++;
      while (i < source.length && /[a-z]/i.test(source[i])) i++;
      return i;
    } else i++;
  }
  return i;
}

const STATIC_IMPORT = /(^|[;\n}])[ \t]*(?:import|export)\b([\w$*{},\s]*?)\bfrom\s*(['"])([^'"\n]+)\3/g;
const SIDE_EFFECT_IMPORT = /(^|[;\n}])[ \t]*import\s*(['"])([^'"\n]+)\2/g;
const DYNAMIC_IMPORT = /\bimport\s*\(\s*(['"])([^'"\n]+)\1\s*[,)]/g;

/** Every import specifier in a TypeScript/JavaScript source, with its line and kind. */
export function extractImports(source: string): ImportRef[] {
  const code = stripComments(source);
  const refs: ImportRef[] = [];
  const lineAt = (index: number) => {
    let line = 1;
    for (let k = 0; k < index; k++) if (code.charCodeAt(k) === 10) line++;
    return line;
  };
  for (const m of code.matchAll(STATIC_IMPORT)) {
    refs.push({ specifier: m[4], line: lineAt(m.index + m[1].length), kind: 'static' });
  }
  for (const m of code.matchAll(SIDE_EFFECT_IMPORT)) {
    refs.push({ specifier: m[3], line: lineAt(m.index + m[1].length), kind: 'side-effect' });
  }
  for (const m of code.matchAll(DYNAMIC_IMPORT)) {
    refs.push({ specifier: m[2], line: lineAt(m.index), kind: 'dynamic' });
  }
  return refs.sort((a, b) => a.line - b.line);
}

// ---------------------------------------------------------------------------------------------------------------
// Resolving and checking

/**
 * Resolves a relative specifier to a file in `files`, the way NodeNext + tsx do: `./x.js` is `./x.ts` on disk.
 * Returns the repository-relative posix path, or `{ missing }` when nothing matches.
 */
export function resolveRelative(fromFile: string, specifier: string, files: ReadonlySet<string>): { to: string } | { missing: string } {
  const target = path.posix.normalize(path.posix.join(path.posix.dirname(fromFile), specifier));
  const candidates = [target];
  if (/\.js$/.test(target)) candidates.push(target.replace(/\.js$/, '.ts'));
  if (/\.mjs$/.test(target)) candidates.push(target.replace(/\.mjs$/, '.mts'));
  for (const candidate of candidates) if (files.has(candidate)) return { to: candidate };
  return { missing: target };
}

export interface CheckOptions {
  /** Repository-relative folder holding the modules, e.g. `src`. */
  srcRoot: string;
  table: DependencyTable;
}

export interface CheckResult {
  edges: ImportEdge[];
  cycles: string[][];
  violations: string[];
}

/**
 * Checks a source tree given as `path → text` (repository-relative posix paths). Non-TypeScript entries (e.g.
 * JSON files) may be included so imports of them resolve; only `.ts`/`.mts` files are scanned.
 */
export function checkArchitecture(files: ReadonlyMap<string, string>, options: CheckOptions): CheckResult {
  const { srcRoot, table } = options;
  const paths = new Set(files.keys());
  const edges: ImportEdge[] = [];
  const violations: string[] = [];
  const inSrc = (p: string) => p.startsWith(`${srcRoot}/`);
  const moduleOf = (p: string) => {
    const parts = p.slice(srcRoot.length + 1).split('/');
    return parts.length === 1 ? '.' : parts[0];
  };

  for (const [file, text] of files) {
    if (!/\.m?ts$/.test(file) || !inSrc(file)) continue;
    for (const ref of extractImports(text)) {
      const edge: ImportEdge = { ...ref, from: file };
      edges.push(edge);
      if (!ref.specifier.startsWith('.')) continue;
      const resolved = resolveRelative(file, ref.specifier, paths);
      if ('missing' in resolved) {
        // Files outside src/ (package.json, fixtures) are not read here; only src/ must resolve.
        if (!inSrc(resolved.missing)) {
          edge.to = resolved.missing;
          continue;
        }
        violations.push(`${file}:${ref.line} imports "${ref.specifier}", which does not exist (looked for ${resolved.missing} and its .ts source)`);
        continue;
      }
      edge.to = resolved.to;
    }
  }

  const declared = new Set(Object.keys(table));
  const reportedUnknown = new Set<string>();
  for (const edge of edges) {
    if (edge.to === undefined || !inSrc(edge.to)) continue;
    const fromModule = moduleOf(edge.from);
    const toModule = moduleOf(edge.to);
    const where = `${edge.from}:${edge.line}`;
    if (!declared.has(fromModule)) {
      if (!reportedUnknown.has(fromModule)) {
        reportedUnknown.add(fromModule);
        violations.push(
          `module "${fromModule}" (${edge.from}) is not in the dependency table; add it to ARCHITECTURE.md and to the table in test/architecture.test.ts`,
        );
      }
      continue;
    }
    if (fromModule === toModule) continue;
    const allowed = table[fromModule];
    // tests are consumers, not part of the module: they may use other modules' public entries as fixtures
    const isTest = /\.test\.m?ts$/.test(edge.from);
    if (allowed !== '*' && !isTest && !allowed.includes(toModule)) {
      const may = allowed.length === 0 ? 'nothing of ours' : allowed.join(', ');
      violations.push(`${where} ${fromModule}/ imports ${toModule}/ ("${edge.specifier}"), but ${fromModule}/ may import only ${may}`);
    }
    const entry = `${srcRoot}/${toModule}/index.ts`;
    if (toModule !== '.' && edge.to !== entry) {
      violations.push(`${where} imports ${edge.to}, an internal file of ${toModule}/; import from ${entry} instead (export it there if needed)`);
    }
  }

  const graph = new Map<string, Set<string>>();
  for (const file of paths) if (/\.m?ts$/.test(file) && inSrc(file)) graph.set(file, new Set());
  for (const edge of edges) if (edge.to !== undefined && graph.has(edge.to)) graph.get(edge.from)!.add(edge.to);
  const cycles = findCycles(graph);
  for (const cycle of cycles) violations.push(`import cycle: ${cycle.join(' -> ')}`);

  return { edges, cycles, violations };
}

/**
 * One concrete cycle per strongly connected component (Tarjan), each written as a closed path `a, b, …, a` and
 * starting at its smallest file name so the output is stable.
 */
export function findCycles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;

  // Iterative Tarjan, so a deep import chain cannot overflow the call stack.
  for (const root of [...graph.keys()].sort()) {
    if (index.has(root)) continue;
    const work: { node: string; neighbours: string[]; next: number }[] = [];
    const open = (node: string) => {
      index.set(node, counter);
      low.set(node, counter);
      counter++;
      stack.push(node);
      onStack.add(node);
      work.push({ node, neighbours: [...(graph.get(node) ?? [])].sort(), next: 0 });
    };
    open(root);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      if (frame.next < frame.neighbours.length) {
        const w = frame.neighbours[frame.next++];
        if (!index.has(w)) open(w);
        else if (onStack.has(w)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(w)!));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent)!, low.get(frame.node)!));
      }
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          component.push(w);
        } while (w !== frame.node);
        const selfLoop = component.length === 1 && (graph.get(w)?.has(w) ?? false);
        if (component.length > 1 || selfLoop) components.push(component);
      }
    }
  }

  return components
    .map((component) => cycleWithin(graph, new Set(component)))
    .sort((a, b) => a[0].localeCompare(b[0]));
}

/** A shortest closed path through the smallest member of a strongly connected component (BFS). */
function cycleWithin(graph: ReadonlyMap<string, ReadonlySet<string>>, members: ReadonlySet<string>): string[] {
  const start = [...members].sort()[0];
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const next of [...(graph.get(node) ?? [])].sort()) {
      if (!members.has(next)) continue;
      if (next === start) {
        const chain: string[] = [];
        for (let at = node; at !== start; at = previous.get(at)!) chain.push(at);
        return [start, ...chain.reverse(), start];
      }
      if (!previous.has(next) && next !== start) {
        previous.set(next, node);
        queue.push(next);
      }
    }
  }
  return [start, start];
}

/** Every file under `dir` (recursively, skipping node_modules and dot-folders) as repository-relative posix paths. */
export function readSourceTree(repoRoot: string, dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (absolute: string) => {
    for (const entry of readdirSync(absolute, { withFileTypes: true })) {
      const full = path.join(absolute, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && !entry.name.startsWith('.')) walk(full);
      } else if (entry.isFile()) {
        const rel = path.relative(repoRoot, full).split(path.sep).join('/');
        files.set(rel, /\.(m?ts|json)$/.test(entry.name) ? readFileSync(full, 'utf8') : '');
      }
    }
  };
  walk(path.join(repoRoot, dir));
  return files;
}
