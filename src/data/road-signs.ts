// Synthetic road signs for the driving examples: labelled small pictures of traffic signs (stop, yield, speed
// limits, no entry, pedestrian crossing, turn arrows), each drawn as SVG and rendered by sharp, with the
// variation a camera sees — rotation, scale, position, lighting, blur, noise, something in front of the sign and
// a cluttered background. Seeded: every random choice is drawn from one `Rng` in picture order before any
// rendering starts, so the same seed gives the same pictures however the renders interleave.
// `exportRoadSigns` writes them in the image-csv format (label, then the pixels 0..255, channel by channel).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { AimassError, Rng } from '../core/index.js';
import { BT601_WEIGHTS } from './image-transforms.js';

export const ROAD_SIGN_CLASSES = ['stop', 'yield', 'speed-30', 'speed-50', 'speed-80', 'no-entry', 'pedestrian-crossing', 'turn-left', 'turn-right'] as const;
export type RoadSignClass = (typeof ROAD_SIGN_CLASSES)[number];

export interface RoadSignOptions {
  /** How many pictures; the classes take turns, so each has count / classes pictures (±1). */
  count: number;
  seed?: number;
  /** Width and height in pixels (default 32). */
  size?: number;
  /** 1 for grayscale (BT.601 luma), 3 for RGB (the default). */
  channels?: 1 | 3;
  /** A subset of ROAD_SIGN_CLASSES, in label order; all by default. */
  classes?: readonly string[];
  /** Probability that something covers part of a sign (default 0.3). */
  occlusion?: number;
}

export interface RoadSignPicture {
  label: RoadSignClass;
  /** size × size × channels bytes, channel after channel (CHW), as the CNN's input. */
  pixels: Uint8Array;
  occluded: boolean;
}

interface Settings {
  count: number;
  seed: number;
  size: number;
  channels: 1 | 3;
  classes: RoadSignClass[];
  occlusion: number;
}

const MAX_COUNT = 1_000_000;

function settingsFrom(o: RoadSignOptions): Settings {
  const problems: string[] = [];
  if (!Number.isInteger(o.count) || o.count < 1 || o.count > MAX_COUNT) problems.push(`count: expected an integer from 1 to ${MAX_COUNT}, got ${o.count}`);
  if (o.seed !== undefined && !Number.isSafeInteger(o.seed)) problems.push(`seed: expected an integer, got ${o.seed}`);
  if (o.size !== undefined && !(Number.isInteger(o.size) && o.size >= 16 && o.size <= 256)) problems.push(`size: expected an integer from 16 to 256 pixels, got ${o.size}`);
  if (o.channels !== undefined && o.channels !== 1 && o.channels !== 3) problems.push(`channels: expected 1 (grayscale) or 3 (RGB), got ${o.channels}`);
  if (o.occlusion !== undefined && !(o.occlusion >= 0 && o.occlusion <= 1)) problems.push(`occlusion: expected a probability from 0 to 1, got ${o.occlusion}`);
  const known: readonly string[] = ROAD_SIGN_CLASSES;
  const unknown = (o.classes ?? []).filter((c) => !known.includes(c));
  if (unknown.length) problems.push(`classes: unknown ${unknown.map((c) => `"${c}"`).join(', ')}; the classes are ${ROAD_SIGN_CLASSES.join(', ')}`);
  else if (o.classes !== undefined && (o.classes.length === 0 || new Set(o.classes).size !== o.classes.length)) problems.push('classes: expected a non-empty list without repeats');
  if (problems.length) throw new AimassError('INVALID_ARGUMENT', `invalid road sign options: ${problems.join('; ')}`, { problems });
  return {
    count: o.count,
    seed: o.seed ?? 0,
    size: o.size ?? 32,
    channels: o.channels ?? 3,
    classes: (o.classes ?? ROAD_SIGN_CLASSES) as RoadSignClass[],
    occlusion: o.occlusion ?? 0.3,
  };
}

// ---- drawing: each sign in a 100 × 100 frame centred on (0, 0), fitting a circle of radius 48 ----

const RED = '#c8102e';
const BLUE = '#1f5fbf';
const FONT = `font-family="DejaVu Sans, Arial, Helvetica, sans-serif" font-weight="bold" text-anchor="middle"`;

const polygon = (sides: number, radius: number, turn: number) =>
  Array.from({ length: sides }, (_, k) => {
    const a = turn + (2 * Math.PI * k) / sides;
    return `${(radius * Math.cos(a)).toFixed(2)},${(radius * Math.sin(a)).toFixed(2)}`;
  }).join(' ');

/** A white arrow pointing left, on a blue disc. */
const LEFT_ARROW = `<circle r="46" fill="${BLUE}"/><path d="M-30,0 L-6,-22 L-6,-9 L28,-9 L28,9 L-6,9 L-6,22 Z" fill="#fff"/>`;

