// Deterministic transforms of images held as flat Float32 CHW arrays (channel planes one after another, rows
// top to bottom): bilinear resize, BT.601 grayscale, per-channel normalization and its statistics, flips,
// translation (the primitive under random crops), rotation, gaussian noise. Pure TypeScript over typed arrays,
// no allocation when an `out` array is passed, so the augmenter can run them on every sample of every batch.
import { AimassError, type Rng } from '../core/index.js';

/** The shape of one image: [channels, height, width]. */
export type ImageShape = readonly [channels: number, height: number, width: number];

/** ITU-R BT.601 luma weights for R, G, B (they sum to 1, so a gray pixel keeps its value). */
export const BT601_WEIGHTS = [0.299, 0.587, 0.114] as const;

function checkShape(shape: ImageShape): number {
  const [c, h, w] = shape;
  if (!(shape.length === 3 && [c, h, w].every((d) => Number.isInteger(d) && d > 0))) {
    throw new AimassError('INVALID_ARGUMENT', `an image shape is [channels, height, width] of positive integers, got [${shape.join(', ')}]`, {
      shape: [...shape],
    });
  }
  return c * h * w;
}

/** Checks `src` holds exactly one image of `shape`, and returns its size. */
function checkImage(src: Float32Array, shape: ImageShape, what: string): number {
  const size = checkShape(shape);
  if (src.length !== size) {
    throw new AimassError('SHAPE_MISMATCH', `${what}: the image has ${src.length} values but shape [${shape.join(', ')}] needs ${size}`, {
      length: src.length,
      shape: [...shape],
    });
  }
  return size;
}

/** `out` if given (of the right length, not sharing memory with `src`), else a new array. */
function output(src: Float32Array, size: number, out: Float32Array | undefined, what: string, inPlaceOk = false): Float32Array {
  if (!out) return new Float32Array(size);
  if (out.length !== size) {
    throw new AimassError('SHAPE_MISMATCH', `${what}: the output array has ${out.length} values, the result needs ${size}`, { length: out.length, size });
  }
  const overlaps =
    out.buffer === src.buffer &&
    out.byteOffset < src.byteOffset + src.byteLength &&
    src.byteOffset < out.byteOffset + out.byteLength &&
    !(inPlaceOk && out.byteOffset === src.byteOffset);
  if (overlaps) throw new AimassError('INVALID_ARGUMENT', `${what}: the output array overlaps the input; pass a separate buffer`);
  return out;
}

/**
 * Where each output position samples the input along one axis, for bilinear resizing with half-pixel centers
 * (as ONNX Resize `half_pixel` and PyTorch `align_corners=False`): the two neighbours and the weight of the second.
 */
function axisTaps(inSize: number, outSize: number): { lo: Int32Array; hi: Int32Array; t: Float32Array } {
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const t = new Float32Array(outSize);
  const scale = inSize / outSize;
  for (let i = 0; i < outSize; i++) {
    const s = Math.min(Math.max((i + 0.5) * scale - 0.5, 0), inSize - 1);
    const f = Math.floor(s);
    lo[i] = f;
    hi[i] = Math.min(f + 1, inSize - 1);
    t[i] = s - f;
  }
  return { lo, hi, t };
}

/**
 * Bilinear resize to `height` × `width`, every channel. Downscaling by more than 2× skips pixels (no
 * anti-aliasing); decode with a target size instead when shrinking photos a lot.
 */
export function resizeImage(src: Float32Array, shape: ImageShape, height: number, width: number, out?: Float32Array): Float32Array {
  checkImage(src, shape, 'resizeImage');
  const [c, h, w] = shape;
  const dst = output(src, checkShape([c, height, width]), out, 'resizeImage');
  const ys = axisTaps(h, height);
  const xs = axisTaps(w, width);
  for (let ch = 0; ch < c; ch++) {
    const base = ch * h * w;
    let o = ch * height * width;
    for (let y = 0; y < height; y++) {
      const r0 = base + ys.lo[y] * w;
      const r1 = base + ys.hi[y] * w;
      const ty = ys.t[y];
      for (let x = 0; x < width; x++) {
        const x0 = xs.lo[x];
        const x1 = xs.hi[x];
        const tx = xs.t[x];
        const top = src[r0 + x0] + (src[r0 + x1] - src[r0 + x0]) * tx;
        const bottom = src[r1 + x0] + (src[r1 + x1] - src[r1 + x0]) * tx;
        dst[o++] = top + (bottom - top) * ty;
      }
    }
  }
  return dst;
}

