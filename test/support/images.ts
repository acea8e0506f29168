// Small image files for the image data tests, written with sharp from exact pixel values: solid colours,
// per-pixel patterns, JPEGs cut short, and CHW helpers to compare decoded floats with the pixels written.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import sharp from 'sharp';

export type Rgb = readonly [r: number, g: number, b: number];
export type ImageFormat = 'png' | 'jpeg' | 'webp';

/** Interleaved 8-bit pixels with `pixel(x, y)` giving each pixel's channels (3 or 4 values). */
export function pixels(width: number, height: number, channels: 1 | 3 | 4, pixel: (x: number, y: number) => readonly number[]): Uint8Array {
  const out = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) out.set(pixel(x, y), (y * width + x) * channels);
  }
  return out;
}

/** Encodes interleaved pixels; PNG and WebP are lossless, so they decode to exactly these values. */
export async function encode(raw: Uint8Array, width: number, height: number, channels: 1 | 3 | 4, format: ImageFormat = 'png'): Promise<Buffer> {
  const image = sharp(raw, { raw: { width, height, channels } });
  if (format === 'png') return image.png().toBuffer();
  if (format === 'webp') return image.webp({ lossless: true }).toBuffer();
  return image.jpeg({ quality: 95 }).toBuffer();
}

/** Writes `bytes` at `path`, making its folder. */
export async function put(path: string, bytes: Uint8Array | string): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
  return path;
}

export async function writeSolid(path: string, width: number, height: number, rgb: Rgb, format: ImageFormat = 'png'): Promise<string> {
  return put(path, await encode(pixels(width, height, 3, () => rgb), width, height, 3, format));
}

/** A noisy JPEG (so the entropy-coded data is long) cut to `fraction` of its bytes: a truncated download. */
export async function truncatedJpeg(width = 32, height = 32, fraction = 0.6): Promise<Buffer> {
  let s = 12345;
  const noise = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) >> 16) & 255;
  const full = await encode(pixels(width, height, 3, () => [noise(), noise(), noise()]), width, height, 3, 'jpeg');
  return full.subarray(0, Math.floor(full.length * fraction));
}

/** Expected CHW floats in 0..1 of interleaved RGB pixels. */
export function chwOf(raw: Uint8Array, width: number, height: number): Float32Array {
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) out[c * plane + p] = raw[p * 3 + c] / 255;
  return out;
}

/** The largest absolute difference between two arrays of equal length. */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
