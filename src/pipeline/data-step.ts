// The data step: reads the spec's data, checks it can train a classifier (the columns exist, the labels have at
// least two classes, the test labels are classes of the training data, images have the model's pixel count),
// and fixes the splits. Text data is split here (seeded, stratified by default) into JSON Lines files in the
// step's folder; image CSVs are used where they are, the trainer holding out `validation` of the training rows.
import { join } from 'node:path';
import { AimassError } from '../core/index.js';
import { type Cell, classIndex, loadImageCsv, loadTable, openTable, randomSplit, readCsv, stratifiedSplit } from '../data/index.js';
import { type DataSpec, type ImageDataSpec, type TextDataSpec, isTextData } from './spec.js';
import { fileSha256, stepKey } from './step-store.js';
import { type TextSplit, writeTextSplit } from './text-data.js';

export interface DataResult {
  kind: 'image' | 'text';
  /** sha256 over the input files: the dataset version recorded with a registered model. */
  datasetHash: string;
  /** sha256 of the held-out split: the dataset an evaluation report names (a baseline should match it). */
  testHash: string;
  classNames: string[];
  counts: { train: number; validation: number; test: number };
  image?: { train: string; test: string; validation?: number; shape: number[]; scale: number };
  /** The splits, as JSON Lines of {text, label}. */
  text?: { train: string; validation?: string; test: string };
}

/** What the step's key depends on besides the data spec: the files' contents and the model's input shape. */
export async function dataInputs(data: DataSpec, model: Record<string, unknown>): Promise<Record<string, unknown>> {
  const files: Record<string, string> = {};
  for (const f of ['path', 'train', 'test', 'validation'] as const) {
    const p = (data as Record<string, unknown>)[f];
    if (typeof p === 'string') files[f] = await fileSha256(p);
  }
  return { data, files, modelInput: isTextData(data) ? null : (model.input ?? null) };
}

function invalid(message: string, problems: string[]): AimassError {
  return new AimassError('INVALID_SPEC', message, { problems });
}

function oneClassProblem(field: string, file: string, classes: string[]): AimassError {
  return invalid(`the label column has ${classes.length === 0 ? 'no values' : `one class (${JSON.stringify(classes[0])})`} in ${file}; a classifier needs at least two`, [
    `${field}: every row of ${file} has the label ${classes.length ? JSON.stringify(classes[0]) : '(none)'}; check the label column, or the file`,
  ]);
}

function describeSplit(counts: DataResult['counts'], classes: string[]): string {
  const shown = classes.length > 6 ? `${classes.slice(0, 6).join(', ')}, …` : classes.join(', ');
  return `${counts.train} train${counts.validation ? ` (${counts.validation} of them for validation)` : ''}, ${counts.test} test; ${classes.length} classes (${shown})`;
}

// --- images -------------------------------------------------------------------------------------------------

async function pixelsPerRow(path: string): Promise<number> {
  for await (const rec of readCsv(path)) {
    const header = !Number.isFinite(Number(rec.fields[0])) && rec.fields.slice(1).some((f) => !Number.isFinite(Number(f)));
    if (!header) return rec.fields.length - 1;
  }
  throw invalid(`${path} has no rows`, [`data.train: ${path} is empty`]);
}

async function imageStep(data: ImageDataSpec, model: Record<string, unknown>): Promise<{ result: DataResult; summary: string }> {
  const pixels = await pixelsPerRow(data.train);
  const input = model.input;
  let shape: number[];
  if (Array.isArray(input)) shape = input.map(Number);
  else if (typeof input === 'number') shape = [input];
  else shape = [pixels];
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== pixels) {
    throw invalid(`the model takes ${size} values per sample but the rows of ${data.train} hold ${pixels} pixels`, [
      `model.input: ${JSON.stringify(input)} is ${size} values; the rows of ${data.train} hold a label and ${pixels} pixels`,
    ]);
  }
  const scale = data.scale ?? 1 / 255;
  const train = await loadImageCsv(data.train, { shape, scale });
  const classNames = train.classNames ?? [];
  if (classNames.length < 2) throw oneClassProblem('data.train', data.train, classNames);
  const test = await loadImageCsv(data.test, { shape, scale, classNames });
  const validation = data.validation ? Math.max(1, Math.round(train.n * data.validation)) : 0;
  const counts = { train: train.n, validation, test: test.n };
  const [a, b] = await Promise.all([fileSha256(data.train), fileSha256(data.test)]);
  const result: DataResult = {
    kind: 'image',
    datasetHash: a === b ? a : `${a.slice(0, 32)}${b.slice(0, 32)}`,
    testHash: b,
    classNames,
    counts,
    image: { train: data.train, test: data.test, validation: data.validation, shape, scale },
  };
  return { result, summary: `${describeSplit(counts, classNames)}; ${shape.join('×')} pixels` };
}

// --- text ---------------------------------------------------------------------------------------------------

interface TextTable {
  texts: string[];
  labels: string[];
  /** Rows left out, by reason, for the step's note. */
  skipped: string[];
}

