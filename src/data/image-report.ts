// What went wrong while loading images, for every loader of image files (folders, manifests, frame sequences).
// A bad image never fails a load: it becomes one `ImageIssue` naming the file and saying why, counted by reason
// in an `ImageLoadReport` and written as one line of a quarantine JSONL, while the good images load.
import { rename, writeFile } from 'node:fs/promises';

/** Why an image was left out; stable strings, since quarantine files and dashboards group by them. */
export const IMAGE_ISSUE_REASONS = [
  /** The manifest names a file that does not exist. */
  'missing-file',
  /** The file has no bytes at all. */
  'empty-file',
  /** The file exists but could not be read (permissions, a directory where a file was expected). */
  'unreadable',
  /** Not a decodable image: garbage bytes, a truncated or corrupt PNG/JPEG/WebP. */
  'decode-failed',
  /** A valid image of another format (GIF, TIFF, SVG…); only PNG, JPEG and WebP are read. */
  'unsupported-format',
  /** `requireSize` is set and the image is not of the required size. */
  'wrong-size',
  /** The label is not one of the given class names. */
  'unknown-label',
  /** The image has no label: it is not inside a class folder, or its manifest label is blank. */
  'no-label',
  /** A manifest row that cannot be read as `file,label`. */
  'bad-manifest-row',
] as const;

export type ImageIssueReason = (typeof IMAGE_ISSUE_REASONS)[number];

/** One image left out of a load; one line of the quarantine JSONL. */
export interface ImageIssue {
  /** The file as the loader names it: relative to the folder loaded, or as written in the manifest. */
  file: string;
  /** Absolute path, when the row named a file at all. */
  path?: string;
  reason: ImageIssueReason;
  /** Starts with the file's name and says what to do, e.g. `cat/3.png: is empty (0 bytes); re-export or delete it`. */
  message: string;
  label?: string;
  /** Manifest line, for images listed in a manifest. */
  line?: number;
}

export interface ImageLoadReport {
  /** Images the loader tried: image files found, or manifest rows. */
  candidates: number;
  loaded: number;
  rejected: number;
  /** Rejected images per reason; every reason is present, most are 0. */
  byReason: Record<ImageIssueReason, number>;
  /** Every rejected image, in the loader's file order (not the order decoding finished). */
  issues: ImageIssue[];
  /** Files passed over without a report because their extension is not an image's (README.md, labels.txt). */
  skipped: number;
  /** Where the quarantine JSONL was written, when the loader was asked to write one. */
  quarantinePath?: string;
}

/**
 * Collects issues as a loader finds them (decoding is concurrent, so out of order) and hands them back in the
 * loader's order: each is added with a sort key, the position of its file in the listing.
 */
export class ImageIssueLog {
  private readonly entries: { key: number; issue: ImageIssue }[] = [];

  constructor(private readonly onIssue?: (issue: ImageIssue) => void) {}

  add(key: number, issue: ImageIssue): void {
    this.entries.push({ key, issue });
    this.onIssue?.(issue);
  }

  get count(): number {
    return this.entries.length;
  }

  /** Issues by key; Array.prototype.sort is stable, so equal keys keep the order they were added in. */
  sorted(): ImageIssue[] {
    return [...this.entries].sort((a, b) => a.key - b.key).map((e) => e.issue);
  }

  report(candidates: number, loaded: number, skipped: number): ImageLoadReport {
    const issues = this.sorted();
    const byReason = Object.fromEntries(IMAGE_ISSUE_REASONS.map((r) => [r, 0])) as Record<ImageIssueReason, number>;
    for (const issue of issues) byReason[issue.reason]++;
    return { candidates, loaded, rejected: issues.length, byReason, issues, skipped };
  }
}

/**
 * Writes the issues as JSONL, one object per line, replacing any earlier file: an empty file means a clean load,
 * never a stale list from the run before. Written to a temporary name and renamed, so a reader sees all or nothing.
 */
export async function writeQuarantine(path: string, issues: readonly ImageIssue[]): Promise<void> {
  const text = issues.map((issue) => `${JSON.stringify(issue)}\n`).join('');
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/** One paragraph for a person: how many loaded, how many were rejected and why, and the first few files. */
export function formatImageReport(report: ImageLoadReport, maxListed = 5): string {
  const reasons = IMAGE_ISSUE_REASONS.filter((r) => report.byReason[r] > 0).map((r) => `${report.byReason[r]} ${r}`);
  let text = `loaded ${report.loaded} of ${report.candidates} image(s)`;
  if (report.rejected) {
    text += `; rejected ${report.rejected} (${reasons.join(', ')})`;
    if (report.quarantinePath) text += `, listed in ${report.quarantinePath}`;
    const listed = report.issues.slice(0, maxListed).map((i) => `\n  ${i.message}`);
    text += `:${listed.join('')}`;
    if (report.issues.length > maxListed) text += `\n  … and ${report.issues.length - maxListed} more`;
  }
  return text;
}
