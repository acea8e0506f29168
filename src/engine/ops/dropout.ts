// Dropout, in training graphs only (the forward graph passes its input through). The mask comes from
// ONNX Dropout's second output; its gradient is dY·mask/(1−ratio).
import { type Graph, type Value, defineOp, shapeError } from '../graph.js';
import { cast, mul, scale } from './elementwise.js';

defineOp({
  type: 'Dropout',
  infer: (x) => {
    const r = x.attrs.ratio as number;
    if (!(r >= 0 && r < 1)) shapeError(`dropout ratio must be in [0, 1), got ${r}`);
    return [{ ...x.inputs[0] }, { dtype: 'bool', shape: x.inputs[0].shape }];
  },
  emit: (e, n) =>
    e.node(
      'Dropout',
      [e.name(n.inputs[0]), e.floats([n.attrs.ratio as number], []), e.name(n.inputs[1])],
      [e.name(n.outputs[0]), e.name(n.outputs[1])],
      { seed: { i: n.attrs.seed as number } },
    ),
  grad: (g, n, [dy]) => [dy ? scale(g, mul(g, dy, cast(g, n.outputs[1], 'float32')), 1 / (1 - (n.attrs.ratio as number))) : null, null],
});

/** Drops activations with probability `ratio` while training; identity in the forward graph. */
export function dropout(g: Graph, x: Value, ratio: number, seed: number): Value {
  if (!g.training || ratio === 0) return x;
  // the second input is ONNX Dropout's training_mode flag
  return g.apply('Dropout', [x, g.constBool(true)], { ratio, seed })[0];
}
