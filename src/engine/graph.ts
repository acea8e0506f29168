// The graph IR: values (typed tensors), nodes (op applications) and the graph that owns them, plus the op
// registry every op family adds itself to. A graph is built once per compilation (train step, forward) by
// running a model's builder code; shape rules run as each node is added, so a mismatch fails at build time
// naming the layer and both shapes.
import { AimassError } from '../core/index.js';
import { type DType, type Shape, type TensorType, formatShape } from './shape.js';

export type AttrValue = number | string | number[] | string[] | boolean;
export type Attrs = Record<string, AttrValue | undefined>;

/** Where a value comes from: an op's output, a graph input, a parameter, a buffer or a constant. */
export type ValueKind = 'node' | 'input' | 'param' | 'buffer' | 'const';

export class Value {
  /** Output of `producer` at `outputIndex`, when kind is 'node'. */
  producer?: Node;
  outputIndex = 0;
  /** Constant payload, when kind is 'const'. */
  data?: Float32Array | BigInt64Array | Uint8Array;
  constructor(
    readonly id: number,
    readonly kind: ValueKind,
    readonly type: TensorType,
    /** Graph-level name for inputs, params, buffers and named outputs; otherwise generated. */
    public name: string,
  ) {}
  get shape(): Shape {
    return this.type.shape;
  }
  get dtype(): DType {
    return this.type.dtype;
  }
  get rank(): number {
    return this.type.shape.length;
  }
}

export class Node {
  constructor(
    readonly id: number,
    readonly op: string,
    readonly inputs: Value[],
    readonly attrs: Attrs,
    readonly outputs: Value[],
    /** The layer scope the node was created in, for error messages ("block2/conv"). */
    readonly scope: string,
  ) {}
}

/** What a shape rule sees: the input types and the attributes. */
export interface InferInput {
  inputs: TensorType[];
  attrs: Attrs;
}

/** Thrown by shape rules; the graph turns it into a SHAPE_MISMATCH error naming the layer. */
export class ShapeRuleError extends Error {}

export function shapeError(message: string): never {
  throw new ShapeRuleError(message);
}

/**
 * One op of the IR. Its shape rule, its ONNX emission and its gradient rule live together in the op
 * family's file. A differentiable op without `grad` makes autodiff fail loudly, naming the op.
 */
export interface OpDef {
  readonly type: string;
  infer(x: InferInput): TensorType[];
  /** Emits ONNX nodes; see onnx-writer's Emitter. */
  emit(e: EmitterLike, node: Node): void;
  /**
   * Gradients of the inputs given gradients of the outputs (null where an output gets no gradient).
   * `needs[i]` says whether input i needs a gradient; return null for the others.
   */
  grad?(g: Graph, node: Node, dOutputs: (Value | null)[], needs: boolean[]): (Value | null)[];
  /** Outputs that carry no gradient at all (comparisons, argmax, indices, shapes). */
  readonly nondiff?: boolean;
}

/** An ONNX attribute with its type made explicit (1 as an int and 1.0 as a float look alike in JS). */
export type OnnxAttr = { i: number } | { f: number } | { s: string } | { ints: number[] } | { floats: number[] };
export type OnnxAttrs = Record<string, OnnxAttr | undefined>;

/** The part of the ONNX emitter an op's `emit` uses (kept here so ops do not import the writer). */
export interface EmitterLike {
  name(v: Value): string;
  /** Adds an ONNX node; inputs and outputs are names ('' for an omitted optional input). */
  node(opType: string, inputs: string[], outputs: string[], attrs?: OnnxAttrs): void;
  /** An int64 initializer holding `values` (shape [values.length], or a scalar with scalar=true). */
  int64s(values: number[], scalar?: boolean): string;
  /** A float initializer holding `values`. */
  floats(values: number[], shape: number[]): string;
  /** A fresh intermediate name. */
  temp(hint: string): string;
  /** Whether a value is read by the emitted graph (optional outputs such as MaxPool's Indices are dropped otherwise). */
  isUsed(v: Value): boolean;
}

const registry = new Map<string, OpDef>();

export function defineOp(def: OpDef): OpDef {
  if (registry.has(def.type)) throw new Error(`op ${def.type} is defined twice`);
  registry.set(def.type, def);
  return def;
}

export function opDef(type: string): OpDef {
  const def = registry.get(type);
  if (!def) throw new AimassError('UNSUPPORTED', `op "${type}" is not defined in the engine`);
  return def;
}

