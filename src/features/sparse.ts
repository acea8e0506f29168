// The matrix types features/ produces and consumes: CSR sparse matrices (what text vectorizers output) and
// row-major dense Float32 matrices (what tabular data and small models use), with the few operations the
// rest of features/ needs written once here: building row by row, row and column subsets, column sums, row
// normalization and conversion to dense. Imports core only.
import { AimassError } from '../core/index.js';

/**
 * Compressed sparse rows: the nonzeros of row r are `indices[indptr[r] .. indptr[r+1])` (column ids, strictly
 * increasing within a row) with `values` at the same positions. `indptr` has `rows + 1` entries.
 */
export interface CsrMatrix {
  rows: number;
  cols: number;
  indptr: Int32Array;
  indices: Int32Array;
  values: Float32Array;
}

/** Row-major dense matrix: element (r, c) is `data[r * cols + c]`. */
export interface DenseMatrix {
  rows: number;
  cols: number;
  data: Float32Array;
}

export type FeatureMatrix = CsrMatrix | DenseMatrix;

export type RowNorm = 'l2' | 'l1';

export function isCsr(m: FeatureMatrix): m is CsrMatrix {
  return (m as CsrMatrix).indptr !== undefined;
}

/** Above this many cells `csrToDense` refuses, rather than allocating gigabytes by accident. */
export const MAX_DENSE_CELLS = 1 << 28;

/**
 * Builds a CSR matrix one row at a time into growing buffers. Rows may be given in any column order and with
 * repeated columns (repeats are summed); explicit zeros are dropped.
 */
export class CsrBuilder {
  private indptr: Int32Array;
  private indices: Int32Array;
  private values: Float32Array;
  private nnz = 0;
  private rowCount = 0;
  private order = new Int32Array(16);

  constructor(
    readonly cols: number,
    expectedRows = 16,
    expectedNonzeros = 64,
  ) {
    if (!Number.isInteger(cols) || cols < 0) throw new AimassError('INVALID_ARGUMENT', `a CSR matrix needs a whole, non-negative column count, got ${cols}`);
    this.indptr = new Int32Array(Math.max(2, expectedRows + 1));
    this.indices = new Int32Array(Math.max(4, expectedNonzeros));
    this.values = new Float32Array(this.indices.length);
  }

  get rows(): number {
    return this.rowCount;
  }

  /** Appends a row of all zeros. */
  addEmptyRow(): void {
    this.reserve(0);
    this.rowCount++;
    this.indptr[this.rowCount] = this.nnz;
  }

  /** Appends a row whose columns are already strictly increasing; values are stored as float32. */
  addSortedRow(columns: ArrayLike<number>, values: ArrayLike<number>, count = columns.length): void {
    this.reserve(count);
    let prev = -1;
    for (let k = 0; k < count; k++) {
      const c = columns[k];
      if (!((c | 0) === c && c > prev && c < this.cols)) {
        throw new AimassError('INVALID_ARGUMENT', `row ${this.rowCount}: column ${c} is out of order or outside 0..${this.cols - 1}`);
      }
      prev = c;
      const v = values[k];
      if (v === 0) continue;
      this.indices[this.nnz] = c;
      this.values[this.nnz] = v;
      this.nnz++;
    }
    this.rowCount++;
    this.indptr[this.rowCount] = this.nnz;
  }

  /** Appends a row given as (column, value) pairs in any order; repeated columns are summed. */
  addRow(columns: ArrayLike<number>, values: ArrayLike<number>): void {
    const count = columns.length;
    if (values.length !== count) throw new AimassError('INVALID_ARGUMENT', `row ${this.rowCount}: ${count} columns but ${values.length} values`);
    if (this.order.length < count) this.order = new Int32Array(Math.max(count, this.order.length * 2));
    const order = this.order;
    for (let k = 0; k < count; k++) order[k] = k;
    const sorted = order.subarray(0, count).sort((a, b) => columns[a] - columns[b] || a - b);
    this.reserve(count);
    let last = -1;
    for (let k = 0; k < count; k++) {
      const c = columns[sorted[k]];
      if (!(Number.isInteger(c) && c >= 0 && c < this.cols)) {
        throw new AimassError('INVALID_ARGUMENT', `row ${this.rowCount}: column ${c} is outside 0..${this.cols - 1}`);
      }
      if (c === last) this.values[this.nnz - 1] += values[sorted[k]];
      else {
        this.indices[this.nnz] = c;
        this.values[this.nnz] = values[sorted[k]];
        this.nnz++;
        last = c;
      }
    }
    // summing may have produced zeros; keep the no-explicit-zeros invariant
    let w = this.indptr[this.rowCount];
    for (let r = w; r < this.nnz; r++) {
      if (this.values[r] === 0) continue;
      this.indices[w] = this.indices[r];
      this.values[w] = this.values[r];
      w++;
    }
    this.nnz = w;
    this.rowCount++;
    this.indptr[this.rowCount] = this.nnz;
  }

