// Indexing ops: Gather (embedding lookup; its gradient scatter-adds rows into zeros), GatherElements,
// ScatterND / ScatterElements with reduction='add', Zeros (ConstantOfShape) and OneHot.
import { type Graph, type Value, defineOp, shapeError } from '../graph.js';
import { normAxis, numel } from '../shape.js';
import { emitSimple, fmt, int, ints } from './common.js';
import { reshape, unsqueeze } from './shape-ops.js';

defineOp({
  type: 'Zeros',
  infer: (x) => [{ dtype: 'float32', shape: x.attrs.shape as number[] }],
  emit: (e, n) => e.node('ConstantOfShape', [e.int64s(ints(n, 'shape'))], [e.name(n.outputs[0])]),
  nondiff: true,
});

/** Gather along axis 0 (rows of a table by integer ids): table [V, ...], ids [...] -> [...ids, ...]. */
defineOp({
  type: 'Gather',
  infer: (x) => {
    const [table, ids] = x.inputs;
    if (ids.dtype !== 'int64') shapeError(`ids must be int64, got ${ids.dtype}`);
    return [{ dtype: table.dtype, shape: [...ids.shape, ...table.shape.slice(1)] }];
  },
  emit: emitSimple('Gather', () => ({ axis: { i: 0 } })),
  grad: (g, n, [dy], needs) => {
    if (!dy || !needs[0]) return [null, null];
    const [table, ids] = n.inputs;
    const tableShape = table.shape as number[];
    const rows = numel(ids.shape as number[]);
    // ScatterND(zeros[V, ...], ids[rows, 1], dY[rows, ...], add): duplicate ids are summed
    const updates = reshape(g, dy, [rows, ...tableShape.slice(1)]);
    const index = unsqueeze(g, reshape(g, ids, [rows]), [1]);
    return [g.op('ScatterND', [zeros(g, tableShape), index, updates], { reduction: 'add' }), null];
  },
});

defineOp({
  type: 'GatherElements',
  infer: (x) => {
    const [data, idx] = x.inputs;
    if (idx.dtype !== 'int64') shapeError(`indices must be int64, got ${idx.dtype}`);
    if (idx.shape.length !== data.shape.length) shapeError(`indices ${fmt(idx.shape)} and data ${fmt(data.shape)} differ in rank`);
    return [{ dtype: data.dtype, shape: idx.shape }];
  },
  emit: emitSimple('GatherElements', (n) => ({ axis: { i: int(n, 'axis') } })),
  grad: (g, n, [dy], needs) => {
    if (!dy || !needs[0]) return [null, null];
    const [data, idx] = n.inputs;
    return [g.op('ScatterElements', [zeros(g, data.shape as number[]), idx, dy], { axis: int(n, 'axis'), reduction: 'add' }), null];
  },
});

defineOp({
  type: 'ScatterND',
  infer: (x) => [{ ...x.inputs[0] }],
  emit: emitSimple('ScatterND', (n) => ({ reduction: { s: n.attrs.reduction as string } })),
});

defineOp({
  type: 'ScatterElements',
  infer: (x) => [{ ...x.inputs[0] }],
  emit: emitSimple('ScatterElements', (n) => ({ axis: { i: int(n, 'axis') }, reduction: { s: n.attrs.reduction as string } })),
});

/** One-hot float rows: ids [...] -> [..., depth]. */
defineOp({
  type: 'OneHot',
  infer: (x) => {
    if (x.inputs[0].dtype !== 'int64') shapeError(`class ids must be int64, got ${x.inputs[0].dtype}`);
    return [{ dtype: 'float32', shape: [...x.inputs[0].shape, x.attrs.depth as number] }];
  },
  emit: (e, n) =>
    e.node('OneHot', [e.name(n.inputs[0]), e.int64s([int(n, 'depth')], true), e.floats([0, 1], [2])], [e.name(n.outputs[0])], { axis: { i: -1 } }),
  nondiff: true,
});

export const zeros = (g: Graph, shape: number[]): Value => g.op('Zeros', [], { shape });
export const gather = (g: Graph, table: Value, ids: Value): Value => g.op('Gather', [table, ids]);
export const gatherElements = (g: Graph, data: Value, idx: Value, axis: number): Value =>
  g.op('GatherElements', [data, idx], { axis: normAxis(axis, data.rank, 'GatherElements') });
export const oneHot = (g: Graph, ids: Value, depth: number): Value => g.op('OneHot', [ids], { depth });