function drawSign(label: RoadSignClass): string {
  switch (label) {
    case 'stop':
      return `<polygon points="${polygon(8, 47, Math.PI / 8)}" fill="#fff"/><polygon points="${polygon(8, 42, Math.PI / 8)}" fill="${RED}"/>` +
        `<text x="0" y="9" font-size="25" fill="#fff" ${FONT}>STOP</text>`;
    case 'yield':
      // pointing down: the top edge is horizontal
      return `<polygon points="-48,-38 48,-38 0,44" fill="${RED}"/><polygon points="-32,-29 32,-29 0,26" fill="#fff"/>`;
    case 'speed-30':
    case 'speed-50':
    case 'speed-80':
      return `<circle r="42" fill="#fff" stroke="${RED}" stroke-width="10"/>` +
        `<text x="0" y="15" font-size="42" fill="#111" ${FONT}>${label.slice('speed-'.length)}</text>`;
    case 'no-entry':
      return `<circle r="47" fill="${RED}"/><rect x="-33" y="-9" width="66" height="18" fill="#fff"/>`;
    case 'pedestrian-crossing':
      return `<rect x="-45" y="-45" width="90" height="90" rx="8" fill="${BLUE}"/><polygon points="0,-38 38,32 -38,32" fill="#fff"/>` +
        // a walking figure: head, body, legs apart, one arm forward; and the zebra stripes under it
        `<g stroke="#111" stroke-width="5" stroke-linecap="round" fill="none"><path d="M1,-6 L-2,11 M-2,11 L-9,24 M-2,11 L7,23 M0,-2 L9,6 M0,-2 L-8,5"/></g>` +
        `<circle cx="3" cy="-15" r="5" fill="#111"/><rect x="-26" y="26" width="8" height="4" fill="#111"/><rect x="-4" y="26" width="8" height="4" fill="#111"/><rect x="18" y="26" width="8" height="4" fill="#111"/>`;
    case 'turn-left':
      return LEFT_ARROW;
    case 'turn-right':
      return `<g transform="scale(-1,1)">${LEFT_ARROW}</g>`;
  }
}

const hex = (r: number, g: number, b: number) => `#${[r, g, b].map((v) => Math.max(0, Math.min(255, Math.round(v))).toString(16).padStart(2, '0')).join('')}`;

/** Everything random about one picture, drawn before rendering. */
interface Plan {
  label: RoadSignClass;
  svg: string;
  occluded: boolean;
  /** sharp.linear: contrast multiplier and brightness offset. */
  contrast: number;
  brightness: number;
  /** Gaussian blur sigma; 0 for none. */
  blur: number;
  noise: number;
  noiseSeed: number;
}

