// Image classification data sets from files: a folder with one sub-folder per class (`root/cat/1.png`, the
// label is the sub-folder's name), or a CSV manifest of `file,label` rows. Images decode into one Float32
// n × C × H × W `Dataset` with int64 class ids and sorted class names. Bad images (undecodable, empty, of the
// wrong size, with an unknown label) are left out, each reported by name and reason and listed in a quarantine
// JSONL, while the good ones load; only a load with no good image at all fails.
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { AimassError } from '../core/index.js';
import { readCsv } from './csv.js';
import type { Dataset } from './dataset.js';
import { type ImageDecodeOptions, type ImageSource, decodeImages, isImageFile } from './image-decode.js';
import { type ImageIssue, ImageIssueLog, type ImageLoadReport, writeQuarantine } from './image-report.js';
import { classIndex } from './tabular.js';

export interface ImageFolderOptions extends ImageDecodeOptions {
  /**
   * The classes and their order, e.g. the training set's `classNames` when loading its test set; an image with
   * another label is rejected as 'unknown-label'. By default the labels found, sorted (numerically when all are
   * numbers), so ids do not depend on which images happened to decode.
   */
  classNames?: string[];
  /** Write the rejected images here as JSONL (replacing the file; empty when none were rejected). */
  quarantine?: string;
  /** Called for each rejected image as it is found (decoding is concurrent, so not in file order). */
  onIssue?: (issue: ImageIssue) => void;
}

export interface ImageManifestOptions extends ImageFolderOptions {
  /** The folder the manifest's relative file paths start from; the manifest's own folder by default. */
  root?: string;
}

export interface ImageFolderResult {
  /** One input of shape [C, H, W]; labels are int64 class ids into `classNames`. */
  dataset: Dataset;
  /** Each loaded sample's file, as the report names files (relative to the root, or as in the manifest). */
  files: string[];
  report: ImageLoadReport;
}

/** An image the listing found, before decoding. */
interface Candidate {
  name: string;
  path: string;
  label?: string;
  line?: number;
}

const quoteList = (names: readonly string[], max = 10) =>
  names.slice(0, max).map((n) => `"${n}"`).join(', ') + (names.length > max ? `, … (${names.length} in all)` : '');

async function statOrNull(path: string) {
  try {
    return await stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/**
 * Every image file under `root` in a fixed order (names compared by code unit at each level, so the order does
 * not depend on the locale or the file system), following symbolic links once each. Hidden entries are ignored;
 * other non-image files are counted as skipped.
 */
async function listImages(root: string): Promise<{ files: { rel: string; path: string }[]; skipped: number }> {
  const files: { rel: string; path: string }[] = [];
  let skipped = 0;
  const visited = new Set<string>([await realpath(root)]);
  const walk = async (dir: string, rel: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        const target = await statOrNull(path);
        isDir = target?.isDirectory() ?? false;
        // a dangling link to an image is listed, so it is reported rather than silently missing
        isFile = target ? target.isFile() : isImageFile(entry.name);
      }
      if (isDir) {
        const real = await realpath(path);
        if (visited.has(real)) continue;
        visited.add(real);
        await walk(path, relPath);
      } else if (isFile && isImageFile(entry.name)) {
        files.push({ rel: relPath, path });
      } else {
        skipped++;
      }
    }
  };
  await walk(root, '');
  return { files, skipped };
}

/** A folder with one sub-folder per class: `root/<class>/**\/<image>`. */
export async function loadImageFolder(root: string, options: ImageFolderOptions = {}): Promise<ImageFolderResult> {
  const info = await statOrNull(root);
  if (!info) throw new AimassError('NOT_FOUND', `image folder "${root}" was not found; pass the folder that holds one sub-folder per class`, { path: root });
  if (!info.isDirectory()) throw new AimassError('INVALID_ARGUMENT', `"${root}" is a file, not a folder; for a CSV of file,label rows use a manifest`, { path: root });
  const { files, skipped } = await listImages(root);
  if (!files.length) {
    throw new AimassError('DATA_FORMAT', `no PNG, JPEG or WebP images under "${root}"; expected one sub-folder per class, e.g. ${join(root, 'cat', '1.png')}`, {
      path: root,
    });
  }
  const candidates: Candidate[] = files.map(({ rel, path }) => {
    const slash = rel.indexOf('/');
    return { name: rel, path, label: slash > 0 ? rel.slice(0, slash) : undefined };
  });
  const unlabeled = (c: Candidate) =>
    `${c.name}: is not inside a class folder, so it has no label; move it into ${join(root, '<class>')}/ or remove it`;
  const unknown = (c: Candidate, classes: readonly string[]) =>
    `${c.name}: its folder "${c.label}" is not one of the classes (${quoteList(classes)}); move it into a class folder or remove it`;
  return loadCandidates(candidates, skipped, root, options, { unlabeled, unknown });
}

/** Header names the manifest's columns may have (compared lower-cased). */
const FILE_COLUMNS = ['file', 'path', 'filename', 'image'];
const LABEL_COLUMNS = ['label', 'class'];

/**
 * A CSV manifest of `file,label` rows. A first row naming a file column (file, path, filename, image) and a
 * label column (label, class) is a header, and other columns are then ignored; without one, each row is exactly
 * `file,label`. Paths are relative to `root`.
 */