/** RGB to one luma channel with BT.601 weights; a one-channel image is copied as it is. */
export function grayscaleImage(src: Float32Array, shape: ImageShape, out?: Float32Array): Float32Array {
  checkImage(src, shape, 'grayscaleImage');
  const [c, h, w] = shape;
  const plane = h * w;
  const dst = output(src, plane, out, 'grayscaleImage');
  if (c === 1) {
    dst.set(src);
    return dst;
  }
  if (c !== 3) throw new AimassError('INVALID_ARGUMENT', `grayscaleImage needs 1 or 3 channels (RGB), got ${c}`, { channels: c });
  const [wr, wg, wb] = BT601_WEIGHTS;
  for (let p = 0; p < plane; p++) dst[p] = wr * src[p] + wg * src[plane + p] + wb * src[2 * plane + p];
  return dst;
}

/**
 * Per-channel `(x - mean) / std`, in place, over one image or a whole batch of images of `shape` laid end to end.
 * Returns `data`.
 */
export function normalizeImage(data: Float32Array, shape: ImageShape, mean: readonly number[], std: readonly number[]): Float32Array {
  const size = checkShape(shape);
  const [c, h, w] = shape;
  if (data.length % size !== 0) {
    throw new AimassError('SHAPE_MISMATCH', `normalizeImage: ${data.length} values are not a whole number of [${shape.join(', ')}] images`);
  }
  if (mean.length !== c || std.length !== c) {
    throw new AimassError('INVALID_ARGUMENT', `normalizeImage: need one mean and one std per channel (${c}), got ${mean.length} and ${std.length}`);
  }
  if (!std.every((s) => Number.isFinite(s) && s > 0) || !mean.every(Number.isFinite)) {
    throw new AimassError('INVALID_ARGUMENT', `normalizeImage: means must be finite and stds finite and positive, got mean [${mean.join(', ')}] std [${std.join(', ')}]`);
  }
  const plane = h * w;
  for (let start = 0; start < data.length; start += size) {
    for (let ch = 0; ch < c; ch++) {
      const m = mean[ch];
      const k = 1 / std[ch];
      const end = start + (ch + 1) * plane;
      for (let i = start + ch * plane; i < end; i++) data[i] = (data[i] - m) * k;
    }
  }
  return data;
}

/**
 * Mean and (population) standard deviation of each channel over one image or a batch laid end to end: the
 * numbers to pass to `normalizeImage` and to record in a model's pipeline. Sums in doubles, so large data sets
 * do not drift.
 */
export function imageChannelStats(data: Float32Array, shape: ImageShape): { mean: number[]; std: number[] } {
  const size = checkShape(shape);
  const [c, h, w] = shape;
  if (data.length === 0 || data.length % size !== 0) {
    throw new AimassError('SHAPE_MISMATCH', `imageChannelStats: ${data.length} values are not a whole, non-zero number of [${shape.join(', ')}] images`);
  }
  const plane = h * w;
  const count = (data.length / size) * plane;
  const mean: number[] = [];
  const std: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    let sum = 0;
    for (let start = ch * plane; start < data.length; start += size) for (let i = start; i < start + plane; i++) sum += data[i];
    const m = sum / count;
    let sq = 0;
    for (let start = ch * plane; start < data.length; start += size) {
      for (let i = start; i < start + plane; i++) {
        const d = data[i] - m;
        sq += d * d;
      }
    }
    mean.push(m);
    std.push(Math.sqrt(sq / count));
  }
  return { mean, std };
}

export type FlipAxis = 'horizontal' | 'vertical';

/**
 * Mirrors the image: 'horizontal' swaps left and right, 'vertical' top and bottom. `out` may be `src` itself
 * (flips in place).
 */
export function flipImage(src: Float32Array, shape: ImageShape, axis: FlipAxis, out?: Float32Array): Float32Array {
  const size = checkImage(src, shape, 'flipImage');
  const dst = output(src, size, out, 'flipImage', true);
  const [c, h, w] = shape;
  // swapping mirrored pairs reads both before writing either, which is what makes dst === src safe
  if (axis === 'horizontal') {
    for (let row = 0; row < c * h; row++) {
      const r = row * w;
      for (let x = 0, xm = w - 1; x <= xm; x++, xm--) {
        const a = src[r + x];
        const b = src[r + xm];
        dst[r + x] = b;
        dst[r + xm] = a;
      }
    }
  } else if (axis === 'vertical') {
    for (let ch = 0; ch < c; ch++) {
      const base = ch * h * w;
      for (let y = 0, ym = h - 1; y <= ym; y++, ym--) {
        const r = base + y * w;
        const rm = base + ym * w;
        for (let x = 0; x < w; x++) {
          const a = src[r + x];
          const b = src[rm + x];
          dst[r + x] = b;
          dst[rm + x] = a;
        }
      }
    }
  } else {
    throw new AimassError('INVALID_ARGUMENT', `flipImage: axis must be "horizontal" or "vertical", got ${JSON.stringify(axis)}`);
  }
  return dst;
}