function plan(label: RoadSignClass, occlusion: number, rng: Rng): Plan {
  const u = (lo: number, hi: number) => lo + (hi - lo) * rng.next();
  const color = () => hex(u(0, 255), u(0, 255), u(0, 255));
  const parts: string[] = [];
  // background: a gradient of two colours at a random angle (sky, road, buildings, foliage…), then clutter
  const angle = u(0, Math.PI);
  const [x1, y1] = [50 - 50 * Math.cos(angle), 50 - 50 * Math.sin(angle)];
  parts.push(
    `<defs><linearGradient id="GRADIENT" x1="${x1.toFixed(1)}%" y1="${y1.toFixed(1)}%" x2="${(100 - x1).toFixed(1)}%" y2="${(100 - y1).toFixed(1)}%">` +
      `<stop offset="0" stop-color="${color()}"/><stop offset="1" stop-color="${color()}"/></linearGradient></defs>` +
      `<rect width="100" height="100" fill="url(#GRADIENT)"/>`,
  );
  const clutter = rng.int(6);
  for (let k = 0; k < clutter; k++) {
    const opacity = u(0.3, 1).toFixed(2);
    const kind = rng.int(3);
    if (kind === 0) parts.push(`<rect x="${u(-20, 100).toFixed(1)}" y="${u(-20, 100).toFixed(1)}" width="${u(5, 50).toFixed(1)}" height="${u(5, 50).toFixed(1)}" fill="${color()}" fill-opacity="${opacity}"/>`);
    else if (kind === 1) parts.push(`<circle cx="${u(0, 100).toFixed(1)}" cy="${u(0, 100).toFixed(1)}" r="${u(3, 25).toFixed(1)}" fill="${color()}" fill-opacity="${opacity}"/>`);
    else parts.push(`<line x1="${u(0, 100).toFixed(1)}" y1="${u(0, 100).toFixed(1)}" x2="${u(0, 100).toFixed(1)}" y2="${u(0, 100).toFixed(1)}" stroke="${color()}" stroke-width="${u(1, 6).toFixed(1)}" stroke-opacity="${opacity}"/>`);
  }
  // the sign: 60–95 % of the picture wide, a little off centre, turned up to ±15°, slightly skewed (seen at an angle)
  const scale = u(0.6, 0.95);
  const room = 50 - 50 * scale;
  const cx = 50 + u(-room, room) * 0.8;
  const cy = 50 + u(-room, room) * 0.8;
  parts.push(`<g transform="translate(${cx.toFixed(1)},${cy.toFixed(1)}) rotate(${u(-15, 15).toFixed(1)}) skewX(${u(-10, 10).toFixed(1)}) scale(${(scale * u(0.9, 1.05)).toFixed(3)},${scale.toFixed(3)})">${drawSign(label)}</g>`);
  // something in front: a branch, a pole or a sticker over a quarter to a third of the sign, from one side
  const occluded = rng.next() < occlusion;
  if (occluded) {
    const radius = 48 * scale;
    const side = u(0, 2 * Math.PI);
    const ox = cx + Math.cos(side) * radius * u(0.5, 0.9);
    const oy = cy + Math.sin(side) * radius * u(0.5, 0.9);
    const tone = u(20, 140);
    const fill = hex(tone * u(0.6, 1), tone * u(0.8, 1.3), tone * u(0.5, 1));
    if (rng.next() < 0.5) parts.push(`<ellipse cx="${ox.toFixed(1)}" cy="${oy.toFixed(1)}" rx="${(radius * u(0.35, 0.6)).toFixed(1)}" ry="${(radius * u(0.35, 0.6)).toFixed(1)}" fill="${fill}"/>`);
    else {
      const w = radius * u(0.3, 0.8);
      const h = radius * u(0.6, 1.2);
      parts.push(`<rect x="${(ox - w / 2).toFixed(1)}" y="${(oy - h / 2).toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" fill="${fill}" transform="rotate(${u(-40, 40).toFixed(0)} ${ox.toFixed(1)} ${oy.toFixed(1)})"/>`);
    }
  }
  return {
    label,
    /** The tile's content in its 0..100 frame; GRADIENT stands for the id unique to its tile. */
    svg: parts.join(''),
    occluded,
    contrast: u(0.65, 1.25),
    brightness: u(-45, 35),
    blur: rng.next() < 0.4 ? u(0.3, 0.8) : 0,
    noise: u(0, 8),
    noiseSeed: rng.uint32(),
  };
}

/** A separable Gaussian blur of one interleaved RGB tile, edges clamped. */
function blurRgb(src: Float32Array, size: number, sigma: number): Float32Array {
  const radius = Math.ceil(2 * sigma);
  const kernel = Array.from({ length: 2 * radius + 1 }, (_, k) => Math.exp(-((k - radius) ** 2) / (2 * sigma * sigma)));
  const total = kernel.reduce((a, b) => a + b, 0);
  const weights = kernel.map((w) => w / total);
  const pass = (from: Float32Array, horizontal: boolean) => {
    const to = new Float32Array(from.length);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        for (let c = 0; c < 3; c++) {
          let v = 0;
          for (let k = -radius; k <= radius; k++) {
            const xx = horizontal ? Math.min(size - 1, Math.max(0, x + k)) : x;
            const yy = horizontal ? y : Math.min(size - 1, Math.max(0, y + k));
            v += weights[k + radius] * from[(yy * size + xx) * 3 + c];
          }
          to[(y * size + x) * 3 + c] = v;
        }
      }
    }
    return to;
  };
  return pass(pass(src, true), false);
}

const clamp = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));

/** Lighting, blur and sensor noise of one rendered tile, then grayscale or planar RGB. */
function finish(p: Plan, tile: Float32Array, size: number, channels: 1 | 3): RoadSignPicture {
  const rgb = p.blur > 0 ? blurRgb(tile, size, p.blur) : tile;
  const area = size * size;
  const pixels = new Uint8Array(area * channels);
  const noise = new Rng(p.noiseSeed);
  const [wr, wg, wb] = BT601_WEIGHTS;
  for (let i = 0; i < area; i++) {
    const n = p.noise * noise.normal();
    const [r, g, b] = [0, 1, 2].map((c) => p.contrast * rgb[3 * i + c] + p.brightness + n);
    if (channels === 1) pixels[i] = clamp(wr * r + wg * g + wb * b);
    else {
      pixels[i] = clamp(r);
      pixels[area + i] = clamp(g);
      pixels[2 * area + i] = clamp(b);
    }
  }
  return { label: p.label, pixels, occluded: p.occluded };
}

/** Tiles per side of one rendered sheet: one sharp render per 256 pictures instead of one each (3 ms apiece). */
const SHEET = 16;

