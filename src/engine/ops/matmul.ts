// Matrix products: MatMul (2-D, or a batch of rows [.., M, K] times a matrix [K, N]) and Gemm (2-D with
// optional transposes and bias), the workhorses of dense layers and of many gradients.
import { type Graph, type Value, defineOp, shapeError } from '../graph.js';
import { broadcastShapes, sameShape } from '../shape.js';
import { emitSimple, fmt, int, unbroadcast } from './common.js';
import { reshape } from './shape-ops.js';

defineOp({
  type: 'MatMul',
  infer: (x) => {
    const [a, b] = x.inputs;
    if (a.shape.length < 2 || b.shape.length !== 2)
      shapeError(`MatMul takes [.., M, K] times [K, N], got ${fmt(a.shape)} and ${fmt(b.shape)}`);
    const k = a.shape[a.shape.length - 1];
    if (k !== b.shape[0]) shapeError(`inner dimensions differ: ${fmt(a.shape)} times ${fmt(b.shape)}`);
    return [{ dtype: a.dtype, shape: [...a.shape.slice(0, -1), b.shape[1]] }];
  },
  emit: emitSimple(),
  grad: (g, n, [dy], needs) => {
    if (!dy) return [null, null];
    const [a, b] = n.inputs;
    const K = b.shape[0] as number;
    const N = b.shape[1] as number;
    // dA = dY · Bᵀ ; dB = A2ᵀ · dY2 with leading axes folded into rows
    const da = needs[0] ? (a.rank === 2 ? gemm(g, dy, b, { transB: true }) : g.op('MatMul', [dy, transpose2d(g, b)])) : null;
    const db = needs[1] ? gemm(g, reshape(g, a, [-1, K]), reshape(g, dy, [-1, N]), { transA: true }) : null;
    return [da, db];
  },
});

function transpose2d(g: Graph, x: Value): Value {
  return g.op('Transpose', [x], { perm: [1, 0] });
}

/** Y = op(A)·op(B) (+ C broadcast), 2-D only. */
defineOp({
  type: 'Gemm',
  infer: (x) => {
    const [a, b, c] = x.inputs;
    if (a.shape.length !== 2 || b.shape.length !== 2) shapeError(`Gemm takes 2-D inputs, got ${fmt(a.shape)} and ${fmt(b.shape)}`);
    const ta = x.attrs.transA === 1;
    const tb = x.attrs.transB === 1;
    const [m, ka] = ta ? [a.shape[1], a.shape[0]] : a.shape;
    const [kb, nn] = tb ? [b.shape[1], b.shape[0]] : b.shape;
    if (ka !== kb) shapeError(`inner dimensions differ: ${fmt(a.shape)}${ta ? 'ᵀ' : ''} times ${fmt(b.shape)}${tb ? 'ᵀ' : ''}`);
    // the bias broadcasts one way: to [M, N], never beyond it
    const biased = c && broadcastShapes(c.shape, [m, nn]);
    if (c && !(biased && sameShape(biased, [m, nn]))) shapeError(`bias ${fmt(c.shape)} does not broadcast to [${m}, ${nn}]`);
    return [{ dtype: a.dtype, shape: [m, nn] }];
  },
  emit: emitSimple('Gemm', (n) => ({ transA: { i: int(n, 'transA') ?? 0 }, transB: { i: int(n, 'transB') ?? 0 } })),
  grad: (g, n, [dy], needs) => {
    if (!dy) return [null, null, null];
    const [a, b, c] = n.inputs;
    const ta = n.attrs.transA === 1;
    const tb = n.attrs.transB === 1;
    // Y = A'B' with A' = op(A), B' = op(B): dA' = dY B'ᵀ, dB' = A'ᵀ dY, transposed back where op transposed.
    const da = !needs[0] ? null : ta ? gemm(g, b, dy, { transA: tb, transB: true }) : gemm(g, dy, b, { transB: !tb });
    const db = !needs[1] ? null : tb ? gemm(g, dy, a, { transA: true, transB: ta }) : gemm(g, a, dy, { transA: !ta });
    return [da, db, c && needs[2] ? unbroadcast(g, dy, c.shape) : null];
  },
});

export const matmul = (g: Graph, a: Value, b: Value): Value => g.op('MatMul', [a, b]);

export function gemm(g: Graph, a: Value, b: Value, o: { transA?: boolean; transB?: boolean; bias?: Value } = {}): Value {
  const inputs = o.bias ? [a, b, o.bias] : [a, b];
  return g.op('Gemm', inputs, { transA: o.transA ? 1 : 0, transB: o.transB ? 1 : 0 });
}