/**
 * Moves the content `dy` rows down and `dx` columns right (negative: up, left); uncovered pixels become 0.
 * A random crop of size H×W from the image zero-padded by p on each side, at offset (top, left) in 0..2p, is
 * `translateImage(src, shape, p - top, p - left)`.
 */
export function translateImage(src: Float32Array, shape: ImageShape, dy: number, dx: number, out?: Float32Array): Float32Array {
  const size = checkImage(src, shape, 'translateImage');
  if (!Number.isInteger(dy) || !Number.isInteger(dx)) throw new AimassError('INVALID_ARGUMENT', `translateImage: shifts must be whole pixels, got (${dy}, ${dx})`);
  const dst = output(src, size, out, 'translateImage');
  const [c, h, w] = shape;
  dst.fill(0);
  // the output columns/rows that have a source pixel
  const x0 = Math.max(0, dx);
  const x1 = Math.min(w, w + dx);
  const y0 = Math.max(0, dy);
  const y1 = Math.min(h, h + dy);
  if (x0 >= x1 || y0 >= y1) return dst;
  for (let ch = 0; ch < c; ch++) {
    const base = ch * h * w;
    for (let y = y0; y < y1; y++) {
      const from = base + (y - dy) * w + (x0 - dx);
      dst.set(src.subarray(from, from + (x1 - x0)), base + y * w + x0);
    }
  }
  return dst;
}

/**
 * Rotates by `degrees` counter-clockwise (as seen on screen) about the image center, same canvas size, bilinear;
 * pixels whose source falls outside the image are 0 (each neighbour outside counts as 0, so edges fade smoothly).
 */
export function rotateImage(src: Float32Array, shape: ImageShape, degrees: number, out?: Float32Array): Float32Array {
  const size = checkImage(src, shape, 'rotateImage');
  if (!Number.isFinite(degrees)) throw new AimassError('INVALID_ARGUMENT', `rotateImage: the angle must be a finite number of degrees, got ${degrees}`);
  const dst = output(src, size, out, 'rotateImage');
  const [c, h, w] = shape;
  const rad = (degrees * Math.PI) / 180;
  const cos = Math.cos(rad);
  const sin = Math.sin(rad);
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  // Output pixel (u, v) from the center, with y pointing down, samples the source at the inverse rotation.
  for (let y = 0; y < h; y++) {
    const v = y - cy;
    for (let x = 0; x < w; x++) {
      const u = x - cx;
      const sx = cx + u * cos - v * sin;
      const sy = cy + u * sin + v * cos;
      const fx = Math.floor(sx);
      const fy = Math.floor(sy);
      const tx = sx - fx;
      const ty = sy - fy;
      // weights of the four neighbours, zeroed where a neighbour is outside the image
      const inX0 = fx >= 0 && fx < w;
      const inX1 = fx + 1 >= 0 && fx + 1 < w;
      const inY0 = fy >= 0 && fy < h;
      const inY1 = fy + 1 >= 0 && fy + 1 < h;
      const w00 = inY0 && inX0 ? (1 - tx) * (1 - ty) : 0;
      const w01 = inY0 && inX1 ? tx * (1 - ty) : 0;
      const w10 = inY1 && inX0 ? (1 - tx) * ty : 0;
      const w11 = inY1 && inX1 ? tx * ty : 0;
      const o = y * w + x;
      if (w00 === 0 && w01 === 0 && w10 === 0 && w11 === 0) {
        for (let ch = 0; ch < c; ch++) dst[ch * h * w + o] = 0;
        continue;
      }
      const i00 = fy * w + fx;
      for (let ch = 0; ch < c; ch++) {
        const base = ch * h * w + i00;
        let acc = 0;
        if (w00) acc += w00 * src[base];
        if (w01) acc += w01 * src[base + 1];
        if (w10) acc += w10 * src[base + w];
        if (w11) acc += w11 * src[base + w + 1];
        dst[ch * h * w + o] = acc;
      }
    }
  }
  return dst;
}

/** Adds N(0, std²) to every value, in place, drawing from `rng`; no clipping (the data may be normalized). */
export function addGaussianNoise(data: Float32Array, std: number, rng: Rng): Float32Array {
  if (!(Number.isFinite(std) && std >= 0)) throw new AimassError('INVALID_ARGUMENT', `addGaussianNoise: std must be a finite number ≥ 0, got ${std}`);
  if (std === 0) return data;
  for (let i = 0; i < data.length; i++) data[i] += rng.normal(0, std);
  return data;
}
