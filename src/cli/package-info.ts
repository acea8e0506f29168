/**
 * Versions of AI Mass itself and of the native runtime it drives, read from package.json files without loading
 * the runtime (so `aimass --version` and `aimass info` stay fast and work even if the native binding is broken).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

function readJson(file: string | URL): Record<string, unknown> {
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

export function aimassVersion(): string {
  return String(readJson(new URL('../../package.json', import.meta.url)).version);
}

/** The installed version of an npm dependency, or undefined when it is not installed. */
export function dependencyVersion(name: string): string | undefined {
  try {
    return String(readJson(require.resolve(`${name}/package.json`)).version);
  } catch {
    return undefined;
  }
}
