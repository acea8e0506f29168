// Tensor types of the graph IR: element types, shapes with fixed or symbolic dimensions, and the shape
// arithmetic (broadcasting, products) that op shape rules share.

export type DType = 'float32' | 'int64' | 'bool';

/** A dimension is a fixed size or a symbolic name (the served forward graph's batch dimension is 'N'). */
export type Dim = number | string;
export type Shape = Dim[];

export interface TensorType {
  dtype: DType;
  shape: Shape;
}

export function isFixed(shape: Shape): shape is number[] {
  return shape.every((d) => typeof d === 'number');
}

export function fixed(shape: Shape, what: string): number[] {
  if (!isFixed(shape)) throw new Error(`${what}: shape [${formatShape(shape)}] has a symbolic dimension where a fixed one is needed`);
  return shape;
}

export function formatShape(shape: Shape): string {
  return shape.join(', ');
}

/** Number of elements; only for fixed shapes. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** NumPy-style broadcast of two shapes, or null when they do not broadcast. */
export function broadcastShapes(a: Shape, b: Shape): Shape | null {
  const n = Math.max(a.length, b.length);
  const out: Shape = [];
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)];
    const db = i < n - b.length ? 1 : b[i - (n - b.length)];
    if (da === db) out.push(da);
    else if (da === 1) out.push(db);
    else if (db === 1) out.push(da);
    else return null;
  }
  return out;
}

/**
 * Axes of `out` along which a tensor of shape `inp` was broadcast (for reducing its gradient), counted in
 * `out`'s numbering: leading axes that `inp` lacks, and axes where `inp` has 1 and `out` does not.
 */
export function broadcastAxes(inp: Shape, out: Shape): number[] {
  const lead = out.length - inp.length;
  const axes: number[] = [];
  for (let i = 0; i < out.length; i++) {
    if (i < lead) axes.push(i);
    else if (inp[i - lead] === 1 && out[i] !== 1) axes.push(i);
  }
  return axes;
}

/** Normalizes a possibly negative axis against a rank, failing with a message naming the axis. */
export function normAxis(axis: number, rank: number, what: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new Error(`${what}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}
