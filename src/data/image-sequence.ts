// Ordered image sequences such as camera frames: every image in one folder, ordered by a natural sort of the
// file names (frame2 before frame10), decoded into one [T, C, H, W] tensor, and cut into sliding windows of k
// frames. A bad frame is left out and reported like a bad image in a folder data set; each loaded frame keeps
// its position in the full sequence, so windows never silently join frames that were not adjacent.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AimassError } from '../core/index.js';
import { type ImageDecodeOptions, decodeImages, isImageFile } from './image-decode.js';
import { type ImageIssue, ImageIssueLog, type ImageLoadReport, writeQuarantine } from './image-report.js';

const isDigit = (c: number) => c >= 48 && c <= 57;
const foldCase = (c: number) => (c >= 65 && c <= 90 ? c + 32 : c);

/**
 * Orders names the way people number files: runs of digits compare as numbers (frame2 < frame10, and any
 * number of digits, not limited to doubles), other characters one by one ignoring ASCII case. Names equal by
 * that measure (frame01, frame1) fall back to plain code-unit order, so the order is total and stable.
 */
export function naturalCompare(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (isDigit(ca) && isDigit(cb)) {
      let endA = i;
      while (endA < a.length && isDigit(a.charCodeAt(endA))) endA++;
      let endB = j;
      while (endB < b.length && isDigit(b.charCodeAt(endB))) endB++;
      // skip leading zeros, then a longer run of digits is the larger number
      while (i < endA - 1 && a.charCodeAt(i) === 48) i++;
      while (j < endB - 1 && b.charCodeAt(j) === 48) j++;
      if (endA - i !== endB - j) return endA - i - (endB - j);
      for (; i < endA; i++, j++) {
        const d = a.charCodeAt(i) - b.charCodeAt(j);
        if (d !== 0) return d;
      }
    } else {
      const d = foldCase(ca) - foldCase(cb);
      if (d !== 0) return d;
      i++;
      j++;
    }
  }
  const rest = a.length - i - (b.length - j);
  if (rest !== 0) return rest;
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface ImageSequenceOptions extends ImageDecodeOptions {
  /** Write the rejected frames here as JSONL (replacing the file; empty when none were rejected). */
  quarantine?: string;
  /** Called for each rejected frame as it is found (decoding is concurrent, so not in frame order). */
  onIssue?: (issue: ImageIssue) => void;
}

export interface ImageSequence {
  /** The loaded frames, T × C × H × W. */
  frames: Float32Array;
  shape: [frames: number, channels: number, height: number, width: number];
  /** File name of each loaded frame. */
  files: string[];
  /** Position of each loaded frame among all the folder's frame files; a jump of more than 1 is a rejected frame. */
  positions: number[];
  report: ImageLoadReport;
}

/** Every PNG, JPEG and WebP file directly in `dir` (not in sub-folders), naturally sorted, as one sequence. */
export async function loadImageSequence(dir: string, options: ImageSequenceOptions = {}): Promise<ImageSequence> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new AimassError('NOT_FOUND', `frame folder "${dir}" was not found; pass the folder that holds the frames`, { path: dir });
    if (code === 'ENOTDIR') throw new AimassError('INVALID_ARGUMENT', `"${dir}" is a file, not a folder of frames`, { path: dir });
    throw e;
  }
  const names: string[] = [];
  let skipped = 0;
  for (const entry of entries) {
    if (entry.name.startsWith('.') || entry.isDirectory()) continue;
    // a link is listed when it points at a file (or nowhere: then its frame is reported as missing)
    if (entry.isSymbolicLink() && (await stat(join(dir, entry.name)).catch(() => null))?.isDirectory()) continue;
    if (isImageFile(entry.name)) names.push(entry.name);
    else skipped++;
  }
  if (!names.length) throw new AimassError('DATA_FORMAT', `no PNG, JPEG or WebP frames in "${dir}"`, { path: dir });
  names.sort(naturalCompare);

  const log = new ImageIssueLog(options.onIssue);
  const sources = names.map((name, key) => ({ name, path: join(dir, name), key }));
  const decoded = await decodeImages(sources, options, log);
  const report = log.report(names.length, decoded.loaded.length, skipped);
  if (options.quarantine !== undefined) {
    await writeQuarantine(options.quarantine, report.issues);
    report.quarantinePath = options.quarantine;
  }
  if (!decoded.loaded.length) {
    throw new AimassError('DATA_FORMAT', `none of the ${names.length} frame(s) in "${dir}" could be loaded; fix them and load again`, {
      path: dir,
      problems: report.issues.slice(0, 20).map((i) => i.message),
      byReason: report.byReason,
    });
  }
  return {
    frames: decoded.data,
    shape: [decoded.loaded.length, ...decoded.shape],
    files: decoded.loaded.map((i) => names[i]),
    positions: decoded.loaded,
    report,
  };
}

export interface FrameWindowOptions {
  /** Frames from one window's start to the next; 1 by default. */
  stride?: number;
  /**
   * By default a window must be k adjacent frames of the folder, so windows that would span a rejected frame are
   * left out. With `acrossGaps`, windows are k consecutive loaded frames, gaps or not.
   */
  acrossGaps?: boolean;
}

export interface FrameWindows {
  /** N × k × C × H × W. */
  data: Float32Array;
  shape: [windows: number, frames: number, channels: number, height: number, width: number];
  /** Position (as in `ImageSequence.positions`) of each window's first frame. */
  starts: number[];
}

/** Sliding windows of `k` frames; each window is a copy, so the windows can be shuffled and batched freely. */
export function frameWindows(sequence: ImageSequence, k: number, options: FrameWindowOptions = {}): FrameWindows {
  const stride = options.stride ?? 1;
  if (!Number.isInteger(k) || k < 1) throw new AimassError('INVALID_ARGUMENT', `a window holds a whole number of frames ≥ 1, got ${k}`);
  if (!Number.isInteger(stride) || stride < 1) throw new AimassError('INVALID_ARGUMENT', `the window stride is a whole number of frames ≥ 1, got ${stride}`);
  const [t, c, h, w] = sequence.shape;
  const frameSize = c * h * w;
  // first loaded-frame index of each window
  const firsts: number[] = [];
  if (options.acrossGaps) {
    for (let i = 0; i + k <= t; i += stride) firsts.push(i);
  } else {
    const last = sequence.positions[t - 1] ?? -1;
    const frameAt = new Int32Array(last + 1).fill(-1);
    sequence.positions.forEach((p, i) => (frameAt[p] = i));
    for (let p = 0; p + k <= last + 1; p += stride) {
      // positions are increasing, so the k positions from p are all loaded when both ends are k - 1 frames apart
      const i = frameAt[p];
      if (i >= 0 && i + k - 1 < t && sequence.positions[i + k - 1] === p + k - 1) firsts.push(i);
    }
  }
  const windowSize = k * frameSize;
  const data = new Float32Array(firsts.length * windowSize);
  firsts.forEach((i, n) => data.set(sequence.frames.subarray(i * frameSize, (i + k) * frameSize), n * windowSize));
  return { data, shape: [firsts.length, k, c, h, w], starts: firsts.map((i) => sequence.positions[i]) };
}
