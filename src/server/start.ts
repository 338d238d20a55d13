import cluster from 'node:cluster';
import type { DestinationStream } from 'pino';
import { AggregatorRegistry } from 'prom-client';
import { connectRedis, createServices, disconnectRedis, openStorage, startHousekeeping } from '../composition.js';
import type { ServiceDependencies, Services } from '../composition.js';
import type { Config } from '../config.js';
import { ClusterRevocationBus } from '../events/cluster-bus.js';
import { RedisRevocationBus } from '../events/redis-bus.js';
import { ClusterLimitStore } from '../limits/cluster-store.js';
import type { Storage } from '../storage/database.js';
import { buildApp } from './app.js';
import type { GatehouseApp } from './app.js';
import { createLoggers } from './logging.js';
import { startMetricsServer } from './plugins/metrics.js';

export interface ServerOptions extends Pick<ServiceDependencies, 'clock' | 'limitStore' | 'bus'> {
  /** Where the logs go (tests collect them); stdout by default. */
  logStream?: DestinationStream;
  webDistDir?: string;
}

export interface Server {
  app: GatehouseApp;
  services: Services;
  storage: Storage;
}

/**
 * Everything one serving process holds: the database (migrated), Redis when configured, the
 * services, their hourly housekeeping and the HTTP app. Closing the app closes all of it.
 */
export async function createServer(config: Readonly<Config>, options: ServerOptions = {}): Promise<Server> {
  const loggers = createLoggers(config, options.logStream);
  const storage = await openStorage(config);
  const redis = config.redisUrl ? await connectRedis(config.redisUrl) : undefined;
  let app: GatehouseApp;
  let services: Services;
  try {
    const { clock, limitStore, bus } = options;
    services = createServices(config, {
      storage,
      log: loggers.log,
      ...(redis ? { redis } : {}),
      ...(clock ? { clock } : {}),
      ...(limitStore ? { limitStore } : {}),
      ...(bus ? { bus } : {}),
    });
    app = await buildApp(config, services, { loggers, ...(options.webDistDir ? { webDistDir: options.webDistDir } : {}) });
  } catch (error) {
    if (redis) redis.disconnect();
    await storage.close();
    throw error;
  }
  const stopHousekeeping = startHousekeeping(services, loggers.log);
  app.addHook('onClose', async () => {
    stopHousekeeping();
    await storage.close();
    if (redis) await disconnectRedis(redis);
  });
  if (redis) {
    await redis.ping().catch((error: unknown) => {
      loggers.log.warn({ err: error }, 'Redis is not reachable: rate limits count per instance and revocations stay local until it is');
    });
  }
  // Serve only once revocations from other instances are heard (or Redis is known to be down).
  if (services.bus instanceof RedisRevocationBus) await services.bus.whenSubscribed(1_500);
  return { app, services, storage };
}

/**
 * Listen on PORT (and on METRICS_PORT when set, unless this is a cluster worker: the primary
 * serves the workers' metrics added up). Cluster workers without Redis share rate-limit counters
 * and revocations through the primary, so N workers behave as one process.
 */
export async function startServer(config: Readonly<Config>): Promise<Server & { address: string }> {
  const viaPrimary = cluster.isWorker && config.redisUrl === null ? { limitStore: new ClusterLimitStore(config.limitStoreMaxKeys), bus: new ClusterRevocationBus() } : {};
  const server = await createServer(config, viaPrimary);
  const { app } = server;
  if (cluster.isWorker) {
    // The primary asks every worker for its registry and serves the sum (see serveClusterMetrics).
    AggregatorRegistry.setRegistries([app.metrics]);
    new AggregatorRegistry();
  } else if (config.metricsPort !== null) {
    const metrics = await startMetricsServer(config.metricsPort, config.metricsHost, async () => ({ contentType: app.metrics.contentType, body: await app.metrics.metrics() }));
    app.addHook('onClose', metrics.close);
  }
  const address = await app.listen({ port: config.port, host: config.host });
  return { ...server, address };
}

/** In a cluster primary: METRICS_PORT serves every worker's metrics, added up (gauges of shared state are not summed). */
export async function serveClusterMetrics(config: Readonly<Config>): Promise<(() => Promise<void>) | null> {
  if (config.metricsPort === null) return null;
  const aggregator = new AggregatorRegistry();
  const metrics = await startMetricsServer(config.metricsPort, config.metricsHost, async () => ({ contentType: aggregator.contentType, body: await aggregator.clusterMetrics() }));
  return metrics.close;
}
