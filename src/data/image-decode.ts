// Decoding PNG, JPEG and WebP files with sharp into Float32 CHW pixels in 0..1 at a target size, one image or
// many at a time. Many: a few decodes run at once (sharp works off the main thread), each writes into its
// own slot of one preallocated array, so the result is in file order however the decodes finish; a file that
// cannot be read or decoded becomes an ImageIssue instead of failing the batch.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { AimassError } from '../core/index.js';
import type { ImageIssueLog, ImageIssueReason } from './image-report.js';
import { BT601_WEIGHTS } from './image-transforms.js';

export type ImageFit = 'cover' | 'contain' | 'fill';
export const IMAGE_FITS: readonly ImageFit[] = ['cover', 'contain', 'fill'];

export interface ImageSize {
  width: number;
  height: number;
}

export interface ImageDecodeOptions {
  /** Size of every decoded image; by default that of the first image (in file order) that decodes. */
  size?: ImageSize;
  /**
   * How an image of another aspect ratio meets `size`: 'fill' stretches (the default, as most training loaders
   * do), 'cover' scales to cover and crops the center, 'contain' scales to fit and pads with black.
   */
  fit?: ImageFit;
  /** 3 for RGB (the default), 1 for grayscale (BT.601 luma). Alpha is always dropped. */
  channels?: 1 | 3;
  /** Reject images that are not already of `size` (or of the first image's size), instead of resizing them. */
  requireSize?: boolean;
  /** How many images decode at once; 4 by default. */
  concurrency?: number;
}

/** Extensions the loaders pick up (compared lower-cased); other files are skipped. */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.webp'];
export function isImageFile(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return dot > 0 && IMAGE_EXTENSIONS.includes(name.slice(dot).toLowerCase());
}

interface Settings {
  size?: ImageSize;
  fit: ImageFit;
  channels: 1 | 3;
  requireSize: boolean;
  concurrency: number;
}

function settingsFrom(o: ImageDecodeOptions): Settings {
  const problems: string[] = [];
  const positiveInt = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  if (o.size !== undefined && !(positiveInt(o.size?.width) && positiveInt(o.size?.height))) {
    problems.push(`size: expected { width, height } of positive integers, got ${JSON.stringify(o.size)}`);
  }
  if (o.fit !== undefined && !IMAGE_FITS.includes(o.fit)) problems.push(`fit: expected one of ${IMAGE_FITS.join(', ')}, got ${JSON.stringify(o.fit)}`);
  if (o.channels !== undefined && o.channels !== 1 && o.channels !== 3) problems.push(`channels: expected 1 (grayscale) or 3 (RGB), got ${JSON.stringify(o.channels)}`);
  if (o.concurrency !== undefined && !(positiveInt(o.concurrency) && o.concurrency <= 256)) problems.push(`concurrency: expected an integer from 1 to 256, got ${o.concurrency}`);
  if (problems.length) throw new AimassError('INVALID_ARGUMENT', `invalid image options: ${problems.join('; ')}`, { problems });
  return { size: o.size && { width: o.size.width, height: o.size.height }, fit: o.fit ?? 'fill', channels: o.channels ?? 3, requireSize: o.requireSize ?? false, concurrency: o.concurrency ?? 4 };
}

/** 8-bit interleaved RGB at the decoded size. */
interface Rgb8 {
  pixels: Uint8Array;
  width: number;
  height: number;
}

type Decoded = { ok: true; image: Rgb8 } | { ok: false; reason: ImageIssueReason; message: string };

const reject = (reason: ImageIssueReason, message: string): Decoded => ({ ok: false, reason, message });

const startsWith = (bytes: Uint8Array, at: number, signature: readonly number[] | string) => {
  const sig = typeof signature === 'string' ? [...signature].map((c) => c.charCodeAt(0)) : signature;
  return bytes.length >= at + sig.length && sig.every((b, i) => bytes[at + i] === b);
};

