/**
 * Schema validation with every problem listed: parses a value with a zod schema and, on failure, throws
 * INVALID_SPEC whose details.problems has one line per problem, each naming the field's path
 * (e.g. `model.blocks[0].filters: expected a positive integer`), before any work starts.
 */
import type { z } from 'zod';
import { AimassError } from './errors.js';

function pathOf(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(top level)';
}

export function describeIssues(issues: readonly z.core.$ZodIssue[], root = ''): string[] {
  const problems: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) problems.push(`${pathOf(root, [...issue.path, k])}: unknown field`);
    } else if (issue.code === 'invalid_union' && issue.errors.length) {
      // report the branch that got furthest, rather than "invalid input"
      const best = [...issue.errors].sort((a, b) => a.length - b.length)[0];
      // a branch's paths are relative to the union itself
      problems.push(...describeIssues(best.map((i) => ({ ...i, path: [...issue.path, ...i.path] })), root));
    } else {
      problems.push(`${pathOf(root, issue.path)}: ${issue.message}`);
    }
  }
  return [...new Set(problems)];
}

/** Parses `value` with `schema`; `what` names the document in the error ("training spec"). */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what: string, root = ''): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const problems = describeIssues(r.error.issues, root);
  throw new AimassError('INVALID_SPEC', `the ${what} has ${problems.length} problem(s); fix each one listed and run again`, { problems });
}
