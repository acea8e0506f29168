// Elementwise arithmetic with NumPy broadcasting (Add, Sub, Mul, Div), unary maths (Neg, Exp, Log, Sqrt,
// Abs, Erf) and the non-differentiable helpers gradients are written with (comparisons, Where, Cast, Sign).
import { type Graph, type Value, defineOp, shapeError } from '../graph.js';
import { broadcastShapes } from '../shape.js';
import { broadcastRule, emitSimple, expectInputs, fmt, sameAsInput, unbroadcast } from './common.js';

const binary = broadcastRule();

defineOp({
  type: 'Add',
  infer: binary,
  emit: emitSimple(),
  grad: (g, n, [dy], needs) => n.inputs.map((v, i) => (needs[i] && dy ? unbroadcast(g, dy, v.shape) : null)),
});

defineOp({
  type: 'Sub',
  infer: binary,
  emit: emitSimple(),
  grad: (g, n, [dy], needs) => [
    needs[0] && dy ? unbroadcast(g, dy, n.inputs[0].shape) : null,
    needs[1] && dy ? unbroadcast(g, neg(g, dy), n.inputs[1].shape) : null,
  ],
});

defineOp({
  type: 'Mul',
  infer: binary,
  emit: emitSimple(),
  grad: (g, n, [dy], needs) => {
    const [a, b] = n.inputs;
    return [
      needs[0] && dy ? unbroadcast(g, mul(g, dy, b), a.shape) : null,
      needs[1] && dy ? unbroadcast(g, mul(g, dy, a), b.shape) : null,
    ];
  },
});

defineOp({
  type: 'Div',
  infer: binary,
  emit: emitSimple(),
  grad: (g, n, [dy], needs) => {
    const [a, b] = n.inputs;
    const y = n.outputs[0];
    return [
      needs[0] && dy ? unbroadcast(g, div(g, dy, b), a.shape) : null,
      // d(a/b)/db = -y/b
      needs[1] && dy ? unbroadcast(g, neg(g, div(g, mul(g, dy, y), b)), b.shape) : null,
    ];
  },
});

/** Elementwise maximum of two tensors; the gradient goes to the larger one (to `a` on ties). */
defineOp({
  type: 'Max',
  infer: binary,
  emit: emitSimple(),
  grad: (g, n, [dy], needs) => {
    const [a, b] = n.inputs;
    if (!dy) return [null, null];
    const aWins = g.op('GreaterOrEqual', [a, b]);
    const zero = g.scalar(0);
    return [
      needs[0] ? unbroadcast(g, where(g, aWins, dy, zero), a.shape) : null,
      needs[1] ? unbroadcast(g, where(g, aWins, zero, dy), b.shape) : null,
    ];
  },
});

defineOp({ type: 'Neg', infer: sameAsInput, emit: emitSimple(), grad: (g, _n, [dy]) => [dy ? neg(g, dy) : null] });

defineOp({
  type: 'Exp',
  infer: sameAsInput,
  emit: emitSimple(),
  grad: (g, n, [dy]) => [dy ? mul(g, dy, n.outputs[0]) : null],
});

defineOp({
  type: 'Log',
  infer: sameAsInput,
  emit: emitSimple(),
  grad: (g, n, [dy]) => [dy ? div(g, dy, n.inputs[0]) : null],
});

defineOp({
  type: 'Sqrt',
  infer: sameAsInput,
  emit: emitSimple(),
  // d sqrt(x) = 1 / (2 sqrt(x))
  grad: (g, n, [dy]) => [dy ? div(g, dy, mul(g, n.outputs[0], g.scalar(2))) : null],
});

defineOp({
  type: 'Abs',
  infer: sameAsInput,
  emit: emitSimple(),
  grad: (g, n, [dy]) => [dy ? mul(g, dy, g.op('Sign', [n.inputs[0]])) : null],
});

