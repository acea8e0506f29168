// Checks and normalizes what `evaluate()` and `evaluateRegression()` are given, before any metric is computed.
// Owns the input rules, each one a documented decision:
//   - labels are class names (strings, each one of classNames) or class indices (integers in 0..K-1);
//   - exactly one of `probabilities` or `scores`, either as rows (n arrays of K numbers), as one flat row-major
//     array of n·K numbers, or, for two classes only, as one number per sample for classNames[1] (the positive
//     class): P(positive) for probabilities, a decision score (positive class when > 0) for scores;
//   - probability rows must hold values in [0, 1] summing to 1 within 1e-5 (numpy's allclose, which scikit-learn
//     uses for the same check). Rows that do not are REJECTED, never renormalized: a row of logits or of
//     unnormalized scores would otherwise pass silently. Pass them as `scores` instead;
//   - NaN or ±Infinity anywhere is rejected, naming where.
// Every problem found (up to 20) is listed in one INVALID_ARGUMENT error's details.problems.
// Imports core only.
import { AimassError } from '../core/index.js';

export type ClassLabel = string | number;

/** n rows of K numbers, or one flat array (n·K row-major, or n values of the positive class when K = 2). */
export type ScoreInput = readonly (readonly number[] | ArrayLike<number>)[] | ArrayLike<number>;

export interface ClassificationInput {
  /** The true class of each sample: a name from classNames or an index into it. */
  labels: readonly ClassLabel[] | ArrayLike<number>;
  /** Class probabilities; rows sum to 1. Exactly one of `probabilities` and `scores`. */
  probabilities?: ScoreInput;
  /** Unnormalized decision scores (logits, margins). Ranking metrics only: no log loss or calibration. */
  scores?: ScoreInput;
  /** The classes, in the order of the probability/score columns. For two classes, classNames[1] is positive. */
  classNames: readonly string[];
}

export interface RegressionInput {
  targets: ArrayLike<number>;
  predictions: ArrayLike<number>;
}

/** The validated, dense form every metric works on. */
export interface PreparedClassification {
  classNames: string[];
  n: number;
  k: number;
  /** True class index per sample. */
  y: Int32Array;
  /** n×k row-major; a binary single-column input is expanded to [1 − p, p] (probabilities) or [−s, s] (scores). */
  matrix: Float64Array;
  kind: 'probabilities' | 'scores';
  /** Argmax of each row; ties go to the lowest class index, as numpy's argmax. */
  predictions: Int32Array;
}

export interface PreparedRegression {
  n: number;
  targets: Float64Array;
  predictions: Float64Array;
}

/** How far a probability row's sum may be from 1: numpy.allclose's default (atol 1e-8 + rtol 1e-5 · 1). */
export const PROBABILITY_SUM_TOLERANCE = 1e-5 + 1e-8;

const MAX_PROBLEMS = 20;

class Problems {
  readonly list: string[] = [];
  private dropped = 0;
  add(problem: string): void {
    if (this.list.length < MAX_PROBLEMS) this.list.push(problem);
    else this.dropped++;
  }
  throwIfAny(what: string): void {
    if (this.list.length === 0) return;
    const problems = this.dropped > 0 ? [...this.list, `… and ${this.dropped} more problem(s)`] : this.list;
    throw new AimassError('INVALID_ARGUMENT', `the ${what} has ${this.list.length + this.dropped} problem(s); fix each one listed and run again`, {
      problems,
    });
  }
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

function isArrayLike(v: unknown): v is ArrayLike<unknown> {
  return Array.isArray(v) || ArrayBuffer.isView(v);
}

function checkClassNames(classNames: unknown, problems: Problems): string[] {
  if (!Array.isArray(classNames)) {
    problems.add('classNames: expected an array of class names, one per probability/score column');
    return [];
  }
  const seen = new Map<string, number>();
  classNames.forEach((name, i) => {
    if (typeof name !== 'string' || name.length === 0) problems.add(`classNames[${i}]: expected a non-empty string, got ${describe(name)}`);
    else if (seen.has(name)) problems.add(`classNames[${i}]: ${JSON.stringify(name)} repeats classNames[${seen.get(name)}]; class names must be unique`);
    else seen.set(name, i);
  });
  if (classNames.length < 2) problems.add(`classNames: a classifier needs at least 2 classes, got ${classNames.length}`);
  return classNames as string[];
}

function encodeLabels(labels: unknown, classNames: string[], problems: Problems): Int32Array {
  if (!isArrayLike(labels)) {
    problems.add('labels: expected an array with the true class of each sample');
    return new Int32Array(0);
  }
  const index = new Map(classNames.map((name, i) => [name, i]));
  const y = new Int32Array(labels.length);
  const known = classNames.map((c) => JSON.stringify(c)).join(', ');
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (typeof label === 'string') {
      const k = index.get(label);
      if (k === undefined) problems.add(`labels[${i}] is ${JSON.stringify(label)}, which is not one of classNames (${known})`);
      else y[i] = k;
    } else if (typeof label === 'number' && Number.isInteger(label) && label >= 0 && label < classNames.length) {
      y[i] = label;
    } else if (typeof label === 'number') {
      problems.add(`labels[${i}] is ${label}; a numeric label is a class index, an integer from 0 to ${classNames.length - 1}`);
    } else {
      problems.add(`labels[${i}] is ${describe(label)}; expected a class name or a class index`);
    }
  }
  if (labels.length === 0) problems.add('labels: there are no samples; an evaluation needs at least one');
  return y;
}

