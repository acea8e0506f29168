// Loaders for the data `aimass train` reads: a CSV with a header and a label column (numeric features), and
// MNIST-style image CSVs (label, then the pixels of one image, 0..255). Malformed rows are never dropped:
// the load fails listing each one with its line number.
import { AimassError } from '../core/index.js';
import { readCsv } from './csv.js';
import { type Dataset, Growable } from './dataset.js';

export type LabelKind = 'multiclass' | 'binary' | 'regression';

/** How many bad rows an error lists; its message still counts them all. */
const MAX_PROBLEMS = 20;

/** The bad rows of one file, one entry per row (all of that row's faults), in line order. */
class Problems {
  readonly list: string[] = [];
  count = 0;
  constructor(private readonly path: string) {}
  add(line: number, faults: string[]): void {
    if (!faults.length) return;
    this.count++;
    if (this.list.length < MAX_PROBLEMS) this.list.push(`line ${line}: ${faults.join('; ')}`);
  }
  throwIfAny(): void {
    if (!this.count) return;
    const more = this.count > this.list.length ? ` (first ${this.list.length} listed)` : '';
    throw new AimassError('DATA_FORMAT', `${this.path}: ${this.count} malformed row(s)${more}; fix or remove them and run again`, {
      path: this.path,
      problems: this.list,
    });
  }
}

/** Maps raw label strings to class ids in a stable order (numeric order when all are numbers). */
export function classIndex(raw: string[], given?: string[]): { ids: number[]; classNames: string[] } {
  const names = given ?? [...new Set(raw)];
  if (!given) {
    const numeric = names.every((s) => s.trim() !== '' && Number.isFinite(Number(s)));
    names.sort(numeric ? (a, b) => Number(a) - Number(b) : undefined);
  }
  const map = new Map(names.map((n, i) => [n, i]));
  return { ids: raw.map((r) => map.get(r) ?? -1), classNames: names };
}

/** Whether field `s` (already converted to `v`) is a number; Number() reads a blank field as 0, which is not. */
const isNumber = (s: string, v: number) => Number.isFinite(v) && (v !== 0 || s.trim() !== '');

const quoteList = (names: Iterable<string>, max = 10) => {
  const all = [...names];
  return all.slice(0, max).map((n) => `"${n}"`).join(', ') + (all.length > max ? `, … (${all.length} in all)` : '');
};

/**
 * What is wrong with one row's label, checked as the rows stream by so each bad row is reported with its line
 * (and in line order with its other faults). Binary columns accept the first two distinct values seen.
 */
function labelChecker(kind: LabelKind, classNames?: string[]): (label: string) => string | undefined {
  const known = classNames && new Set(classNames);
  const seen = new Set<string>();
  return (r) => {
    if (r === '') return 'the label is empty';
    if (kind === 'regression') return Number.isFinite(Number(r)) ? undefined : `label "${r}" is not a number`;
    if (known) return known.has(r) ? undefined : `label "${r}" is not one of the classes of the training data (${quoteList(known)})`;
    if (kind === 'binary' && !seen.has(r)) {
      if (seen.size === 2) return `label "${r}" is a third distinct value in a binary label column (already saw ${quoteList(seen)})`;
      seen.add(r);
    }
    return undefined;
  };
}

/** Labels as the trainer wants them; only called once every label passed labelChecker. */
function labelsFor(kind: LabelKind, raw: string[], classNames?: string[]): { labels: Float32Array | BigInt64Array; classNames?: string[] } {
  if (kind === 'regression') return { labels: Float32Array.from(raw, Number) };
  // a binary column written as 0/1 keeps its meaning even when one value is absent (a file of only 1s)
  if (kind === 'binary' && !classNames && raw.every((r) => r === '0' || r === '1')) return { labels: Float32Array.from(raw, Number), classNames: ['0', '1'] };
  const { ids, classNames: names } = classIndex(raw, classNames);
  return { labels: kind === 'binary' ? Float32Array.from(ids) : BigInt64Array.from(ids, BigInt), classNames: names };
}

export interface CsvTableOptions {
  label: string;
  /** Feature columns; all columns but the label by default. */
  features?: string[];
  kind: LabelKind;
  /** Class names from the training file, so that a test file maps labels the same way. */
  classNames?: string[];
}

