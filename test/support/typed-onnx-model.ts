// A small real ONNX model over the element types beyond float32 and int64, written with onnx-proto directly
// (the engine's IR has no string tensors): each input passes through one op to an output of the same type, with
// a symbolic batch dimension so that requests batch. Used by serving and OIP tests.
import onnxProto from 'onnx-proto';
import type { onnx as pb } from 'onnx-proto';

const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;

/** Input → op → output, with the element type and per-sample dims of both. */
export const TYPED_MODEL_TENSORS = [
  { input: 'flag', output: 'not_flag', op: 'Not', dtype: 'bool', sample: [2] },
  { input: 'text', output: 'text_out', op: 'Identity', dtype: 'string', sample: [] },
  { input: 'count', output: 'count_out', op: 'Identity', dtype: 'int32', sample: [] },
  { input: 'score', output: 'score_out', op: 'Identity', dtype: 'float64', sample: [3] },
] as const;

const CODE = { bool: T.BOOL, string: T.STRING, int32: T.INT32, float64: T.DOUBLE } as const;

const valueInfo = (name: string, dtype: keyof typeof CODE, sample: readonly number[]): pb.IValueInfoProto => ({
  name,
  type: { tensorType: { elemType: CODE[dtype], shape: { dim: [{ dimParam: 'N' }, ...sample.map((d) => ({ dimValue: d }))] } } },
});

/** ONNX bytes of a model with inputs flag (BOOL [N,2]), text (BYTES [N]), count (INT32 [N]), score (FP64 [N,3]). */
export function typedOnnx(): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'aimass-tests',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'typed',
      node: TYPED_MODEL_TENSORS.map((t) => ({ opType: t.op, input: [t.input], output: [t.output], name: t.output })),
      input: TYPED_MODEL_TENSORS.map((t) => valueInfo(t.input, t.dtype, t.sample)),
      output: TYPED_MODEL_TENSORS.map((t) => valueInfo(t.output, t.dtype, t.sample)),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