/** Reads rows, a flat n·k array or (k = 2) a flat positive-class column into an n×k matrix. */
function readMatrix(field: 'probabilities' | 'scores', value: unknown, n: number, k: number, problems: Problems): Float64Array | null {
  if (!isArrayLike(value)) {
    problems.add(`${field}: expected n rows of ${k} numbers or one flat array`);
    return null;
  }
  const out = new Float64Array(n * k);
  const first = value.length > 0 ? value[0] : undefined;
  if (isArrayLike(first)) {
    if (value.length !== n) {
      problems.add(`${field} has ${value.length} rows but labels has ${n} entries; give one row per sample`);
      return null;
    }
    let bad = false;
    for (let i = 0; i < n; i++) {
      const row = value[i];
      if (!isArrayLike(row) || row.length !== k) {
        problems.add(`${field}[${i}]: expected ${k} numbers (one per class in classNames), got ${isArrayLike(row) ? row.length : describe(row)}`);
        bad = true;
        continue;
      }
      for (let j = 0; j < k; j++) out[i * k + j] = readNumber(field, `${field}[${i}][${j}]`, row[j], problems);
    }
    return bad ? null : out;
  }
  if (value.length === n * k) {
    for (let i = 0; i < n * k; i++) out[i] = readNumber(field, `${field}[${i}] (row ${Math.floor(i / k)}, column ${i % k})`, value[i], problems);
    return out;
  }
  if (k === 2 && value.length === n) {
    for (let i = 0; i < n; i++) {
      const v = readNumber(field, `${field}[${i}]`, value[i], problems);
      // [1 − p, p] keeps probabilities summing to 1; [−s, s] keeps argmax and ranking those of s > 0.
      out[2 * i] = field === 'probabilities' ? 1 - v : -v;
      out[2 * i + 1] = v;
    }
    return out;
  }
  const binary = k === 2 ? ` or ${n} (one value of the positive class per sample)` : '';
  problems.add(
    `${field} has ${value.length} values but labels has ${n} entries and classNames ${k}; give ${n} rows of ${k}, a flat array of ${n * k}${binary}`,
  );
  return null;
}

function readNumber(field: string, where: string, v: unknown, problems: Problems): number {
  if (typeof v !== 'number') {
    problems.add(`${where} is ${describe(v)}; expected a number`);
    return 0;
  }
  if (!Number.isFinite(v)) problems.add(`${where} is ${v}; ${field} must be finite numbers (NaN and ±Infinity are rejected)`);
  return v;
}

function checkProbabilityRows(matrix: Float64Array, n: number, k: number, problems: Problems): void {
  for (let i = 0; i < n; i++) {
    let sum = 0;
    let outside = false;
    for (let j = 0; j < k; j++) {
      const p = matrix[i * k + j];
      if (p < 0 || p > 1) outside = true;
      sum += p;
    }
    if (outside) problems.add(`probabilities[${i}] has a value outside [0, 1]; pass logits or margins as \`scores\` instead`);
    else if (Math.abs(sum - 1) > PROBABILITY_SUM_TOLERANCE) {
      problems.add(`probabilities[${i}] sums to ${sum}, not 1; rows are rejected, not renormalized: apply softmax, or pass the values as \`scores\``);
    }
  }
}

function argmaxRows(matrix: Float64Array, n: number, k: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (matrix[i * k + j] > matrix[i * k + best]) best = j;
    out[i] = best;
  }
  return out;
}

export function prepareClassification(input: ClassificationInput): PreparedClassification {
  const problems = new Problems();
  if (typeof input !== 'object' || input === null) {
    throw new AimassError('INVALID_ARGUMENT', 'evaluate() takes { labels, probabilities | scores, classNames }');
  }
  const classNames = checkClassNames(input.classNames, problems);
  const y = encodeLabels(input.labels, classNames, problems);
  const n = y.length;
  const k = classNames.length;
  const hasP = input.probabilities !== undefined;
  const hasS = input.scores !== undefined;
  let matrix: Float64Array | null = null;
  let kind: PreparedClassification['kind'] = 'probabilities';
  if (hasP === hasS) {
    problems.add(
      hasP
        ? 'give either probabilities or scores, not both'
        : 'give probabilities (rows summing to 1) or scores (logits, margins): the model outputs to evaluate are missing',
    );
  } else if (k >= 2 && n > 0) {
    kind = hasP ? 'probabilities' : 'scores';
    matrix = readMatrix(kind, hasP ? input.probabilities : input.scores, n, k, problems);
    if (matrix && kind === 'probabilities' && problems.list.length === 0) checkProbabilityRows(matrix, n, k, problems);
  }
  problems.throwIfAny('evaluation input');
  if (!matrix) throw new AimassError('INTERNAL', 'evaluation input passed its checks without a score matrix; please report it');
  return { classNames: [...classNames], n, k, y, matrix, kind, predictions: argmaxRows(matrix, n, k) };
}

export function prepareRegression(input: RegressionInput): PreparedRegression {
  const problems = new Problems();
  if (typeof input !== 'object' || input === null) {
    throw new AimassError('INVALID_ARGUMENT', 'evaluateRegression() takes { targets, predictions }');
  }
  const read = (field: 'targets' | 'predictions'): Float64Array => {
    const v: unknown = input[field];
    if (!isArrayLike(v)) {
      problems.add(`${field}: expected an array of numbers`);
      return new Float64Array(0);
    }
    const out = new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = readNumber(field, `${field}[${i}]`, v[i], problems);
    return out;
  };
  const targets = read('targets');
  const predictions = read('predictions');
  if (targets.length !== predictions.length) {
    problems.add(`targets has ${targets.length} values but predictions has ${predictions.length}; give one prediction per target`);
  } else if (targets.length === 0) problems.add('targets: there are no samples; an evaluation needs at least one');
  problems.throwIfAny('regression evaluation input');
  return { n: targets.length, targets, predictions };
}