async function readTextTable(path: string, data: TextDataSpec, field: string): Promise<TextTable> {
  // the columns first (from the header or the first records), so that both a missing text and a missing label
  // column are named at once
  const names = (await openTable(path, { format: data.format })).schema.map((c) => c.name);
  const missing = [
    ...(names.includes(data.text) ? [] : [`data.text: no column "${data.text}" in ${path}; its columns are: ${names.join(', ')}`]),
    ...(names.includes(data.label) ? [] : [`data.label: no column "${data.label}" in ${path}; its columns are: ${names.join(', ')}`]),
  ];
  if (missing.length) throw invalid(`${path} does not have the column(s) the spec names`, missing);
  // both read as strings: a text column of dates must stay text
  const { table, bad } = await loadTable(path, { format: data.format, columns: { [data.text]: 'string', [data.label]: 'string' } });
  const ti = table.schema.findIndex((c) => c.name === data.text);
  const li = table.schema.findIndex((c) => c.name === data.label);
  const texts: string[] = [];
  const labels: string[] = [];
  let noLabel = 0;
  for (const row of table.rows) {
    const label = row[li];
    if (label === null || String(label).trim() === '') {
      noLabel++;
      continue;
    }
    texts.push(row[ti] === null ? '' : String(row[ti]));
    labels.push(String(label).trim());
  }
  const skipped: string[] = [];
  if (bad.length) skipped.push(`${field}: ${bad.length} malformed row(s) left out (first: line ${bad[0].line}: ${bad[0].message})`);
  if (noLabel) skipped.push(`${field}: ${noLabel} row(s) without a label left out`);
  if (texts.length === 0) throw invalid(`${path} has no rows with a label`, [`${field}: no usable rows in ${path}`]);
  return { texts, labels, skipped };
}

const pick = (t: TextTable, idx: number[]): TextSplit => ({ texts: idx.map((i) => t.texts[i]), labels: idx.map((i) => t.labels[i]) });

async function textStep(data: TextDataSpec, dir: string, note: (m: string) => void): Promise<{ result: DataResult; summary: string }> {
  let train: TextSplit;
  let validation: TextSplit | undefined;
  let test: TextSplit;
  const split = data.split ?? { test: 0.2, validation: 0.1, by: 'stratified' as const, seed: 0 };
  const cut = (t: TextTable, testShare: number, valShare: number) =>
    split.by === 'stratified' ? stratifiedSplit(t.labels as Cell[], { test: testShare, val: valShare, seed: split.seed }) : randomSplit(t.labels.length, { test: testShare, val: valShare, seed: split.seed });
  if (data.path !== undefined) {
    const all = await readTextTable(data.path, data, 'data.path');
    all.skipped.forEach(note);
    const classes = [...new Set(all.labels)];
    if (classes.length < 2) throw oneClassProblem('data.label', data.path, classes);
    const s = cut(all, split.test, split.validation);
    [train, test] = [pick(all, s.train), pick(all, s.test)];
    validation = s.val.length ? pick(all, s.val) : undefined;
  } else {
    const all = await readTextTable(data.train!, data, 'data.train');
    all.skipped.forEach(note);
    const classes = [...new Set(all.labels)];
    if (classes.length < 2) throw oneClassProblem('data.label', data.train!, classes);
    if (typeof data.validation === 'number') {
      const s = cut(all, 0, data.validation);
      [train, validation] = [pick(all, s.train), pick(all, s.val)];
    } else {
      train = { texts: all.texts, labels: all.labels };
      if (typeof data.validation === 'string') {
        const v = await readTextTable(data.validation, data, 'data.validation');
        v.skipped.forEach(note);
        validation = { texts: v.texts, labels: v.labels };
      }
    }
    const t = await readTextTable(data.test!, data, 'data.test');
    t.skipped.forEach(note);
    test = { texts: t.texts, labels: t.labels };
  }
  const { classNames } = classIndex(train.labels);
  if (classNames.length < 2) throw oneClassProblem('data.label', data.path ?? data.train!, classNames);
  const known = new Set(classNames);
  for (const [field, part] of [['test', test], ['validation', validation]] as const) {
    const unknown = [...new Set(part?.labels.filter((l) => !known.has(l)) ?? [])];
    if (unknown.length) {
      throw invalid(`the ${field} data has labels the training data does not`, [`data.${field}: label(s) ${unknown.slice(0, 10).map((u) => JSON.stringify(u)).join(', ')} are not among the training classes (${classNames.join(', ')})`]);
    }
  }
  const files = { train: join(dir, 'train.jsonl'), test: join(dir, 'test.jsonl'), ...(validation ? { validation: join(dir, 'validation.jsonl') } : {}) };
  await writeTextSplit(files.train, train);
  await writeTextSplit(files.test, test);
  if (validation) await writeTextSplit(files.validation!, validation);
  const hashes = await Promise.all([data.path, data.train, typeof data.validation === 'string' ? data.validation : undefined, data.test].filter((p): p is string => p !== undefined).map(fileSha256));
  const counts = { train: train.texts.length + (validation?.texts.length ?? 0), validation: validation?.texts.length ?? 0, test: test.texts.length };
  const result: DataResult = {
    kind: 'text',
    datasetHash: hashes.length === 1 ? hashes[0] : stepKey(hashes),
    testHash: await fileSha256(files.test),
    classNames,
    counts,
    text: files,
  };
  return { result, summary: describeSplit(counts, classNames) };
}

export async function runDataStep(data: DataSpec, model: Record<string, unknown>, dir: string, note: (m: string) => void): Promise<{ result: DataResult; summary: string }> {
  return isTextData(data) ? textStep(data, dir, note) : imageStep(data, model);
}
