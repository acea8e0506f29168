// Activations: Relu, LeakyRelu, Sigmoid, Tanh, GELU (exact, erf form). Each gradient is written from the
// op's output or input in standard ONNX ops.
import { type Graph, type Value, defineOp } from '../graph.js';
import { emitSimple, sameAsInput } from './common.js';
import { add, exp, greater, mul, neg, scale, square, sub, where } from './elementwise.js';

defineOp({
  type: 'Relu',
  infer: sameAsInput,
  emit: emitSimple(),
  grad: (g, n, [dy]) => [dy ? where(g, greater(g, n.outputs[0], g.scalar(0)), dy, g.scalar(0)) : null],
});

defineOp({
  type: 'LeakyRelu',
  infer: sameAsInput,
  emit: emitSimple('LeakyRelu', (n) => ({ alpha: { f: n.attrs.alpha as number } })),
  grad: (g, n, [dy]) => [dy ? where(g, greater(g, n.inputs[0], g.scalar(0)), dy, scale(g, dy, n.attrs.alpha as number)) : null],
});

defineOp({
  type: 'Sigmoid',
  infer: sameAsInput,
  emit: emitSimple(),
  grad: (g, n, [dy]) => {
    const y = n.outputs[0];
    return [dy ? mul(g, dy, mul(g, y, sub(g, g.scalar(1), y))) : null];
  },
});

defineOp({
  type: 'Tanh',
  infer: sameAsInput,
  emit: emitSimple(),
  grad: (g, n, [dy]) => [dy ? mul(g, dy, sub(g, g.scalar(1), square(g, n.outputs[0]))) : null],
});

/**
 * GELU, exact: x·Φ(x) with Φ(x) = ½(1 + erf(x/√2)). Emitted as Erf arithmetic (opset 17 has no Gelu);
 * gradient dY·(Φ(x) + x·φ(x)), φ the standard normal density.
 */
defineOp({
  type: 'Gelu',
  infer: sameAsInput,
  emit: (e, n) => {
    const x = e.name(n.inputs[0]);
    const t1 = e.temp('gelu');
    const t2 = e.temp('gelu');
    const t3 = e.temp('gelu');
    const t4 = e.temp('gelu');
    e.node('Mul', [x, e.floats([Math.SQRT1_2], [])], [t1]);
    e.node('Erf', [t1], [t2]);
    e.node('Add', [t2, e.floats([1], [])], [t3]);
    e.node('Mul', [x, t3], [t4]);
    e.node('Mul', [t4, e.floats([0.5], [])], [e.name(n.outputs[0])]);
  },
  grad: (g, n, [dy]) => {
    if (!dy) return [null];
    const x = n.inputs[0];
    const cdf = scale(g, add(g, g.op('Erf', [scale(g, x, Math.SQRT1_2)]), g.scalar(1)), 0.5);
    const pdf = scale(g, exp(g, neg(g, scale(g, square(g, x), 0.5))), 1 / Math.sqrt(2 * Math.PI));
    return [mul(g, dy, add(g, cdf, mul(g, x, pdf)))];
  },
});

export const relu = (g: Graph, x: Value): Value => g.op('Relu', [x]);
export const leakyRelu = (g: Graph, x: Value, alpha = 0.01): Value => g.op('LeakyRelu', [x], { alpha });
export const sigmoid = (g: Graph, x: Value): Value => g.op('Sigmoid', [x]);
export const tanh = (g: Graph, x: Value): Value => g.op('Tanh', [x]);
export const gelu = (g: Graph, x: Value): Value => g.op('Gelu', [x]);

export type Activation = 'relu' | 'leaky_relu' | 'sigmoid' | 'tanh' | 'gelu' | 'none';
export const ACTIVATIONS: readonly Activation[] = ['relu', 'leaky_relu', 'sigmoid', 'tanh', 'gelu', 'none'];

export function activation(g: Graph, x: Value, kind: Activation): Value {
  switch (kind) {
    case 'relu':
      return relu(g, x);
    case 'leaky_relu':
      return leakyRelu(g, x);
    case 'sigmoid':
      return sigmoid(g, x);
    case 'tanh':
      return tanh(g, x);
    case 'gelu':
      return gelu(g, x);
    case 'none':
      return x;
  }
}