  build(): CsrMatrix {
    return {
      rows: this.rowCount,
      cols: this.cols,
      indptr: this.indptr.slice(0, this.rowCount + 1),
      indices: this.indices.slice(0, this.nnz),
      values: this.values.slice(0, this.nnz),
    };
  }

  private reserve(extra: number): void {
    if (this.rowCount + 2 > this.indptr.length) this.indptr = grow(this.indptr, this.rowCount + 2);
    if (this.nnz + extra > this.indices.length) {
      this.indices = grow(this.indices, this.nnz + extra);
      this.values = grow(this.values, this.nnz + extra);
    }
  }
}

function grow<T extends Int32Array | Float32Array>(a: T, atLeast: number): T {
  const out = new (a.constructor as { new (n: number): T })(Math.max(atLeast, a.length * 2));
  out.set(a);
  return out;
}

/** A rows × cols matrix of zeros. */
export function emptyCsr(rows: number, cols: number): CsrMatrix {
  return { rows, cols, indptr: new Int32Array(rows + 1), indices: new Int32Array(0), values: new Float32Array(0) };
}

/** Checks the CSR invariants; throws INVALID_ARGUMENT naming the first broken one. */
export function assertCsr(m: CsrMatrix, what = 'matrix'): void {
  const fail = (why: string) => {
    throw new AimassError('INVALID_ARGUMENT', `${what} is not a valid CSR matrix: ${why}`);
  };
  if (!Number.isInteger(m.rows) || m.rows < 0 || !Number.isInteger(m.cols) || m.cols < 0) fail(`bad shape ${m.rows} × ${m.cols}`);
  if (!(m.indptr instanceof Int32Array) || !(m.indices instanceof Int32Array) || !(m.values instanceof Float32Array)) {
    fail('indptr and indices must be Int32Array and values Float32Array');
  }
  if (m.indptr.length !== m.rows + 1) fail(`indptr has ${m.indptr.length} entries, expected rows + 1 = ${m.rows + 1}`);
  if (m.indptr[0] !== 0 || m.indptr[m.rows] !== m.indices.length || m.values.length !== m.indices.length) {
    fail('indptr must start at 0 and end at the number of stored values, and indices and values must have equal length');
  }
  for (let r = 0; r < m.rows; r++) {
    const start = m.indptr[r];
    const end = m.indptr[r + 1];
    if (end < start) fail(`indptr decreases at row ${r}`);
    let prev = -1;
    for (let k = start; k < end; k++) {
      const c = m.indices[k];
      if (c <= prev || c >= m.cols) fail(`row ${r}: column ${c} is out of order or outside 0..${m.cols - 1}`);
      prev = c;
    }
  }
}

/** The stored columns and values of row `r`, as views (no copy). */
export function csrRow(m: CsrMatrix, r: number): { indices: Int32Array; values: Float32Array } {
  const start = m.indptr[r];
  const end = m.indptr[r + 1];
  return { indices: m.indices.subarray(start, end), values: m.values.subarray(start, end) };
}

/** Rows `start` (inclusive) to `end` (exclusive) as a new matrix. */
export function csrRowSlice(m: CsrMatrix, start: number, end = m.rows): CsrMatrix {
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= m.rows)) {
    throw new AimassError('INVALID_ARGUMENT', `row slice ${start}..${end} is outside the ${m.rows} rows of the matrix`);
  }
  const from = m.indptr[start];
  const to = m.indptr[end];
  const indptr = new Int32Array(end - start + 1);
  for (let r = 0; r <= end - start; r++) indptr[r] = m.indptr[start + r] - from;
  return { rows: end - start, cols: m.cols, indptr, indices: m.indices.slice(from, to), values: m.values.slice(from, to) };
}

/** The rows at `rowIds`, in that order (repeats allowed), as a new matrix. */
export function csrSelectRows(m: CsrMatrix, rowIds: ArrayLike<number>): CsrMatrix {
  let nnz = 0;
  for (let i = 0; i < rowIds.length; i++) {
    const r = rowIds[i];
    if (!(Number.isInteger(r) && r >= 0 && r < m.rows)) throw new AimassError('INVALID_ARGUMENT', `row ${r} is outside the ${m.rows} rows of the matrix`);
    nnz += m.indptr[r + 1] - m.indptr[r];
  }
  const indptr = new Int32Array(rowIds.length + 1);
  const indices = new Int32Array(nnz);
  const values = new Float32Array(nnz);
  let at = 0;
  for (let i = 0; i < rowIds.length; i++) {
    const r = rowIds[i];
    const start = m.indptr[r];
    const end = m.indptr[r + 1];
    indices.set(m.indices.subarray(start, end), at);
    values.set(m.values.subarray(start, end), at);
    at += end - start;
    indptr[i + 1] = at;
  }
  return { rows: rowIds.length, cols: m.cols, indptr, indices, values };
}

