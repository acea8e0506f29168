// Reads a model's signature (input and output names, element types, shapes with symbolic dimensions) by
// loading the ONNX file in ONNX Runtime, which also validates it: a file ONNX Runtime cannot load is refused
// with the runtime's reason.
import { access } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { AimassError } from '../core/index.js';
import type { ModelSignature, TensorSignature } from '../storage/index.js';

interface OrtValueMetadata {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: (number | string)[];
}

export async function readOnnxSignature(path: string): Promise<ModelSignature> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path, { logSeverityLevel: 3 });
  } catch (e) {
    const msg = (e as Error).message;
    if (/No such file|does not exist|ENOENT|Load model from .* failed:Load model/.test(msg) && !(await exists(path))) {
      throw new AimassError('NOT_FOUND', `no ONNX file at ${path}`, { path });
    }
    throw new AimassError('INVALID_ARGUMENT', `${path} is not a model ONNX Runtime can load: ${msg}`, { path });
  }
  try {
    const meta = session as unknown as { inputMetadata: OrtValueMetadata[]; outputMetadata: OrtValueMetadata[] };
    const conv = (m: OrtValueMetadata): TensorSignature => ({ name: m.name, dtype: m.isTensor ? (m.type ?? 'unknown') : 'non-tensor', shape: m.shape ?? [] });
    return { inputs: meta.inputMetadata.map(conv), outputs: meta.outputMetadata.map(conv) };
  } finally {
    await session.release();
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
