// Small generated data sets for tests: separable blobs, a noisy linear target, tiny images with a
// class-dependent bright square, and token sequences whose class is set by a keyword.
import { Rng } from '../../src/core/index.js';
import type { Dataset } from '../../src/data/index.js';

/** `seed` draws the samples; the class centers depend only on the sizes, so every seed samples one problem. */
export function blobs(n: number, features: number, classes: number, seed = 1): Dataset {
  const problem = new Rng(1000 + features * 31 + classes);
  const centers = Array.from({ length: classes }, () => Array.from({ length: features }, () => problem.normal() * 3));
  const rng = new Rng(seed);
  const x = new Float32Array(n * features);
  const y = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    y[i] = BigInt(c);
    for (let j = 0; j < features; j++) x[i * features + j] = centers[c][j] + rng.normal();
  }
  return { n, inputs: [x], sampleShapes: [[features]], labels: y, labelWidth: 1 };
}

export function linear(n: number, features: number, seed = 2): Dataset {
  const problem = new Rng(2000 + features);
  const w = Array.from({ length: features }, () => problem.normal());
  const rng = new Rng(seed);
  const x = new Float32Array(n * features);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let t = 0.5;
    for (let j = 0; j < features; j++) {
      const v = rng.normal();
      x[i * features + j] = v;
      t += w[j] * v;
    }
    y[i] = t + rng.normal() * 0.05;
  }
  return { n, inputs: [x], sampleShapes: [[features]], labels: y, labelWidth: 1 };
}

/** 1×size×size images: class c lights a 3×3 square at a class-specific place, plus noise. */
export function squares(n: number, size: number, classes: number, seed = 3): Dataset {
  const rng = new Rng(seed);
  const x = new Float32Array(n * size * size);
  const y = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    y[i] = BigInt(c);
    const r0 = (c * 3) % (size - 2);
    const c0 = (c * 5) % (size - 2);
    for (let p = 0; p < size * size; p++) x[i * size * size + p] = rng.next() * 0.3;
    for (let dr = 0; dr < 3; dr++) for (let dc = 0; dc < 3; dc++) x[i * size * size + (r0 + dr) * size + c0 + dc] += 1;
  }
  return { n, inputs: [x], sampleShapes: [[1, size, size]], labels: y, labelWidth: 1 };
}

/** Token ids in [1, vocab), padded with 0; class 1 sequences contain token 1 somewhere. */
export function keywordTokens(n: number, seqLen: number, vocab: number, seed = 4): Dataset {
  const rng = new Rng(seed);
  const ids = new BigInt64Array(n * seqLen);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const len = 3 + rng.int(seqLen - 2);
    const positive = i % 2 === 0;
    for (let t = 0; t < len; t++) ids[i * seqLen + t] = BigInt(2 + rng.int(vocab - 2));
    if (positive) ids[i * seqLen + rng.int(len)] = 1n;
    y[i] = positive ? 1 : 0;
  }
  return { n, inputs: [ids], sampleShapes: [[seqLen]], labels: y, labelWidth: 1 };
}