export function definedOps(): string[] {
  return [...registry.keys()].sort();
}

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Value[] = [];
  readonly params: Value[] = [];
  readonly buffers: Value[] = [];
  readonly consts: Value[] = [];
  private nextId = 0;
  private scopes: string[] = [];
  private usedNames = new Set<string>();
  private constCache = new Map<string, Value>();

  constructor(readonly options: { training: boolean } = { training: true }) {}

  get training(): boolean {
    return this.options.training;
  }

  /** Runs `fn` with `name` pushed on the layer scope; nodes created inside carry it for errors and names. */
  scope<T>(name: string, fn: () => T): T {
    this.scopes.push(name);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  get currentScope(): string {
    return this.scopes.join('/');
  }

  /** A unique graph-level name under the current scope. */
  uniqueName(base: string): string {
    const full = this.scopes.length ? `${this.currentScope}/${base}` : base;
    let name = full;
    for (let i = 1; this.usedNames.has(name); i++) name = `${full}_${i}`;
    this.usedNames.add(name);
    return name;
  }

  input(name: string, dtype: DType, shape: Shape): Value {
    const v = new Value(this.nextId++, 'input', { dtype, shape }, this.claim(name));
    this.inputs.push(v);
    return v;
  }

  /** A trainable float tensor; `init` fills it when the model is initialized. */
  param(name: string, shape: number[], init: ParamInit): Value {
    const v = new Value(this.nextId++, 'param', { dtype: 'float32', shape }, this.uniqueName(name));
    paramInits.set(v, init);
    this.params.push(v);
    return v;
  }

  /** A non-trainable state tensor updated by the train step (BatchNorm running statistics). */
  buffer(name: string, shape: number[], init: ParamInit): Value {
    const v = new Value(this.nextId++, 'buffer', { dtype: 'float32', shape }, this.uniqueName(name));
    paramInits.set(v, init);
    this.buffers.push(v);
    return v;
  }

  /** Buffer updates the train step must output: buffer -> its new value. */
  readonly bufferUpdates = new Map<Value, Value>();

  updateBuffer(buffer: Value, next: Value): void {
    if (buffer.kind !== 'buffer') throw new Error(`updateBuffer: ${buffer.name} is not a buffer`);
    this.bufferUpdates.set(buffer, next);
  }

  constFloat(values: Float32Array | number[], shape: number[]): Value {
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    return this.addConst({ dtype: 'float32', shape }, data);
  }

  constInt64(values: number[], shape: number[] = [values.length]): Value {
    return this.addConst({ dtype: 'int64', shape }, BigInt64Array.from(values.map((x) => BigInt(x))));
  }

  constBool(value: boolean): Value {
    return this.addConst({ dtype: 'bool', shape: [] }, Uint8Array.from([value ? 1 : 0]));
  }

  /** A float scalar constant (shape []), shared between uses. */
  scalar(x: number): Value {
    return this.constFloat([x], []);
  }

  private addConst(type: TensorType, data: Float32Array | BigInt64Array | Uint8Array): Value {
    const small = data.length <= 16;
    const key = small ? `${type.dtype}|${type.shape.join(',')}|${Array.from(data as ArrayLike<number | bigint>).join(',')}` : '';
    if (small) {
      const hit = this.constCache.get(key);
      if (hit) return hit;
    }
    const v = new Value(this.nextId++, 'const', type, this.claim(`const${this.nextId}`));
    v.data = data;
    this.consts.push(v);
    if (small) this.constCache.set(key, v);
    return v;
  }

  /** A SHAPE_MISMATCH error naming the current layer (for checks made outside a shape rule). */
  shapeMismatch(message: string, details: Record<string, unknown> = {}): AimassError {
    const where = this.currentScope ? `layer "${this.currentScope}"` : 'graph';
    return new AimassError('SHAPE_MISMATCH', `${where}: ${message}`, { layer: this.currentScope || undefined, ...details });
  }

  /** Applies an op: runs its shape rule, records the node, returns its outputs. */
  apply(type: string, inputs: Value[], attrs: Attrs = {}): Value[] {
    const def = opDef(type);
    let types: TensorType[];
    try {
      types = def.infer({ inputs: inputs.map((v) => v.type), attrs });
    } catch (e) {
      if (e instanceof ShapeRuleError) {
        const where = this.currentScope ? `layer "${this.currentScope}"` : 'graph';
        throw new AimassError('SHAPE_MISMATCH', `${where}, op ${type}: ${e.message}`, {
          layer: this.currentScope || undefined,
          op: type,
          inputShapes: inputs.map((v) => `[${formatShape(v.shape)}]`),
        });
      }
      throw e;
    }
    const node = new Node(this.nextId++, type, inputs, attrs, [], this.currentScope);
    types.forEach((t, i) => {
      const out = new Value(this.nextId++, 'node', t, '');
      out.producer = node;
      out.outputIndex = i;
      node.outputs.push(out);
    });
    this.nodes.push(node);
    return node.outputs;
  }

  /** Applies a single-output op. */
  op(type: string, inputs: Value[], attrs: Attrs = {}): Value {
    return this.apply(type, inputs, attrs)[0];
  }

  private claim(name: string): string {
    if (this.usedNames.has(name)) throw new AimassError('INVALID_ARGUMENT', `the graph already has a value named "${name}"`);
    this.usedNames.add(name);
    return name;
  }
}

/** How a parameter is initialized; `fanIn`/`fanOut` let the initializer scale itself. */
export type ParamInit =
  | { kind: 'zeros' }
  | { kind: 'ones' }
  | { kind: 'constant'; value: number }
  | { kind: 'uniform'; limit: number }
  | { kind: 'normal'; std: number }
  | { kind: 'he_uniform'; fanIn: number }
  /** U(±1/√fanIn): PyTorch's default for Linear and Conv weights and biases. */
  | { kind: 'fan_in_uniform'; fanIn: number }
  | { kind: 'glorot_uniform'; fanIn: number; fanOut: number };

const paramInits = new WeakMap<Value, ParamInit>();

export function paramInit(v: Value): ParamInit {
  const init = paramInits.get(v);
  if (!init) throw new Error(`value ${v.name} has no initializer`);
  return init;
}
