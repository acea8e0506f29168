// Reverse-mode automatic differentiation over the IR. Walks the nodes between the parameters and the loss
// backwards, asks each op's gradient rule for its inputs' gradients (only for inputs that need one), and sums
// gradients that reach a value along several paths. The gradient nodes are ordinary IR nodes appended to the
// same graph, so they are emitted to ONNX like any other. An op on the path without a rule fails loudly.
import { AimassError } from '../core/index.js';
import { type Graph, type Node, type Value, opDef } from './graph.js';
import { add, zeros } from './ops/index.js';
import { formatShape, sameShape } from './shape.js';

/** d(loss)/d(w) for each w in `wrt`, as values of the same graph. */
export function gradients(g: Graph, loss: Value, wrt: Value[]): Value[] {
  if (loss.dtype !== 'float32' || loss.shape.length !== 0) {
    throw new AimassError('INVALID_ARGUMENT', `the loss must be a float32 scalar, got ${loss.dtype} [${formatShape(loss.shape)}]`);
  }
  const forward = [...g.nodes];

  // values that depend on some w (gradients flow only through these)
  const dependent = new Set<Value>(wrt);
  for (const n of forward) {
    if (opDef(n.op).nondiff) continue;
    if (n.inputs.some((v) => dependent.has(v))) for (const o of n.outputs) if (o.dtype === 'float32') dependent.add(o);
  }
  // nodes the loss depends on
  const onPath = new Set<Node>();
  const stack = [loss];
  const seen = new Set<Value>();
  while (stack.length) {
    const v = stack.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    const n = v.producer;
    if (n && !onPath.has(n)) {
      onPath.add(n);
      stack.push(...n.inputs);
    }
  }

  const grads = new Map<Value, Value>();
  grads.set(loss, g.scalar(1));
  const accumulate = (v: Value, dv: Value) => {
    if (!sameShape(v.shape, dv.shape)) {
      throw new AimassError('INTERNAL', `gradient of ${v.producer?.op ?? v.kind} has shape [${formatShape(dv.shape)}], expected [${formatShape(v.shape)}]`);
    }
    const prev = grads.get(v);
    grads.set(v, prev ? add(g, prev, dv) : dv);
  };

  for (let i = forward.length - 1; i >= 0; i--) {
    const n = forward[i];
    if (!onPath.has(n) || !n.outputs.some((o) => dependent.has(o))) continue;
    const def = opDef(n.op);
    if (def.nondiff) continue;
    const dOut = n.outputs.map((o) => grads.get(o) ?? null);
    if (dOut.every((d) => d === null)) continue;
    const needs = n.inputs.map((v) => dependent.has(v) && v.dtype === 'float32');
    if (!needs.some(Boolean)) continue;
    if (!def.grad) {
      throw new AimassError('UNSUPPORTED', `op ${n.op}${n.scope ? ` in layer "${n.scope}"` : ''} has no gradient rule, so it cannot be trained through`, {
        op: n.op,
        layer: n.scope,
      });
    }
    const dIn = g.scope(`grad${n.scope ? `/${n.scope}` : ''}`, () => def.grad!(g, n, dOut, needs));
    n.inputs.forEach((v, k) => {
      const d = dIn[k];
      if (d && needs[k]) accumulate(v, d);
    });
  }
  // a parameter the loss does not depend on gets a zero gradient
  return wrt.map((w) => grads.get(w) ?? zeros(g, w.shape as number[]));
}
