import cluster from 'node:cluster';
import { isIP } from 'node:net';
import { openStorage } from '../composition.js';
import { databaseLabel } from '../config.js';
import type { Config } from '../config.js';
import { relayClusterRevocations } from '../events/cluster-bus.js';
import { hostClusterLimits } from '../limits/cluster-store.js';
import { oidcKeyOverlapSeconds } from '../oidc/provider.js';
import { serveClusterMetrics, startServer } from '../server/start.js';
import { KeyRing, KeyVault } from '../tokens/keys.js';

const CRASH_LOOP_WINDOW_MS = 30_000;

/**
 * Serve with `config.workers` processes sharing one port (node:cluster). The primary migrates and
 * creates the first signing keys before forking, so workers never race to do either. Without
 * Redis the primary also holds the rate-limit counters and relays revocations between workers;
 * with Redis, workers use it like separate instances do. SQLite is fine here: WAL lets readers
 * run beside the one writer, and busy_timeout makes a writer wait its turn (docs/deploy.md).
 */
export async function serve(config: Readonly<Config>): Promise<void> {
  if (config.workers <= 1 || !cluster.isPrimary) {
    const { app } = await startServer(config);
    if (!config.rateLimits) app.log.warn('RATE_LIMITS=off: login and signup limits are disabled. Use this for benchmarks only.');
    for (const warning of startWarnings(config)) app.log.warn(warning);
    const passkeys = passkeyWarning(config);
    if (passkeys && cluster.isPrimary) app.log.warn(passkeys);
    // Once per deployment, not once per worker: the primary says it for a cluster.
    if (cluster.isPrimary) app.log.info({ url: config.publicUrl, database: databaseLabel(config.databaseUrl) }, readyMessage(config));
    installShutdown(() => app.close(), (message, error) => app.log.error({ err: error }, message));
    return;
  }

  const storage = await openStorage(config);
  // The primary's own one-line log (stderr), as for its other messages: workers have not started yet.
  const log = { info: (details: object, message: string) => process.stderr.write(`gatehouse: ${message} ${JSON.stringify(details)}\n`) };
  await new KeyRing(storage.db, new KeyVault(config.keyEncryptionSecret), Date.now, log).init(config.jwtAlgorithm, config.accessTokenTtl + 60);
  // And the OpenID Connect provider's first ID token key (RS256), for the same reason.
  if (config.oidcEnabled) await new KeyRing(storage.db, new KeyVault(config.keyEncryptionSecret), Date.now, log, 'oidc').init('RS256', oidcKeyOverlapSeconds(config));
  await storage.close();

  if (config.redisUrl === null) {
    // Without Redis the primary is where the workers meet: one set of counters, one relay.
    hostClusterLimits(config.limitStoreMaxKeys);
    relayClusterRevocations();
  }
  const closeMetrics = await serveClusterMetrics(config);
  let stopping = false;
  let exitCode = 0;
  const recentExits: number[] = [];
  // Workers that exited before they ever listened, in a row: a start that cannot succeed (a port
  // in use, a database that refuses) however slowly the machine starts each one.
  let failedStartsInARow = 0;
  const listened = new Set<number>();
  cluster.on('listening', (worker) => {
    listened.add(worker.id);
    failedStartsInARow = 0;
  });
  for (let i = 0; i < config.workers; i += 1) cluster.fork();
  for (const warning of startWarnings(config)) process.stderr.write(`gatehouse: ${warning}\n`);
  const passkeys = passkeyWarning(config);
  if (passkeys) process.stderr.write(`gatehouse: ${passkeys}\n`);
  cluster.once('listening', () => process.stderr.write(`gatehouse: ${config.workers} workers; ${readyMessage(config)}\n`));
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(exitCode);
      return;
    }
    process.stderr.write(`gatehouse: worker ${worker.process.pid} exited (${signal ?? code}); starting another\n`);
    // Workers that die as fast as they start, or that keep dying once started, are not restarted forever.
    const now = Date.now();
    recentExits.push(now);
    while (recentExits.length > 0 && now - (recentExits[0] ?? now) > CRASH_LOOP_WINDOW_MS) recentExits.shift();
    if (!listened.delete(worker.id)) failedStartsInARow += 1;
    const limit = config.workers * 3;
    if (failedStartsInARow > limit || recentExits.length > limit) {
      const why = failedStartsInARow > limit ? `${failedStartsInARow} in a row exited before listening` : `${recentExits.length} exits in ${CRASH_LOOP_WINDOW_MS / 1000} s`;
      process.stderr.write(`gatehouse: workers keep exiting (${why}); stopping\n`);
      stop(1);
      return;
    }
    cluster.fork();
  });
  const stop = (code = 0) => {
    stopping = true;
    exitCode = code;
    void closeMetrics?.();
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(exitCode);
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    setTimeout(() => process.exit(1), 15_000).unref();
  };
  process.once('SIGTERM', () => stop());
  process.once('SIGINT', () => stop());
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

/** What a newcomer needs after `npm start`: where it listens, on which database, and what next. */
function readyMessage(config: Readonly<Config>): string {
  return (
    `Gatehouse is listening on ${config.publicUrl} with the database ${databaseLabel(config.databaseUrl)}. ` +
    `Open ${config.publicUrl} in a browser to sign up; make the first admin with: npx gatehouse user create --username admin --admin`
  );
}

/** Settings that start but will surprise: said once at start. */
export function startWarnings(config: Readonly<Config>): string[] {
  const warnings: string[] = [];
  if (config.databaseUrl.startsWith('postgres') && !config.publicUrlSet) {
    warnings.push(
      `PUBLIC_URL is not set, so this instance issues tokens as ${config.publicUrl}. Instances that share a database must share one PUBLIC_URL, ` +
        'or each refuses the tokens of the others (the 401 log line then names both issuers).',
    );
  }
  return warnings;
}

/**
 * Said once at start when the WebAuthn relying party is an IP address (PUBLIC_URL's host, as with
 * the default http://127.0.0.1:3000): browsers refuse one, so passkeys cannot be added or used.
 */
export function passkeyWarning(config: Readonly<Pick<Config, 'webauthnRpId'>>): string | null {
  if (isIP(config.webauthnRpId.replace(/^\[|\]$/g, '')) === 0) return null;
  return (
    `Passkeys will not work: their relying party is ${config.webauthnRpId}, an IP address, and browsers refuse one. ` +
    'Open Gatehouse by a host name instead: PUBLIC_URL=http://localhost:PORT in development (see docs/mfa.md, Passkeys).'
  );
}
