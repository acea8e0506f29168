// Loaders for the data `aimass train` reads: a CSV with a header and a label column (numeric features), and
// MNIST-style image CSVs (label, then the pixels of one image, 0..255). Malformed rows are never dropped:
// the load fails listing each one with its line number.
import { AimassError } from '../core/index.js';
import { readCsv } from './csv.js';
import { type Dataset, Growable } from './dataset.js';

export type LabelKind = 'multiclass' | 'binary' | 'regression';

/** How many bad rows to list before giving up on a file. */
const MAX_PROBLEMS = 20;

class Problems {
  readonly list: string[] = [];
  count = 0;
  constructor(private readonly path: string) {}
  add(line: number, msg: string): void {
    this.count++;
    if (this.list.length < MAX_PROBLEMS) this.list.push(`line ${line}: ${msg}`);
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

function labelsFor(kind: LabelKind, raw: string[], lines: number[], problems: Problems, classNames?: string[]) {
  if (kind === 'regression') {
    const out = new Float32Array(raw.length);
    raw.forEach((r, i) => {
      const v = Number(r);
      if (r.trim() === '' || !Number.isFinite(v)) problems.add(lines[i], `label "${r}" is not a number`);
      out[i] = v;
    });
    return { labels: out as Float32Array | BigInt64Array, classNames: undefined };
  }
  const { ids, classNames: names } = classIndex(raw, classNames);
  ids.forEach((id, i) => id < 0 && problems.add(lines[i], `label "${raw[i]}" is not one of the known classes`));
  if (kind === 'binary') {
    if (names.length > 2) problems.add(lines[0], `a binary label column has ${names.length} distinct values: ${names.slice(0, 5).join(', ')}…`);
    return { labels: Float32Array.from(ids) as Float32Array | BigInt64Array, classNames: names };
  }
  return { labels: BigInt64Array.from(ids.map((x) => BigInt(Math.max(x, 0)))) as Float32Array | BigInt64Array, classNames: names };
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
  const lines: number[] = [];
  for await (const rec of readCsv(path)) {
    if (!header) {
      header = rec.fields.map((h) => h.trim());
      labelIdx = header.indexOf(o.label);
      if (labelIdx < 0) throw new AimassError('DATA_FORMAT', `${path}: no label column "${o.label}"; the header has: ${header.join(', ')}`, { path });
      const names = o.features ?? header.filter((_, i) => i !== labelIdx);
      const missing = names.filter((f) => !header!.includes(f));
      if (missing.length) throw new AimassError('DATA_FORMAT', `${path}: feature column(s) not in the header: ${missing.join(', ')}`, { path });
      featIdx = names.map((f) => header!.indexOf(f));
      continue;
    }
    if (rec.fields.length !== header.length) {
      problems.add(rec.line, `has ${rec.fields.length} fields, the header has ${header.length}`);
      continue;
    }
    for (const j of featIdx) {
      const s = rec.fields[j];
      const v = Number(s);
      if (s.trim() === '' || !Number.isFinite(v)) problems.add(rec.line, `column "${header[j]}": "${s}" is not a number`);
      values.push(v);
    }
    rawLabels.push(rec.fields[labelIdx]);
    lines.push(rec.line);
  }
  if (!header) throw new AimassError('DATA_FORMAT', `${path} is empty`, { path });
  const { labels, classNames } = labelsFor(o.kind, rawLabels, lines, problems, o.classNames);
  problems.throwIfAny();
  if (!rawLabels.length) throw new AimassError('DATA_FORMAT', `${path} has a header but no rows`, { path });
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
  const lines: number[] = [];
  let first = true;
  for await (const rec of readCsv(path)) {
    if (first) {
      first = false;
      if (!Number.isFinite(Number(rec.fields[0])) && rec.fields.slice(1).some((f) => !Number.isFinite(Number(f)))) continue; // a header
    }
    if (rec.fields.length !== size + 1) {
      problems.add(rec.line, `has ${rec.fields.length} fields, expected a label and ${size} pixels (${size + 1})`);
      continue;
    }
    let bad = -1;
    for (let j = 1; j <= size; j++) {
      const s = rec.fields[j];
      const v = Number(s);
      if (s === '' || !Number.isFinite(v)) bad = bad < 0 ? j : bad;
      pixels.push(v * scale);
    }
    if (bad >= 0) problems.add(rec.line, `pixel ${bad} "${rec.fields[bad]}" is not a number`);
    rawLabels.push(rec.fields[0].trim());
    lines.push(rec.line);
  }
  const { labels, classNames } = labelsFor('multiclass', rawLabels, lines, problems, o.classNames);
  problems.throwIfAny();
  if (!rawLabels.length) throw new AimassError('DATA_FORMAT', `${path} has no rows`, { path });
  return { n: rawLabels.length, inputs: [pixels.toArray()], sampleShapes: [[...o.shape]], labels, labelWidth: 1, classNames };
}
