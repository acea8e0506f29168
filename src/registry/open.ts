// Opens the registry the configuration names: metadata and artifact stores by URI (the embedded default is
// sqlite under AIMASS_HOME and file:// artifacts under AIMASS_HOME), acting as AIMASS_USER or the OS user.
import { userInfo } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mkdir } from 'node:fs/promises';
import type { Config } from '../core/index.js';
import { openArtifactStore, openMetadataStore } from '../storage/index.js';
import { Registry } from './registry.js';

export function actorName(env: Record<string, string | undefined> = process.env): string {
  if (env.AIMASS_USER) return env.AIMASS_USER;
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

export async function openRegistry(config: Config, env: Record<string, string | undefined> = process.env): Promise<Registry> {
  if (config.artifactUri.startsWith('file:')) await mkdir(fileURLToPath(config.artifactUri), { recursive: true });
  const meta = await openMetadataStore(config.metadataUri);
  try {
    return new Registry(meta, await openArtifactStore(config.artifactUri), actorName(env));
  } catch (e) {
    await meta.close();
    throw e;
  }
}

/** The default backup target: file:// under AIMASS_HOME. */
export function defaultBackupUri(config: Config): string {
  return pathToFileURL(`${config.home}/backups`).href;
}