/**
 * Keeps the columns listed in `columns`, renumbered by their position there: new column j is old column
 * `columns[j]`. The list may be in any order but must not repeat a column.
 */
export function csrSelectColumns(m: CsrMatrix, columns: ArrayLike<number>): CsrMatrix {
  const remap = new Int32Array(m.cols).fill(-1);
  let increasing = true;
  for (let j = 0; j < columns.length; j++) {
    const c = columns[j];
    if (!(Number.isInteger(c) && c >= 0 && c < m.cols)) throw new AimassError('INVALID_ARGUMENT', `column ${c} is outside the ${m.cols} columns of the matrix`);
    if (remap[c] !== -1) throw new AimassError('INVALID_ARGUMENT', `column ${c} is listed twice; each kept column must appear once`);
    remap[c] = j;
    if (j > 0 && c < columns[j - 1]) increasing = false;
  }
  let nnz = 0;
  for (let k = 0; k < m.indices.length; k++) if (remap[m.indices[k]] >= 0) nnz++;
  const indptr = new Int32Array(m.rows + 1);
  const indices = new Int32Array(nnz);
  const values = new Float32Array(nnz);
  let at = 0;
  for (let r = 0; r < m.rows; r++) {
    const rowStart = at;
    for (let k = m.indptr[r]; k < m.indptr[r + 1]; k++) {
      const j = remap[m.indices[k]];
      if (j < 0) continue;
      indices[at] = j;
      values[at] = m.values[k];
      at++;
    }
    // an increasing column list keeps each row's order; any other order needs a re-sort of the row
    if (!increasing && at - rowStart > 1) sortRowByColumn(indices, values, rowStart, at);
    indptr[r + 1] = at;
  }
  return { rows: m.rows, cols: columns.length, indptr, indices, values };
}

function sortRowByColumn(indices: Int32Array, values: Float32Array, start: number, end: number): void {
  const pairs: [number, number][] = [];
  for (let k = start; k < end; k++) pairs.push([indices[k], values[k]]);
  pairs.sort((a, b) => a[0] - b[0]);
  for (let k = start; k < end; k++) {
    indices[k] = pairs[k - start][0];
    values[k] = pairs[k - start][1];
  }
}

/** Per column, the sum of its values (float64). */
export function csrColumnSums(m: CsrMatrix): Float64Array {
  const sums = new Float64Array(m.cols);
  for (let k = 0; k < m.indices.length; k++) sums[m.indices[k]] += m.values[k];
  return sums;
}

/** How many rows have no stored value (e.g. documents with no known term). */
export function countEmptyRows(m: CsrMatrix): number {
  let empty = 0;
  for (let r = 0; r < m.rows; r++) if (m.indptr[r + 1] === m.indptr[r]) empty++;
  return empty;
}

/**
 * Scales each row to unit l2 (or l1) norm, in a copy unless `inPlace`. All-zero rows stay zero. Norms are
 * summed in float64, so the result does not depend on float32 rounding of partial sums.
 */
export function csrNormalizeRows(m: CsrMatrix, norm: RowNorm = 'l2', inPlace = false): CsrMatrix {
  const values = inPlace ? m.values : m.values.slice();
  normalizeSpans(values, m.indptr, m.rows, norm);
  return inPlace ? m : { ...m, indptr: m.indptr, indices: m.indices, values };
}

/** Normalizes `values[indptr[r] .. indptr[r+1])` for every row r, in place. */
export function normalizeSpans(values: Float32Array | Float64Array, indptr: Int32Array, rows: number, norm: RowNorm): void {
  for (let r = 0; r < rows; r++) {
    const start = indptr[r];
    const end = indptr[r + 1];
    let total = 0;
    if (norm === 'l2') for (let k = start; k < end; k++) total += values[k] * values[k];
    else for (let k = start; k < end; k++) total += Math.abs(values[k]);
    if (total === 0) continue;
    const divisor = norm === 'l2' ? Math.sqrt(total) : total;
    for (let k = start; k < end; k++) values[k] /= divisor;
  }
}