/** The format by its signature bytes, before any decoder sees the file. */
function sniffFormat(bytes: Uint8Array): 'png' | 'jpeg' | 'webp' | undefined {
  if (startsWith(bytes, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWith(bytes, 0, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, 0, 'RIFF') && startsWith(bytes, 8, 'WEBP')) return 'webp';
  return undefined;
}

/** Names a few image formats the loaders do not read, so the message can say what the file is. */
function otherFormat(bytes: Uint8Array): string | undefined {
  if (startsWith(bytes, 0, 'GIF8')) return 'GIF';
  if (startsWith(bytes, 0, 'II*\0') || startsWith(bytes, 0, 'MM\0*')) return 'TIFF';
  if (startsWith(bytes, 0, 'BM')) return 'BMP';
  if (startsWith(bytes, 4, 'ftyp')) return 'HEIF/AVIF';
  const head = new TextDecoder().decode(bytes.subarray(0, 256)).trimStart().toLowerCase();
  if (head.startsWith('<svg') || (head.startsWith('<?xml') && head.includes('<svg'))) return 'SVG';
  return undefined;
}

/**
 * Decodes one file's bytes to RGB at `size` (native size when undefined); `name` only appears in messages.
 * One sharp pipeline per image (no separate metadata read: resizing to the size an image already has costs
 * nothing), and only files whose signature says PNG, JPEG or WebP reach the decoder.
 */
async function decodeBytes(bytes: Uint8Array, name: string, s: Settings, size: ImageSize | undefined): Promise<Decoded> {
  if (bytes.length === 0) return reject('empty-file', `${name}: is empty (0 bytes); re-export it or remove it`);
  if (!sniffFormat(bytes)) {
    const other = otherFormat(bytes);
    if (other) return reject('unsupported-format', `${name}: is a ${other} image; only PNG, JPEG and WebP are read; convert it or remove it`);
    const head = [...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    return reject('decode-failed', `${name}: is not a PNG, JPEG or WebP image (it starts with bytes ${head}); re-export it or remove it`);
  }
  // requireSize compares the decoded size, so the image is not resized then
  const resizeTo = s.requireSize ? undefined : size;
  try {
    // failOn 'error' rejects truncated and corrupt data but keeps images libjpeg only warns about, which
    // browsers show fine; autoOrient applies the EXIF rotation cameras write instead of turning the pixels.
    const image = sharp(bytes, { failOn: 'error', autoOrient: true, sequentialRead: true });
    if (resizeTo) image.resize(resizeTo.width, resizeTo.height, { fit: s.fit, background: { r: 0, g: 0, b: 0 } });
    // srgb turns grayscale, CMYK and 16-bit images into 3 channels of 8 bits; removeAlpha drops transparency
    const { data, info } = await image.removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || data.length !== info.width * info.height * 3) {
      return reject('decode-failed', `${name}: decoded to ${info.channels} channel(s) of ${info.width}×${info.height}, not RGB; convert it to an sRGB PNG or JPEG`);
    }
    if (s.requireSize && size && (info.width !== size.width || info.height !== size.height)) {
      return reject('wrong-size', `${name}: is ${info.width}×${info.height} pixels, not the required ${size.width}×${size.height}; resize it, or load without requireSize to resize on load`);
    }
    return { ok: true, image: { pixels: data, width: info.width, height: info.height } };
  } catch (e) {
    const why = e instanceof Error ? e.message.replace(/\s+/g, ' ').trim() : String(e);
    return reject('decode-failed', `${name}: could not be decoded (${why}); the file is damaged; re-export it or remove it`);
  }
}

/** Writes 8-bit RGB as CHW floats in 0..1 at `out[offset…]`: 3 planes, or 1 plane of BT.601 luma. */
function writeChw(image: Rgb8, channels: 1 | 3, out: Float32Array, offset: number): void {
  const { pixels, width, height } = image;
  const plane = width * height;
  const k = 1 / 255;
  if (channels === 3) {
    for (let p = 0, q = 0; p < plane; p++, q += 3) {
      out[offset + p] = pixels[q] * k;
      out[offset + plane + p] = pixels[q + 1] * k;
      out[offset + 2 * plane + p] = pixels[q + 2] * k;
    }
  } else {
    const [wr, wg, wb] = BT601_WEIGHTS;
    for (let p = 0, q = 0; p < plane; p++, q += 3) out[offset + p] = (wr * pixels[q] + wg * pixels[q + 1] + wb * pixels[q + 2]) * k;
  }
}

async function readSource(path: string, name: string): Promise<{ ok: true; bytes: Buffer } | { ok: false; reason: ImageIssueReason; message: string }> {
  try {
    return { ok: true, bytes: await readFile(path) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, reason: 'missing-file', message: `${name}: does not exist (looked for ${path}); fix the path or remove the entry` };
    const why = e instanceof Error ? e.message : String(e);
    return { ok: false, reason: 'unreadable', message: `${name}: could not be read (${why}); check that it is a readable file` };
  }
}

/** Decodes one image (a path or its bytes) to Float32 CHW in 0..1; fails with DATA_FORMAT naming the file and why. */
export async function decodeImage(
  input: string | Uint8Array,
  options: Omit<ImageDecodeOptions, 'concurrency'> = {},
): Promise<{ data: Float32Array; shape: [channels: number, height: number, width: number] }> {
  const s = settingsFrom(options);
  const name = typeof input === 'string' ? input : 'the image';
  let bytes: Uint8Array;
  if (typeof input === 'string') {
    const read = await readSource(input, name);
    if (!read.ok) throw new AimassError(read.reason === 'missing-file' ? 'NOT_FOUND' : 'DATA_FORMAT', read.message, { file: name, reason: read.reason });
    bytes = read.bytes;
  } else {
    bytes = input;
  }
  const decoded = await decodeBytes(bytes, name, s, s.size);
  if (!decoded.ok) throw new AimassError('DATA_FORMAT', decoded.message, { file: name, reason: decoded.reason });
  const { width, height } = decoded.image;
  const data = new Float32Array(s.channels * width * height);
  writeChw(decoded.image, s.channels, data, 0);
  return { data, shape: [s.channels, height, width] };
}

/** One file for `decodeImages`: its path, how messages name it, and what to attach to its issue if it fails. */
export interface ImageSource {
  path: string;
  name: string;
  /** Sort key of its issue in the report (the file's position in the loader's listing). */
  key: number;
  label?: string;
  line?: number;
}

export interface DecodedImages {
  /** The images that decoded, in source order, n × C × H × W. */
  data: Float32Array;
  shape: [channels: number, height: number, width: number];
  /** Index into the sources of each decoded image. */
  loaded: number[];
}

/** Runs `task(0) … task(count - 1)` with at most `limit` running at once; `task` must not throw. */
async function forEachLimited(count: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

/**
 * Decodes every source into one n × C × H × W array, logging each that fails (with its reason) to `log`
 * rather than throwing. With no target size, the first source that decodes sets it: those are decoded one by one
 * until one succeeds, the rest concurrently.
 */
export async function decodeImages(sources: readonly ImageSource[], options: ImageDecodeOptions, log: ImageIssueLog): Promise<DecodedImages> {
  const s = settingsFrom(options);
  const ok = new Uint8Array(sources.length);
  const fail = (i: number, reason: ImageIssueReason, message: string) => {
    const { path, name, key, label, line } = sources[i];
    log.add(key, { file: name, path, reason, message, ...(label !== undefined && { label }), ...(line !== undefined && { line }) });
  };
  const decodeSource = async (i: number, size: ImageSize | undefined): Promise<Rgb8 | undefined> => {
    const read = await readSource(sources[i].path, sources[i].name);
    if (!read.ok) {
      fail(i, read.reason, read.message);
      return undefined;
    }
    const decoded = await decodeBytes(read.bytes, sources[i].name, s, size);
    if (!decoded.ok) {
      fail(i, decoded.reason, decoded.message);
      return undefined;
    }
    return decoded.image;
  };

  let size = s.size;
  let first: { index: number; image: Rgb8 } | undefined;
  let start = 0;
  while (!size && start < sources.length) {
    const image = await decodeSource(start, undefined);
    if (image) {
      size = { width: image.width, height: image.height };
      first = { index: start, image };
    }
    start++;
  }
  if (!size) return { data: new Float32Array(0), shape: [s.channels, 0, 0], loaded: [] };

  const sampleSize = s.channels * size.height * size.width;
  let data: Float32Array;
  try {
    data = new Float32Array(sources.length * sampleSize);
  } catch (e) {
    const gb = ((sources.length * sampleSize * 4) / 2 ** 30).toFixed(1);
    throw new AimassError(
      'RESOURCE_EXHAUSTED',
      `${sources.length} images of ${s.channels}×${size.height}×${size.width} need ${gb} GB as Float32; load fewer images or choose a smaller size`,
      { images: sources.length, shape: [s.channels, size.height, size.width] },
      { cause: e },
    );
  }
  if (first) {
    writeChw(first.image, s.channels, data, first.index * sampleSize);
    ok[first.index] = 1;
  }
  const target = size;
  await forEachLimited(sources.length - start, s.concurrency, async (j) => {
    const i = start + j;
    const image = await decodeSource(i, target);
    if (!image) return;
    writeChw(image, s.channels, data, i * sampleSize);
    ok[i] = 1;
  });

  // close the gaps the rejected images left, keeping file order
  const loaded: number[] = [];
  for (let i = 0; i < sources.length; i++) {
    if (!ok[i]) continue;
    if (loaded.length !== i) data.copyWithin(loaded.length * sampleSize, i * sampleSize, (i + 1) * sampleSize);
    loaded.push(i);
  }
  if (loaded.length < sources.length) data = data.slice(0, loaded.length * sampleSize);
  return { data, shape: [s.channels, size.height, size.width], loaded };
}
