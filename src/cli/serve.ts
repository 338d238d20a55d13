import cluster from 'node:cluster';
import type { Config } from '../config.js';
import { openStorage, startServer } from '../runtime.js';
import { KeyRing, KeyVault } from '../tokens/keys.js';

/**
 * Serve with `config.workers` processes sharing one port (node:cluster). The primary migrates and
 * creates the first signing key before forking, so workers never race to do either.
 */
export async function serve(config: Readonly<Config>): Promise<void> {
  if (config.workers <= 1 || !cluster.isPrimary) {
    const { app } = await startServer(config);
    if (!config.rateLimits) app.log.warn('RATE_LIMITS=off: login and signup limits are disabled. Use this for benchmarks only.');
    installShutdown(() => app.close(), (message, error) => app.log.error({ err: error }, message));
    return;
  }

  const storage = await openStorage(config);
  await new KeyRing(storage.db, new KeyVault(config.keyEncryptionSecret), Date.now).init(config.jwtAlgorithm, config.accessTokenTtl + 60);
  await storage.close();

  let stopping = false;
  for (let i = 0; i < config.workers; i += 1) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    process.stderr.write(`gatehouse: worker ${worker.process.pid} exited (${signal ?? code}); starting another\n`);
    cluster.fork();
  });
  const stop = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    setTimeout(() => process.exit(1), 15_000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** Stop accepting, let in-flight requests finish (up to 10 s), close the database, exit. */
export function installShutdown(close: () => Promise<void>, logError: (message: string, error: unknown) => void): void {
  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    setTimeout(() => process.exit(1), 10_000).unref();
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        logError('shutdown failed', error);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}
