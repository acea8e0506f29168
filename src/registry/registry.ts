// The model registry: registered models with immutable, numbered, checksummed versions and their lineage,
// aliases (production, staging, any name) whose every move is kept, rollback of an alias to the version it
// held before, import of ONNX models trained elsewhere, verified downloads, and garbage collection of
// artifacts that no version references (what a registration killed between upload and commit leaves).
// Metadata lives in a MetadataStore, files in an ArtifactStore; both are chosen by URI.
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { AimassError, newId } from '../core/index.js';
import {
  type AliasEvent,
  type AliasRecord,
  type ArtifactFile,
  type ArtifactStore,
  type MetadataStore,
  type ModelRecord,
  type ModelSignature,
  type VersionRecord,
  type VersionSource,
  getToFile,
  hasTemporaryArea,
  putFile,
  readAllVerified,
  readVerified,
} from '../storage/index.js';
import { readOnnxSignature } from './signature.js';

/** How to name a version: a number, an alias, or 'latest'. */
export type VersionRef = number | string;

export interface RegisterOptions {
  /** Files of the folder to register (default: every regular file in it); model.onnx must be among them. */
  files?: string[];
  source?: VersionSource;
  framework?: string;
  params?: Record<string, unknown>;
  metrics?: Record<string, number>;
  datasetHash?: string;
  runId?: string;
  parentVersion?: number;
  description?: string;
  tags?: Record<string, string>;
  /** Signature; read from model.onnx when omitted. */
  signature?: ModelSignature;
}

export interface ModelDetails {
  model: ModelRecord;
  versions: VersionRecord[];
  aliases: AliasRecord[];
}

/** Reasons of rollback moves start with this, so that a second rollback keeps walking back. */
export const ROLLBACK_REASON = 'rollback';

const MODEL_FILE = 'model.onnx';

export class Registry {
  constructor(
    readonly meta: MetadataStore,
    readonly artifacts: ArtifactStore,
    /** Who acts: recorded as created-by and on every alias move. */
    readonly actor: string,
  ) {}

  async close(): Promise<void> {
    await Promise.all([this.meta.close(), this.artifacts.close()]);
  }

  // --- models ---------------------------------------------------------------------------------------------

  async listModels(): Promise<ModelRecord[]> {
    return this.meta.listModels();
  }

  async getModel(name: string): Promise<ModelRecord> {
    const m = await this.meta.getModel(name);
    if (!m) throw new AimassError('NOT_FOUND', `no registered model "${name}"; \`aimass models list\` shows the registered ones`, { model: name });
    return m;
  }

  async describe(name: string): Promise<ModelDetails> {
    const model = await this.getModel(name);
    const [versions, aliases] = await Promise.all([this.meta.listVersions(name), this.meta.listAliases(name)]);
    return { model, versions, aliases };
  }

  /** Deletes a model with all its versions, aliases and artifacts. */
  async deleteModel(name: string): Promise<void> {
    const versions = await this.meta.listVersions((await this.getModel(name)).name);
    await this.meta.deleteModel(name);
    for (const v of versions) await this.deleteArtifacts(v);
  }

  // --- versions -------------------------------------------------------------------------------------------

  /**
   * Registers the files of `dir` (model.onnx required; pipeline.json, meta.json and others kept beside it) as
   * the next version of `name`, creating the model on first use. Files are uploaded (streamed, checksummed)
   * under a fresh folder first; the version becomes visible only when its metadata commits, so a registration
   * killed midway leaves no version, only unreferenced files that `gc` removes.
   */
  async register(name: string, dir: string, o: RegisterOptions = {}): Promise<VersionRecord> {
    const files = o.files ?? (await listFiles(dir));
    if (!files.includes(MODEL_FILE)) throw new AimassError('INVALID_ARGUMENT', `${dir} has no ${MODEL_FILE}; a model version needs one`, { dir });
    const signature = o.signature ?? (await readOnnxSignature(join(dir, MODEL_FILE)));
    if (!(await this.meta.getModel(name))) {
      try {
        await this.meta.createModel({ name });
      } catch (e) {
        // another registration created it first
        if (!(e instanceof AimassError && e.code === 'ALREADY_EXISTS')) throw e;
      }
    }
    const prefix = `models/${name}/${newId('v')}`;
    const stored: ArtifactFile[] = [];
    for (const f of files) {
      const info = await putFile(this.artifacts, `${prefix}/${f}`, join(dir, f));
      stored.push({ path: f, size: info.size, sha256: info.sha256! });
    }
    try {
      return await this.meta.createVersion({
        model: name,
        artifactUri: artifactUri(this.artifacts.uri, prefix),
        files: stored,
        signature,
        source: o.source ?? 'trained',
        framework: o.framework ?? 'aimass',
        params: o.params ?? {},
        metrics: o.metrics ?? {},
        datasetHash: o.datasetHash,
        runId: o.runId,
        parentVersion: o.parentVersion,
        createdBy: this.actor,
        description: o.description ?? '',
        tags: o.tags ?? {},
      });
    } catch (e) {
      for (const f of stored) await this.artifacts.delete(`${prefix}/${f.path}`).catch(() => {});
      throw e;
    }
  }

