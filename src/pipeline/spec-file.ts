// Reading a pipeline spec file: YAML (.yaml, .yml) or JSON (.json; any other name is read as YAML, of which
// JSON is a subset), with syntax errors reported by line and column, then validated by parsePipelineSpec.
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { AimassError } from '../core/index.js';
import { type PipelineSpec, parsePipelineSpec } from './spec.js';

/** The document in a spec file's text; INVALID_SPEC listing every syntax error. */
export function parseSpecText(text: string, source: string): unknown {
  if (extname(source).toLowerCase() === '.json') {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new AimassError('INVALID_SPEC', `the pipeline spec ${source} is not valid JSON`, { problems: [(e as Error).message], spec: source });
    }
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    const problems = doc.errors.map((e) => {
      const at = e.linePos?.[0];
      const message = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
      return `${at ? `line ${at.line}, column ${at.col}: ` : ''}${message}`;
    });
    throw new AimassError('INVALID_SPEC', `the pipeline spec ${source} is not valid YAML; ${problems.length} problem(s)`, { problems, spec: source });
  }
  return doc.toJS();
}

/** A pipeline name from a file name: "mnist.pipeline.yaml" gives "mnist". */
export function nameFromFile(path: string): string {
  const stem = basename(path).split('.')[0].replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return stem || 'pipeline';
}

/** Reads, parses and validates a pipeline spec file; paths in it are relative to its folder. */
export async function readPipelineSpec(path: string): Promise<PipelineSpec> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new AimassError('NOT_FOUND', `pipeline spec not found: ${file}`, { spec: file });
    throw new AimassError('INVALID_ARGUMENT', `cannot read the pipeline spec ${file} (${code ?? (e as Error).message})`, { spec: file });
  }
  return parsePipelineSpec(parseSpecText(text, file), { baseDir: dirname(file), defaultName: nameFromFile(file), source: file });
}
