import cluster from 'node:cluster';
import { Redis } from 'ioredis';
import { AggregatorRegistry } from 'prom-client';
import type { Config } from './config.js';
import { ClusterRevocationBus } from './events-cluster.js';
import { RedisRevocationBus } from './events-redis.js';
import { ClusterLimitStore } from './limits/cluster-store.js';
import { buildApp } from './server/app.js';
import type { AppDependencies, GatehouseApp } from './server/app.js';
import { startMetricsServer } from './server/plugins/metrics.js';
import { createStorage } from './storage/database.js';
import type { Storage } from './storage/database.js';
import { migrateToLatest } from './storage/migrate.js';

/** Open the database named by the config and bring its schema up to date. */
export async function openStorage(config: Readonly<Config>): Promise<Storage> {
  const storage = await createStorage(config.databaseUrl, { poolSize: config.dbPoolSize, statementTimeoutMs: config.dbStatementTimeoutMs });
  try {
    await migrateToLatest(storage);
  } catch (error) {
    await storage.close();
    throw error;
  }
  return storage;
}

/**
 * REDIS_URL's client, tuned to fail fast rather than wait: no offline queue (a command while
 * disconnected fails at once), short connect and command timeouts, reconnection in the background.
 * Callers (RedisLimitStore, RedisRevocationBus) treat every failure as "Redis down" and fall back.
 */
export function connectRedis(url: string): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    connectTimeout: 1_000,
    commandTimeout: 1_000,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    // Connection errors are reported by the stores that use the client (with a rate-limited warning).
    lazyConnect: false,
  });
  redis.on('error', () => {});
  return redis;
}

/** Give a new client a moment to connect, so the first requests (or a CLI command) already use it. */
async function settled(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done);
      redis.off('error', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    redis.once('ready', done);
    redis.once('error', done);
  });
}

/**
 * Storage, migrations, Redis (when configured) and the app: what `serve` and the tests that
 * start a real server share. Closing the app closes the database and Redis connections.
 */
export async function createApp(config: Readonly<Config>, deps: Partial<AppDependencies> = {}): Promise<{ app: GatehouseApp; storage: Storage }> {
  const storage = await openStorage(config);
  const redis = config.redisUrl && !deps.redis ? connectRedis(config.redisUrl) : undefined;
  if (redis) await settled(redis, 1_500);
  let app: GatehouseApp;
  try {
    app = await buildApp(config, { storage, ...(redis ? { redis } : {}), ...deps });
  } catch (error) {
    redis?.disconnect();
    await storage.close();
    throw error;
  }
  app.addHook('onClose', async () => {
    await storage.close();
    if (redis) await redis.quit().catch(() => redis.disconnect());
  });
  // Serve only once revocations from other instances are heard (or Redis is known to be down).
  if (app.ctx.bus instanceof RedisRevocationBus) await app.ctx.bus.whenSubscribed(1_500);
  return { app, storage };
}

/**
 * Listen on PORT (and on METRICS_PORT when set, unless this is a cluster worker: the primary
 * serves the workers' metrics added up). Cluster workers without Redis share rate-limit counters
 * and revocations through the primary, so N workers behave as one process.
 */
export async function startServer(config: Readonly<Config>): Promise<{ app: GatehouseApp; storage: Storage; address: string }> {
  const viaPrimary = cluster.isWorker && config.redisUrl === null ? { limitStore: new ClusterLimitStore(), bus: new ClusterRevocationBus() } : {};
  const { app, storage } = await createApp(config, viaPrimary);
  if (cluster.isWorker) {
    // The primary asks every worker for its registry and serves the sum (see serveClusterMetrics).
    AggregatorRegistry.setRegistries([app.metrics]);
    new AggregatorRegistry();
  } else if (config.metricsPort !== null) {
    const metrics = await startMetricsServer(config.metricsPort, config.metricsHost, async () => ({ contentType: app.metrics.contentType, body: await app.metrics.metrics() }));
    app.addHook('onClose', metrics.close);
  }
  const address = await app.listen({ port: config.port, host: config.host });
  return { app, storage, address };
}

/** In a cluster primary: METRICS_PORT serves every worker's metrics, added up (gauges of shared state are not summed). */
export async function serveClusterMetrics(config: Readonly<Config>): Promise<(() => Promise<void>) | null> {
  if (config.metricsPort === null) return null;
  const aggregator = new AggregatorRegistry();
  const metrics = await startMetricsServer(config.metricsPort, config.metricsHost, async () => ({ contentType: aggregator.contentType, body: await aggregator.clusterMetrics() }));
  return metrics.close;
}