export async function loadImageManifest(manifest: string, options: ImageManifestOptions = {}): Promise<ImageFolderResult> {
  const info = await statOrNull(manifest);
  if (!info) throw new AimassError('NOT_FOUND', `image manifest "${manifest}" was not found; pass a CSV of file,label rows`, { path: manifest });
  if (!info.isFile()) throw new AimassError('INVALID_ARGUMENT', `"${manifest}" is not a file; for a folder of class sub-folders use loadImageFolder`, { path: manifest });
  const root = options.root ?? dirname(manifest);
  const where = basename(manifest);
  const log = new ImageIssueLog(options.onIssue);
  const candidates: Candidate[] = [];
  let fileCol = 0;
  let labelCol = 1;
  let width = 2;
  let rows = 0;
  let first = true;
  for await (const rec of readCsv(manifest)) {
    const fields = rec.fields.map((f) => f.trim());
    if (first) {
      first = false;
      const lower = fields.map((f) => f.toLowerCase());
      const f = lower.findIndex((name) => FILE_COLUMNS.includes(name));
      const l = lower.findIndex((name) => LABEL_COLUMNS.includes(name));
      if (f >= 0 && l >= 0) {
        fileCol = f;
        labelCol = l;
        width = fields.length;
        continue;
      }
    }
    rows++;
    if (fields.length !== width) {
      const shown = rec.fields.join(',');
      log.add(rec.line, {
        file: fields[fileCol] ?? '',
        reason: 'bad-manifest-row',
        message: `${where} line ${rec.line}: has ${fields.length} field(s), expected ${width} (file,label): "${shown.length > 80 ? `${shown.slice(0, 80)}…` : shown}"`,
        line: rec.line,
      });
      continue;
    }
    const file = fields[fileCol];
    if (!file) {
      log.add(rec.line, { file, reason: 'bad-manifest-row', message: `${where} line ${rec.line}: the file name is empty`, line: rec.line });
      continue;
    }
    candidates.push({ name: file, path: isAbsolute(file) ? file : resolve(root, file), label: fields[labelCol] || undefined, line: rec.line });
  }
  if (!rows) throw new AimassError('DATA_FORMAT', `image manifest "${manifest}" has no rows; expected lines of file,label`, { path: manifest });
  const unlabeled = (c: Candidate) => `${c.name}: has an empty label (${where} line ${c.line}); fill in its class or remove the row`;
  const unknown = (c: Candidate, classes: readonly string[]) =>
    `${c.name}: label "${c.label}" (${where} line ${c.line}) is not one of the classes (${quoteList(classes)}); fix the label or remove the row`;
  return loadCandidates(candidates, 0, manifest, options, { unlabeled, unknown }, log, rows);
}

/** Labels, decodes and reports: the part the folder and the manifest share. */
async function loadCandidates(
  candidates: Candidate[],
  skipped: number,
  source: string,
  o: ImageFolderOptions,
  say: { unlabeled: (c: Candidate) => string; unknown: (c: Candidate, classes: readonly string[]) => string },
  log = new ImageIssueLog(o.onIssue),
  total = candidates.length,
): Promise<ImageFolderResult> {
  // the key orders issues: manifest line for manifest rows, listing position for folder files
  const keyOf = (c: Candidate, i: number) => c.line ?? i;
  const labeled = candidates.filter((c) => c.label !== undefined).map((c) => c.label!);
  const classNames = classIndex([...new Set(labeled)], o.classNames).classNames;
  const known = new Set(classNames);
  const sources: (ImageSource & { label: string })[] = [];
  candidates.forEach((c, i) => {
    const base = { file: c.name, path: c.path, ...(c.line !== undefined && { line: c.line }) };
    if (c.label === undefined) log.add(keyOf(c, i), { ...base, reason: 'no-label', message: say.unlabeled(c) });
    else if (!known.has(c.label)) log.add(keyOf(c, i), { ...base, reason: 'unknown-label', message: say.unknown(c, classNames), label: c.label });
    else sources.push({ name: c.name, path: c.path, key: keyOf(c, i), label: c.label, ...(c.line !== undefined && { line: c.line }) });
  });

  const decoded = await decodeImages(sources, o, log);
  const report = log.report(total, decoded.loaded.length, skipped);
  if (o.quarantine !== undefined) {
    await writeQuarantine(o.quarantine, report.issues);
    report.quarantinePath = o.quarantine;
  }
  if (!decoded.loaded.length) {
    const listed = report.issues.slice(0, 20).map((i) => i.message);
    throw new AimassError(
      'DATA_FORMAT',
      `none of the ${total} image(s) in "${source}" could be loaded${o.quarantine !== undefined ? `; each is listed in ${o.quarantine}` : ''}; fix them and load again`,
      { path: source, problems: listed, byReason: report.byReason },
    );
  }
  const ids = new Map(classNames.map((n, i) => [n, BigInt(i)]));
  const dataset: Dataset = {
    n: decoded.loaded.length,
    inputs: [decoded.data],
    sampleShapes: [[...decoded.shape]],
    labels: BigInt64Array.from(decoded.loaded, (i) => ids.get(sources[i].label)!),
    labelWidth: 1,
    classNames,
  };
  return { dataset, files: decoded.loaded.map((i) => sources[i].name), report };
}
