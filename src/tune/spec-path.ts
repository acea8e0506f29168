/**
 * Parameter names that address fields of a training spec: `optimizer.lr`, `model.hidden.0`, `model.blocks.1.filters`,
 * `epochs`, `batchSize`.
 *
 * Syntax: field names joined by "."; a segment of digits indexes an array (0-based). Every segment but the last
 * must exist in the base spec (so a typo in a parent is caught here, with the fields that do exist); the last
 * may name a field the base leaves out (e.g. `optimizer.weightDecay`), which the training spec's own validation
 * then accepts or rejects. Arrays are never extended: the index must be below the array's length.
 *
 * Owns: parsing a path, reading and (copy-on-write) setting the value it names.
 *
 * Imports nothing.
 */

export type PathSegment = string | number;

/** The segments of `path`, or a problem describing why it is not a path. */
export function parsePath(path: string): PathSegment[] | string {
  if (path === '') return 'a parameter name must be a field path such as "optimizer.lr"';
  const parts = path.split('.');
  const out: PathSegment[] = [];
  for (const p of parts) {
    if (p === '') return `"${path}" has an empty segment; join field names with single dots, e.g. "model.hidden.0"`;
    out.push(/^\d+$/.test(p) ? Number(p) : p);
  }
  return out;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Why `path` cannot be set in `doc`, or null when it can (see the rules above). */
export function pathProblem(doc: unknown, path: string): string | null {
  const segments = parsePath(path);
  if (typeof segments === 'string') return segments;
  let node: unknown = doc;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    const last = i === segments.length - 1;
    const where = segments.slice(0, i).join('.') || '(the training spec)';
    if (typeof seg === 'number') {
      if (!Array.isArray(node)) return `"${path}": ${where} is not an array, so it has no element ${seg}`;
      if (seg >= node.length) return `"${path}": ${where} has ${node.length} element(s); index ${seg} is past its end (arrays are not extended)`;
      node = node[seg];
      continue;
    }
    if (!isRecord(node)) return `"${path}": ${where} is not an object, so it has no field "${seg}"`;
    if (!(seg in node)) {
      if (last) return null;
      const known = Object.keys(node);
      return `"${path}": the base training spec has no field ${[...segments.slice(0, i), seg].join('.')}${known.length ? ` (${where} has ${known.join(', ')})` : ''}`;
    }
    node = node[seg];
  }
  return null;
}

/** The value at `path`, or undefined. */
export function getPath(doc: unknown, path: string): unknown {
  const segments = parsePath(path);
  if (typeof segments === 'string') return undefined;
  let node: unknown = doc;
  for (const seg of segments) {
    if (typeof seg === 'number' ? !Array.isArray(node) : !isRecord(node)) return undefined;
    node = (node as Record<string | number, unknown>)[seg];
  }
  return node;
}

/** A copy of `doc` with `path` set to `value`; the parts of `doc` not on the path are shared, never changed. */
export function setPath<T>(doc: T, path: string, value: unknown): T {
  const segments = parsePath(path);
  if (typeof segments === 'string') throw new Error(segments);
  const set = (node: unknown, i: number): unknown => {
    if (i === segments.length) return value;
    const seg = segments[i];
    if (typeof seg === 'number') {
      const copy = Array.isArray(node) ? [...node] : [];
      copy[seg] = set(copy[seg], i + 1);
      return copy;
    }
    const copy = isRecord(node) ? { ...node } : {};
    copy[seg] = set(copy[seg], i + 1);
    return copy;
  };
  return set(doc, 0) as T;
}
