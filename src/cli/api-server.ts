/**
 * The HTTP API started inside another command (`aimass run`, `aimass quickstart`): the same app and model cache
 * `aimass serve` builds (buildApp + ModelCache following alias moves within a second), listening until closed.
 * A busy port is an error naming it, or, with `fallbackToFreePort`, a free port is taken instead.
 */
import { buildApp } from '../api/index.js';
import { AimassError, type Config, createLogger } from '../core/index.js';
import { openRegistry } from '../registry/index.js';
import { ModelCache } from '../serve/index.js';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export async function startApiServer(
  config: Config,
  env: Record<string, string | undefined>,
  o: { port?: number; host?: string; fallbackToFreePort?: boolean } = {},
): Promise<RunningServer> {
  // The command's own output is for people: the server's JSON log lines (a line per request at info) would
  // interleave with it, so it logs warnings and errors only unless AIMASS_LOG_LEVEL asks for more detail.
  const level = config.logLevel === 'info' ? 'warn' : config.logLevel;
  const logger = createLogger({ level, name: 'api' });
  const registry = await openRegistry(config, env);
  const modelCache = new ModelCache(registry, {
    refreshIntervalMs: 1000,
    onRefreshError: (e, route) => logger.warn({ err: e, route }, `could not switch ${route} to the version it now names; the loaded one keeps serving`),
  });
  const host = o.host ?? config.host;
  const closeAll = async () => {
    await modelCache.close();
    await registry.close();
  };
  const listen = async (port: number): Promise<{ url: string; close(): Promise<void> }> => {
    const app = buildApp({ registry, logger, modelCache });
    try {
      const url = await app.listen({ port, host });
      return { url, close: () => app.close() };
    } catch (e) {
      await app.close();
      throw e;
    }
  };
  const port = o.port ?? config.port;
  try {
    let app;
    try {
      app = await listen(port);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
      if (!o.fallbackToFreePort) throw new AimassError('UNAVAILABLE', `port ${port} on ${host} is already in use; stop what holds it or choose another with --port`, { port, host });
      app = await listen(0);
    }
    return {
      url: app.url,
      close: async () => {
        await app.close();
        await closeAll();
      },
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

/** Resolves with the first SIGINT or SIGTERM; a second one calls `force`. */
export function nextSignal(force: () => void): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
    const first = (signal: NodeJS.Signals) => {
      for (const s of signals) {
        process.off(s, first);
        process.once(s, force);
      }
      resolve(signal);
    };
    for (const s of signals) process.on(s, first);
  });
}