/** Renders the plans onto one SVG sheet of SHEET × SHEET tiles (each a nested, clipping <svg>) and cuts it up. */
async function renderSheet(plans: Plan[], size: number, channels: 1 | 3): Promise<RoadSignPicture[]> {
  const side = SHEET * size;
  const tiles = plans.map((p, k) => `<svg x="${(k % SHEET) * size}" y="${Math.floor(k / SHEET) * size}" width="${size}" height="${size}" viewBox="0 0 100 100" overflow="hidden">${p.svg.replaceAll('GRADIENT', `g${k}`)}</svg>`);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${side}" height="${side}">${tiles.join('')}</svg>`;
  const { data, info } = await sharp(Buffer.from(svg)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.width !== side || info.height !== side || info.channels !== 3) {
    throw new AimassError('INTERNAL', `rendered a ${info.width}×${info.height}×${info.channels} sheet of road signs, expected ${side}×${side}×3`);
  }
  return plans.map((p, k) => {
    const [x0, y0] = [(k % SHEET) * size, Math.floor(k / SHEET) * size];
    const tile = new Float32Array(size * size * 3);
    for (let y = 0; y < size; y++) {
      const from = ((y0 + y) * side + x0) * 3;
      tile.set(data.subarray(from, from + size * 3), y * size * 3);
    }
    return finish(p, tile, size, channels);
  });
}

/** Renders `count` labelled road sign pictures; the classes take turns (picture i is of class i mod classes). */
export async function generateRoadSigns(o: RoadSignOptions): Promise<RoadSignPicture[]> {
  const s = settingsFrom(o);
  const rng = new Rng(s.seed);
  const plans = Array.from({ length: s.count }, (_, i) => plan(s.classes[i % s.classes.length], s.occlusion, rng));
  const sheets: Plan[][] = [];
  for (let i = 0; i < plans.length; i += SHEET * SHEET) sheets.push(plans.slice(i, i + SHEET * SHEET));
  const out: RoadSignPicture[] = [];
  // two sheets in flight: sharp renders one while this thread cuts up the other
  for (let i = 0; i < sheets.length; i += 2) {
    for (const part of await Promise.all(sheets.slice(i, i + 2).map((sheet) => renderSheet(sheet, s.size, s.channels)))) out.push(...part);
  }
  return out;
}

/** One picture as a PNG (for looking at). */
export function roadSignPng(picture: RoadSignPicture, size: number, channels: 1 | 3): Promise<Buffer> {
  const area = size * size;
  const interleaved = new Uint8Array(area * channels);
  for (let i = 0; i < area; i++) for (let c = 0; c < channels; c++) interleaved[i * channels + c] = picture.pixels[c * area + i];
  return sharp(interleaved, { raw: { width: size, height: size, channels } }).png().toBuffer();
}

export interface ExportedRoadSigns {
  train: string;
  test: string;
  labels: string;
  samples: string;
  trainRows: number;
  testRows: number;
  classes: string[];
  /** The model input these rows fit: [channels, size, size]. */
  shape: [number, number, number];
}

/**
 * Writes road_signs_train.csv and road_signs_test.csv (every 5th picture is a test picture; each line the
 * label, then the pixels 0..255 channel by channel), road_signs_labels.txt (the classes, one a line) and
 * road_signs_samples/ (a few PNGs per class, for looking at).
 */
export async function exportRoadSigns(outDir: string, o: RoadSignOptions & { samplesPerClass?: number }): Promise<ExportedRoadSigns> {
  const s = settingsFrom(o);
  const pictures = await generateRoadSigns(o);
  const train: string[] = [];
  const test: string[] = [];
  pictures.forEach((p, i) => (i % 5 === 4 ? test : train).push(`${p.label},${p.pixels.join(',')}`));
  const samples = join(outDir, 'road_signs_samples');
  await mkdir(samples, { recursive: true });
  const paths = { train: join(outDir, 'road_signs_train.csv'), test: join(outDir, 'road_signs_test.csv'), labels: join(outDir, 'road_signs_labels.txt') };
  await writeFile(paths.train, train.length ? `${train.join('\n')}\n` : '');
  await writeFile(paths.test, test.length ? `${test.join('\n')}\n` : '');
  await writeFile(paths.labels, `${s.classes.join('\n')}\n`);
  const perClass = o.samplesPerClass ?? 3;
  const written = new Map<string, number>();
  for (const [i, p] of pictures.entries()) {
    const n = written.get(p.label) ?? 0;
    if (n >= perClass) continue;
    written.set(p.label, n + 1);
    await writeFile(join(samples, `${p.label}-${i}${p.occluded ? '-occluded' : ''}.png`), await roadSignPng(p, s.size, s.channels));
  }
  return { ...paths, samples, trainRows: train.length, testRows: test.length, classes: s.classes, shape: [s.channels, s.size, s.size] };
}
