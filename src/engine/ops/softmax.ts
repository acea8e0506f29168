// Softmax and LogSoftmax along one axis.
import { type Graph, type Value, defineOp } from '../graph.js';
import { normAxis } from '../shape.js';
import { emitSimple, int, sameAsInput } from './common.js';
import { exp, mul, sub } from './elementwise.js';
import { reduceSum } from './reduce.js';

const axisAttr = emitSimple(undefined, (n) => ({ axis: { i: int(n, 'axis') } }));

defineOp({
  type: 'Softmax',
  infer: sameAsInput,
  emit: axisAttr,
  // dX = Y·(dY − Σ(dY·Y))
  grad: (g, n, [dy]) => {
    if (!dy) return [null];
    const y = n.outputs[0];
    const axis = normAxis(int(n, 'axis'), y.rank, 'Softmax');
    return [mul(g, y, sub(g, dy, reduceSum(g, mul(g, dy, y), [axis], true)))];
  },
});

defineOp({
  type: 'LogSoftmax',
  infer: sameAsInput,
  emit: axisAttr,
  // dX = dY − softmax(X)·Σ dY
  grad: (g, n, [dy]) => {
    if (!dy) return [null];
    const y = n.outputs[0];
    const axis = normAxis(int(n, 'axis'), y.rank, 'LogSoftmax');
    return [sub(g, dy, mul(g, exp(g, y), reduceSum(g, dy, [axis], true)))];
  },
});

export const softmax = (g: Graph, x: Value, axis = -1): Value => g.op('Softmax', [x], { axis });
export const logSoftmax = (g: Graph, x: Value, axis = -1): Value => g.op('LogSoftmax', [x], { axis });
