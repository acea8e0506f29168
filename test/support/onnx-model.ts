// Small real ONNX models for registry, API and serving tests, compiled by the engine (an MLP classifier with
// random weights), written to a folder as a registrable model version.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng, parseWith } from '../../src/core/index.js';
import { compileForward, initialValues, modelTensors } from '../../src/engine/index.js';
import { ModelSpecSchema, buildModel } from '../../src/models/index.js';

/** ONNX bytes of an MLP with `input` features and `classes` outputs (inputs: features; outputs: logits, probabilities). */
export function mlpOnnx(o: { input?: number; classes?: number; seed?: number } = {}): Uint8Array {
  const model = buildModel(parseWith(ModelSpecSchema, { type: 'mlp', input: o.input ?? 4, hidden: [8], classes: o.classes ?? 3 }, 'model spec'));
  const { params, buffers } = modelTensors(model);
  return compileForward(model, { params: 'initializers', values: initialValues([...params, ...buffers], new Rng(o.seed ?? 1)) });
}

/** A folder with model.onnx (+ pipeline.json and any `extra` files): what `Registry.register` takes. */
export async function modelFolder(dir: string, o: { seed?: number; extra?: Record<string, string | Uint8Array> } = {}): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.onnx'), mlpOnnx({ seed: o.seed }));
  await writeFile(join(dir, 'pipeline.json'), JSON.stringify({ labels: ['a', 'b', 'c'] }));
  for (const [name, body] of Object.entries(o.extra ?? {})) await writeFile(join(dir, name), body);
  return dir;
}