/** A CSV with a header row: numeric feature columns and a label column. */
export async function loadCsvTable(path: string, o: CsvTableOptions): Promise<Dataset> {
  const problems = new Problems(path);
  let header: string[] | null = null;
  let featIdx: number[] = [];
  let labelIdx = -1;
  const values = new Growable();
  const rawLabels: string[] = [];
  const checkLabel = labelChecker(o.kind, o.classNames);
  for await (const rec of readCsv(path)) {
    if (!header) {
      header = rec.fields.map((h) => h.trim());
      labelIdx = header.indexOf(o.label);
      if (labelIdx < 0) throw new AimassError('DATA_FORMAT', `${path}: no label column "${o.label}"; the header has: ${header.join(', ')}`, { path });
      if (o.features?.includes(o.label)) throw new AimassError('INVALID_ARGUMENT', `the label column "${o.label}" cannot also be a feature`, { path });
      const names = o.features ?? header.filter((_, i) => i !== labelIdx);
      const missing = names.filter((f) => !header!.includes(f));
      if (missing.length) throw new AimassError('DATA_FORMAT', `${path}: feature column(s) not in the header: ${missing.join(', ')}`, { path });
      featIdx = names.map((f) => header!.indexOf(f));
      continue;
    }
    if (rec.fields.length !== header.length) {
      problems.add(rec.line, [`has ${rec.fields.length} fields, the header has ${header.length}`]);
      continue;
    }
    const faults: string[] = [];
    for (const j of featIdx) {
      const s = rec.fields[j];
      const v = Number(s);
      if (!isNumber(s, v)) faults.push(`column "${header[j]}": "${s}" is not a number`);
      values.push(v);
    }
    const label = rec.fields[labelIdx].trim();
    const labelFault = checkLabel(label);
    if (labelFault) faults.push(labelFault);
    problems.add(rec.line, faults);
    rawLabels.push(label);
  }
  if (!header) throw new AimassError('DATA_FORMAT', `${path} is empty`, { path });
  problems.throwIfAny();
  if (!rawLabels.length) throw new AimassError('DATA_FORMAT', `${path} has a header but no rows`, { path });
  const { labels, classNames } = labelsFor(o.kind, rawLabels, o.classNames);
  return {
    n: rawLabels.length,
    inputs: [values.toArray()],
    sampleShapes: [[featIdx.length]],
    labels,
    labelWidth: 1,
    classNames,
    featureNames: featIdx.map((j) => header![j]),
  };
}

export interface ImageCsvOptions {
  /** Shape of one sample, e.g. [channels, height, width]; the row holds the label then that many pixel values. */
  shape: number[];
  /** Multiplies every pixel (1/255 maps 0..255 to 0..1). */
  scale?: number;
  classNames?: string[];
}

/** MNIST-style CSV: no header (one is skipped if present), each row `label,p1,...,pK`. */
export async function loadImageCsv(path: string, o: ImageCsvOptions): Promise<Dataset> {
  const problems = new Problems(path);
  const size = o.shape.reduce((a, b) => a * b, 1);
  const scale = o.scale ?? 1 / 255;
  const pixels = new Growable(1 << 20);
  const rawLabels: string[] = [];
  const checkLabel = labelChecker('multiclass', o.classNames);
  let first = true;
  for await (const rec of readCsv(path)) {
    if (first) {
      first = false;
      if (!Number.isFinite(Number(rec.fields[0])) && rec.fields.slice(1).some((f) => !Number.isFinite(Number(f)))) continue; // a header
    }
    if (rec.fields.length !== size + 1) {
      problems.add(rec.line, [`has ${rec.fields.length} fields, expected a label and ${size} pixels (${size + 1})`]);
      continue;
    }
    let bad = -1;
    for (let j = 1; j <= size; j++) {
      const s = rec.fields[j];
      const v = Number(s);
      if (bad < 0 && !isNumber(s, v)) bad = j;
      pixels.push(v * scale);
    }
    const label = rec.fields[0].trim();
    const labelFault = checkLabel(label);
    problems.add(rec.line, [...(bad >= 0 ? [`pixel ${bad} "${rec.fields[bad]}" is not a number`] : []), ...(labelFault ? [labelFault] : [])]);
    rawLabels.push(label);
  }
  problems.throwIfAny();
  if (!rawLabels.length) throw new AimassError('DATA_FORMAT', `${path} has no rows`, { path });
  const { labels, classNames } = labelsFor('multiclass', rawLabels, o.classNames);
  return { n: rawLabels.length, inputs: [pixels.toArray()], sampleShapes: [[...o.shape]], labels, labelWidth: 1, classNames };
}