  /** Imports an ONNX file trained elsewhere: validated by loading it in ONNX Runtime, signature read from it. */
  async importOnnx(name: string, onnxPath: string, o: RegisterOptions & { labels?: string[] } = {}): Promise<VersionRecord> {
    const signature = await readOnnxSignature(onnxPath);
    const staging = await mkdtemp(join(tmpdir(), 'aimass-import-'));
    try {
      await copyFile(onnxPath, join(staging, MODEL_FILE));
      if (o.labels) await writeJson(join(staging, 'pipeline.json'), { labels: o.labels });
      await writeJson(join(staging, 'meta.json'), { format: 'aimass-model/1', source: 'imported', importedFrom: basename(onnxPath), signature });
      return await this.register(name, staging, { ...o, signature, source: 'imported', framework: o.framework ?? 'onnx' });
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  /** A version by number, alias or 'latest'. */
  async resolve(name: string, ref: VersionRef = 'latest'): Promise<VersionRecord> {
    const model = await this.getModel(name);
    let version: number;
    if (typeof ref === 'number' || /^\d+$/.test(ref)) version = Number(ref);
    else if (ref === 'latest') {
      if (model.latestVersion === 0) throw new AimassError('NOT_FOUND', `model "${name}" has no versions yet`, { model: name });
      const all = await this.meta.listVersions(name);
      version = Math.max(...all.map((v) => v.version));
    } else {
      const alias = await this.meta.getAlias(name, ref);
      if (!alias) throw new AimassError('NOT_FOUND', `model "${name}" has no alias "${ref}"`, { model: name, alias: ref });
      version = alias.version;
    }
    const v = await this.meta.getVersion(name, version);
    if (!v) throw new AimassError('NOT_FOUND', `model "${name}" has no version ${version}`, { model: name, version });
    return v;
  }

  /** A version's file as a stream that fails with DATA_CORRUPT (naming the file) if its sha256 is off. */
  async openFile(v: VersionRecord, path = MODEL_FILE) {
    const f = v.files.find((x) => x.path === path);
    if (!f) throw new AimassError('NOT_FOUND', `version ${v.version} of "${v.model}" has no file ${path} (it has ${v.files.map((x) => x.path).join(', ')})`);
    return readVerified(this.artifacts, `${prefixOf(v)}/${f.path}`, f.sha256);
  }

  async readFile(v: VersionRecord, path = MODEL_FILE): Promise<Buffer> {
    const f = v.files.find((x) => x.path === path);
    if (!f) throw new AimassError('NOT_FOUND', `version ${v.version} of "${v.model}" has no file ${path}`);
    return readAllVerified(this.artifacts, `${prefixOf(v)}/${f.path}`, f.sha256);
  }

  /** Writes every file of a version into `dir`, each verified against its sha256. */
  async export(v: VersionRecord, dir: string): Promise<string[]> {
    await mkdir(dir, { recursive: true });
    for (const f of v.files) await getToFile(this.artifacts, `${prefixOf(v)}/${f.path}`, join(dir, f.path), f.sha256);
    return v.files.map((f) => join(dir, f.path));
  }

  async deleteVersion(name: string, version: number): Promise<void> {
    const v = await this.resolve(name, version);
    await this.meta.deleteVersion(name, version);
    await this.deleteArtifacts(v);
  }

  private async deleteArtifacts(v: VersionRecord): Promise<void> {
    for (const f of v.files) await this.artifacts.delete(`${prefixOf(v)}/${f.path}`);
  }

  // --- aliases --------------------------------------------------------------------------------------------

  /** Points `alias` at `version`; with `expected`, only if it still holds that (else CONFLICT). */
  async setAlias(name: string, alias: string, version: number, o: { expected?: number | null; reason?: string } = {}): Promise<AliasEvent> {
    await this.resolve(name, version);
    return this.meta.moveAlias({ model: name, alias, to: version, expected: o.expected, actor: this.actor, reason: o.reason ?? '' });
  }

  async deleteAlias(name: string, alias: string, o: { expected?: number | null; reason?: string } = {}): Promise<AliasEvent> {
    await this.getModel(name);
    if (!(await this.meta.getAlias(name, alias))) throw new AimassError('NOT_FOUND', `model "${name}" has no alias "${alias}"`, { model: name, alias });
    return this.meta.moveAlias({ model: name, alias, to: null, expected: o.expected, actor: this.actor, reason: o.reason ?? '' });
  }

  async aliasHistory(name: string, alias?: string): Promise<AliasEvent[]> {
    await this.getModel(name);
    return this.meta.aliasHistory(name, alias);
  }

  /**
   * Moves `alias` back to the version it held before its current one. Rollback moves are marked, so rolling
   * back again keeps walking back through the versions the alias was moved to (v3 → v2 → v1), rather than
   * undoing the rollback. Compare-and-set: a concurrent move makes this fail with CONFLICT.
   */
  async rollback(name: string, alias = 'production', reason = ''): Promise<AliasEvent> {
    const current = await this.meta.getAlias(name, alias);
    if (!current) throw new AimassError('NOT_FOUND', `model "${name}" has no alias "${alias}" to roll back`, { model: name, alias });
    const history = await this.meta.aliasHistory(name, alias);
    // the move that first brought the alias to its current version, not counting rollbacks
    const arrival = [...history].reverse().find((e) => e.to === current.version && !e.reason.startsWith(ROLLBACK_REASON));
    const previous = arrival?.from ?? null;
    if (previous === null) {
      throw new AimassError('CONFLICT', `alias "${alias}" of "${name}" has held no version before ${current.version}; there is nothing to roll back to`, { model: name, alias });
    }
    if (!(await this.meta.getVersion(name, previous))) {
      throw new AimassError('CONFLICT', `alias "${alias}" of "${name}" held version ${previous} before, but that version was deleted`, { model: name, alias, version: previous });
    }
    const why = reason ? `${ROLLBACK_REASON}: ${reason}` : ROLLBACK_REASON;
    return this.meta.moveAlias({ model: name, alias, to: previous, expected: current.version, actor: this.actor, reason: why });
  }

  // --- garbage collection ---------------------------------------------------------------------------------

  /**
   * Artifacts under models/ that no version references: what registrations killed between upload and commit
   * (or deletions killed midway) leave. Objects younger than `graceMs` are spared (a registration may be
   * uploading them right now). A store with a temporary area of its own also gives up the half-written files
   * that killed uploads left there (as `.tmp/…` keys). With dryRun, only reports.
   */
  async gc(o: { graceMs?: number; dryRun?: boolean } = {}): Promise<{ key: string; size: number }[]> {
    const grace = o.graceMs ?? 60 * 60 * 1000;
    const referenced = new Set<string>();
    for (const m of await this.meta.listModels()) {
      for (const v of await this.meta.listVersions(m.name)) for (const f of v.files) referenced.add(`${prefixOf(v)}/${f.path}`);
    }
    const orphans: { key: string; size: number }[] = [];
    const now = Date.now();
    for await (const obj of this.artifacts.list('models/')) {
      if (referenced.has(obj.key)) continue;
      if (obj.modifiedAt && now - obj.modifiedAt.getTime() < grace) continue;
      orphans.push({ key: obj.key, size: obj.size });
    }
    if (!o.dryRun) for (const x of orphans) await this.artifacts.delete(x.key);
    if (hasTemporaryArea(this.artifacts)) {
      for (const t of await this.artifacts.sweepTemporary({ olderThanMs: grace, dryRun: o.dryRun })) orphans.push({ key: t.key, size: t.size });
    }
    return orphans;
  }
}

/** The artifact URI of a version folder: the store URI with the folder appended to its path. */
export function artifactUri(storeUri: string, prefix: string): string {
  const q = storeUri.indexOf('?');
  const [base, query] = q < 0 ? [storeUri, ''] : [storeUri.slice(0, q), storeUri.slice(q)];
  return `${base.replace(/\/+$/, '')}/${prefix}${query}`;
}

/** The folder key of a version inside the registry's artifact store ("models/<name>/<uid>"). */
export function prefixOf(v: VersionRecord): string {
  const path = v.artifactUri.split('?')[0];
  const i = path.lastIndexOf('/models/');
  if (i < 0) throw new AimassError('INTERNAL', `version ${v.version} of "${v.model}" has an artifact URI outside models/: ${v.artifactUri}`);
  return path.slice(i + 1);
}

async function listFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    throw new AimassError('NOT_FOUND', `cannot read model folder ${dir}: ${(e as Error).message}`, { dir });
  }
  return entries.filter((e) => e.isFile() && !e.name.startsWith('.')).map((e) => e.name).sort();
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 1)}\n`);
}
