// Turns an IR graph into an ONNX ModelProto (serialized with onnx-proto/protobufjs). Only the nodes the
// requested outputs depend on are emitted. Parameters become graph inputs (train step: weights flow in and
// out every step) or initializers holding trained values (the exported forward model).
import onnxProto from 'onnx-proto';
import type { onnx as pb } from 'onnx-proto';
import { type EmitterLike, type Graph, type Node, type OnnxAttrs, type Value, opDef } from './graph.js';
import type { DType, Shape } from './shape.js';

const { onnx } = onnxProto;

export const OPSET = 17;
export const IR_VERSION = 8;

const DTYPE_CODE: Record<DType, number> = { float32: 1, int64: 7, bool: 9 };

export interface WriteOptions {
  /** Graph outputs: output name -> value. */
  outputs: Record<string, Value>;
  /** 'inputs': params and buffers are graph inputs; 'initializers': they are baked in from `values`. */
  params: 'inputs' | 'initializers';
  values?: Map<string, Float32Array>;
  /** Graph name and doc string stored in the model. */
  name?: string;
  doc?: string;
  metadata?: Record<string, string>;
}

class Emitter implements EmitterLike {
  readonly nodes: pb.INodeProto[] = [];
  readonly initializers: pb.ITensorProto[] = [];
  private tempCount = 0;
  private names = new Map<Value, string>();
  private usedNames = new Set<string>();
  constructor(private readonly used: Set<Value>) {}

  isUsed(v: Value): boolean {
    return this.used.has(v);
  }

  name(v: Value): string {
    let n = this.names.get(v);
    if (n === undefined) {
      n = v.name || `t${v.id}`;
      this.names.set(v, n);
    }
    return n;
  }

  reserve(names: Iterable<string>): void {
    for (const n of names) this.usedNames.add(n);
  }

  node(opType: string, inputs: string[], outputs: string[], attrs: OnnxAttrs = {}): void {
    const attribute: pb.IAttributeProto[] = [];
    for (const [name, a] of Object.entries(attrs)) {
      if (a === undefined) continue;
      if ('i' in a) attribute.push({ name, type: onnx.AttributeProto.AttributeType.INT, i: a.i });
      else if ('f' in a) attribute.push({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f: a.f });
      else if ('s' in a) attribute.push({ name, type: onnx.AttributeProto.AttributeType.STRING, s: Buffer.from(a.s) });
      else if ('ints' in a) attribute.push({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: a.ints });
      else attribute.push({ name, type: onnx.AttributeProto.AttributeType.FLOATS, floats: a.floats });
    }
    this.nodes.push({ opType, input: inputs, output: outputs, attribute, name: `${opType}_${this.nodes.length}` });
  }

  int64s(values: number[], scalar = false): string {
    const name = this.temp('i64');
    const data = BigInt64Array.from(values.map((x) => BigInt(x)));
    this.initializers.push(tensorProto(name, 'int64', scalar ? [] : [values.length], data));
    return name;
  }

  floats(values: number[], shape: number[]): string {
    const name = this.temp('f32');
    this.initializers.push(tensorProto(name, 'float32', shape, Float32Array.from(values)));
    return name;
  }

  temp(hint: string): string {
    let n: string;
    do n = `_${hint}_${this.tempCount++}`;
    while (this.usedNames.has(n));
    return n;
  }
}

function tensorProto(name: string, dtype: DType, dims: number[], data: Float32Array | BigInt64Array | Uint8Array): pb.ITensorProto {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return { name, dataType: DTYPE_CODE[dtype], dims, rawData: bytes };
}

function valueInfo(name: string, dtype: DType, shape: Shape): pb.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: DTYPE_CODE[dtype],
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** The nodes that `outputs` depend on, in graph (topological) order. */
export function liveNodes(graph: Graph, outputs: Value[]): Node[] {
  const live = new Set<Node>();
  const stack = [...outputs];
  while (stack.length) {
    const v = stack.pop()!;
    const n = v.producer;
    if (!n || live.has(n)) continue;
    live.add(n);
    stack.push(...n.inputs);
  }
  return graph.nodes.filter((n) => live.has(n));
}

export function writeModel(graph: Graph, opts: WriteOptions): Uint8Array {
  const outEntries = Object.entries(opts.outputs);
  const nodes = liveNodes(graph, outEntries.map(([, v]) => v));
  const used = new Set<Value>();
  for (const n of nodes) for (const v of n.inputs) used.add(v);
  for (const [, v] of outEntries) used.add(v);
  const e = new Emitter(used);
  e.reserve([...graph.inputs, ...graph.params, ...graph.buffers, ...graph.consts].map((v) => v.name));
  e.reserve(outEntries.map(([k]) => k));

  const inputs: pb.IValueInfoProto[] = [];
  for (const v of graph.inputs) if (used.has(v)) inputs.push(valueInfo(v.name, v.dtype, v.shape));
  for (const v of [...graph.params, ...graph.buffers]) {
    if (!used.has(v)) continue;
    if (opts.params === 'inputs') inputs.push(valueInfo(v.name, v.dtype, v.shape));
    else {
      const data = opts.values?.get(v.name);
      if (!data) throw new Error(`writeModel: no value for parameter ${v.name}`);
      e.initializers.push(tensorProto(v.name, 'float32', v.shape as number[], data));
    }
  }
  for (const v of graph.consts) if (used.has(v)) e.initializers.push(tensorProto(v.name, v.dtype, v.shape as number[], v.data!));

  for (const n of nodes) opDef(n.op).emit(e, n);

  const outputs: pb.IValueInfoProto[] = [];
  for (const [name, v] of outEntries) {
    e.node('Identity', [e.name(v)], [name]);
    outputs.push(valueInfo(name, v.dtype, v.shape));
  }

  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: 'aimass',
    producerVersion: '0.1.0',
    opsetImport: [{ domain: '', version: OPSET }],
    docString: opts.doc ?? '',
    metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: { name: opts.name ?? 'aimass', node: e.nodes, initializer: e.initializers, input: inputs, output: outputs },
  });
  return onnx.ModelProto.encode(model).finish();
}