defineOp({ type: 'Sign', infer: sameAsInput, emit: emitSimple(), nondiff: true });
defineOp({
  type: 'Erf',
  infer: sameAsInput,
  emit: emitSimple(),
  // d erf(x) = 2/√π · exp(−x²)
  grad: (g, n, [dy]) => [dy ? mul(g, dy, scale(g, exp(g, neg(g, square(g, n.inputs[0]))), 2 / Math.sqrt(Math.PI))) : null],
});
defineOp({ type: 'Identity', infer: sameAsInput, emit: emitSimple(), grad: (_g, _n, [dy]) => [dy] });

for (const type of ['Greater', 'Less', 'GreaterOrEqual', 'Equal']) {
  defineOp({ type, infer: broadcastRule('bool'), emit: emitSimple(), nondiff: true });
}

defineOp({
  type: 'Where',
  infer: (x) => {
    expectInputs(x, 3, 'Where');
    const [c, a, b] = x.inputs;
    if (c.dtype !== 'bool') shapeError(`Where's condition must be bool, got ${c.dtype}`);
    if (a.dtype !== b.dtype) shapeError(`Where's branches differ in type: ${a.dtype} and ${b.dtype}`);
    const ab = broadcastShapes(a.shape, b.shape);
    const shape = ab && broadcastShapes(c.shape, ab);
    if (!shape) shapeError(`shapes ${fmt(c.shape)}, ${fmt(a.shape)} and ${fmt(b.shape)} do not broadcast`);
    return [{ dtype: a.dtype, shape }];
  },
  emit: emitSimple(),
  grad: (g, n, [dy], needs) => {
    const [c, a, b] = n.inputs;
    if (!dy) return [null, null, null];
    const zero = g.scalar(0);
    return [
      null,
      needs[1] ? unbroadcast(g, where(g, c, dy, zero), a.shape) : null,
      needs[2] ? unbroadcast(g, where(g, c, zero, dy), b.shape) : null,
    ];
  },
});

const CAST_TO: Record<string, number> = { float32: 1, int64: 7, bool: 9 };

defineOp({
  type: 'Cast',
  infer: (x) => [{ dtype: x.attrs.to as 'float32' | 'int64' | 'bool', shape: x.inputs[0].shape }],
  emit: emitSimple('Cast', (n) => ({ to: { i: CAST_TO[n.attrs.to as string] } })),
  nondiff: true,
});

export const add = (g: Graph, a: Value, b: Value): Value => g.op('Add', [a, b]);
export const sub = (g: Graph, a: Value, b: Value): Value => g.op('Sub', [a, b]);
export const mul = (g: Graph, a: Value, b: Value): Value => g.op('Mul', [a, b]);
export const div = (g: Graph, a: Value, b: Value): Value => g.op('Div', [a, b]);
export const maximum = (g: Graph, a: Value, b: Value): Value => g.op('Max', [a, b]);
export const neg = (g: Graph, a: Value): Value => g.op('Neg', [a]);
export const exp = (g: Graph, a: Value): Value => g.op('Exp', [a]);
export const log = (g: Graph, a: Value): Value => g.op('Log', [a]);
export const sqrt = (g: Graph, a: Value): Value => g.op('Sqrt', [a]);
export const abs = (g: Graph, a: Value): Value => g.op('Abs', [a]);
export const square = (g: Graph, a: Value): Value => g.op('Mul', [a, a]);
export const where = (g: Graph, c: Value, a: Value, b: Value): Value => g.op('Where', [c, a, b]);
export const greater = (g: Graph, a: Value, b: Value): Value => g.op('Greater', [a, b]);
export const equal = (g: Graph, a: Value, b: Value): Value => g.op('Equal', [a, b]);
export const cast = (g: Graph, a: Value, to: 'float32' | 'int64' | 'bool'): Value => g.op('Cast', [a], { to });
/** a * s for a JS number s. */
export const scale = (g: Graph, a: Value, s: number): Value => g.op('Mul', [a, g.scalar(s)]);

/** base ** exponent; used for Adam's bias corrections (β^step), not differentiated. */
defineOp({ type: 'Pow', infer: broadcastRule(), emit: emitSimple() });
export const pow = (g: Graph, a: Value, b: Value): Value => g.op('Pow', [a, b]);