/** The matrix as dense rows; refuses above MAX_DENSE_CELLS cells (use row slices for big matrices). */
export function csrToDense(m: CsrMatrix): DenseMatrix {
  const cells = m.rows * m.cols;
  if (cells > MAX_DENSE_CELLS) {
    throw new AimassError('RESOURCE_EXHAUSTED', `a dense ${m.rows} × ${m.cols} matrix has ${cells} cells (limit ${MAX_DENSE_CELLS}); convert row slices instead`);
  }
  const data = new Float32Array(cells);
  for (let r = 0; r < m.rows; r++) {
    const base = r * m.cols;
    for (let k = m.indptr[r]; k < m.indptr[r + 1]; k++) data[base + m.indices[k]] = m.values[k];
  }
  return { rows: m.rows, cols: m.cols, data };
}

/** The nonzeros of a dense matrix as CSR. */
export function csrFromDense(d: DenseMatrix): CsrMatrix {
  assertDense(d);
  const b = new CsrBuilder(d.cols, d.rows);
  const cols: number[] = [];
  const vals: number[] = [];
  for (let r = 0; r < d.rows; r++) {
    cols.length = 0;
    vals.length = 0;
    const base = r * d.cols;
    for (let c = 0; c < d.cols; c++) {
      const v = d.data[base + c];
      if (v !== 0) {
        cols.push(c);
        vals.push(v);
      }
    }
    b.addSortedRow(cols, vals);
  }
  return b.build();
}

/** A dense matrix from rows of numbers (all rows the same length). */
export function denseFromRows(rows: readonly (readonly number[])[], cols = rows[0]?.length ?? 0): DenseMatrix {
  const data = new Float32Array(rows.length * cols);
  rows.forEach((row, r) => {
    if (row.length !== cols) throw new AimassError('INVALID_ARGUMENT', `row ${r} has ${row.length} values, expected ${cols}`);
    data.set(row, r * cols);
  });
  return { rows: rows.length, cols, data };
}

/** Checks a dense matrix's shape against its data length. */
export function assertDense(d: DenseMatrix, what = 'matrix'): void {
  if (!Number.isInteger(d.rows) || d.rows < 0 || !Number.isInteger(d.cols) || d.cols < 0 || !(d.data instanceof Float32Array)) {
    throw new AimassError('INVALID_ARGUMENT', `${what} must be { rows, cols, data: Float32Array } with whole, non-negative rows and cols`);
  }
  if (d.data.length !== d.rows * d.cols) {
    throw new AimassError('INVALID_ARGUMENT', `${what} is ${d.rows} × ${d.cols} but its data has ${d.data.length} values, expected ${d.rows * d.cols}`);
  }
}

/** The columns of a dense matrix at `columns`, in that order. */
export function denseSelectColumns(d: DenseMatrix, columns: ArrayLike<number>): DenseMatrix {
  for (let j = 0; j < columns.length; j++) {
    const c = columns[j];
    if (!(Number.isInteger(c) && c >= 0 && c < d.cols)) throw new AimassError('INVALID_ARGUMENT', `column ${c} is outside the ${d.cols} columns of the matrix`);
  }
  const width = columns.length;
  const data = new Float32Array(d.rows * width);
  for (let r = 0; r < d.rows; r++) {
    const src = r * d.cols;
    const dst = r * width;
    for (let j = 0; j < width; j++) data[dst + j] = d.data[src + columns[j]];
  }
  return { rows: d.rows, cols: width, data };
}

/**
 * Mean and population variance (divide by rows) of each column, in float64; a CSR matrix's implicit zeros
 * count. Two passes (mean, then squared deviations), so large offsets do not swamp small spreads.
 */
export function columnMoments(m: FeatureMatrix): { mean: Float64Array; variance: Float64Array } {
  const n = m.rows;
  const mean = new Float64Array(m.cols);
  const variance = new Float64Array(m.cols);
  if (n === 0) return { mean, variance };
  if (isCsr(m)) {
    const stored = new Float64Array(m.cols);
    for (let k = 0; k < m.indices.length; k++) {
      mean[m.indices[k]] += m.values[k];
      stored[m.indices[k]]++;
    }
    for (let j = 0; j < m.cols; j++) mean[j] /= n;
    for (let k = 0; k < m.indices.length; k++) {
      const d = m.values[k] - mean[m.indices[k]];
      variance[m.indices[k]] += d * d;
    }
    // each implicit zero deviates from the mean by -mean
    for (let j = 0; j < m.cols; j++) variance[j] = (variance[j] + (n - stored[j]) * mean[j] * mean[j]) / n;
  } else {
    const { cols, data } = m;
    for (let r = 0; r < n; r++) for (let c = 0; c < cols; c++) mean[c] += data[r * cols + c];
    for (let c = 0; c < cols; c++) mean[c] /= n;
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < cols; c++) {
        const d = data[r * cols + c] - mean[c];
        variance[c] += d * d;
      }
    }
    for (let c = 0; c < cols; c++) variance[c] /= n;
  }
  return { mean, variance };
}
