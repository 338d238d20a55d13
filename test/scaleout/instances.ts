import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config.js';
import type { Config } from '../../src/config.js';
import type { Services } from '../../src/composition.js';
import type { RevocationEvent } from '../../src/events/bus.js';
import type { GatehouseApp } from '../../src/server/app.js';
import { createServer } from '../../src/server/start.js';
import type { ServerOptions } from '../../src/server/start.js';
import { TEST_OUTPUT } from '../helpers/app.js';
import { createTestDatabase, LOCAL_POSTGRES_URL, LOCAL_REDIS_URL } from '../helpers/database.js';
import type { TestDatabase } from '../helpers/database.js';
import { TestClient } from '../helpers/http.js';

export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? LOCAL_POSTGRES_URL;
export const REDIS_URL = process.env.TEST_REDIS_URL ?? LOCAL_REDIS_URL;

/** One Gatehouse instance: its own app, caches, pool and Redis connections, on its own port. */
export interface Instance {
  app: GatehouseApp;
  services: Services;
  config: Readonly<Config>;
  url: string;
  client(): TestClient;
  close(): Promise<void>;
}

/** Log lines an instance wrote (as parsed pino JSON), for asserting on warnings. */
export type LogLines = Array<{ level: number; msg: string }>;

export interface Deployment {
  database: TestDatabase;
  /** Unique per deployment, so parallel runs never see each other's keys or revocations. */
  redisPrefix: string;
  env: Record<string, string>;
  start(overrides?: Record<string, string>, options?: { clock?: () => number; deps?: Pick<ServerOptions, 'limitStore' | 'bus'>; logs?: LogLines }): Promise<Instance>;
  close(): Promise<void>;
}

/**
 * A deployment as an operator runs it: one fresh PostgreSQL database, one Redis (under a key
 * prefix of its own) and any number of separate Gatehouse instances on it, each built by the
 * same runtime code `gatehouse serve` uses.
 */
export async function deployment(env: Record<string, string> = {}): Promise<Deployment> {
  const database = await createTestDatabase(POSTGRES_ADMIN_URL, TEST_OUTPUT);
  const redisPrefix = `gh_test_${randomBytes(6).toString('hex')}:`;
  const instances: Instance[] = [];
  const base = {
    NODE_ENV: 'test',
    BCRYPT_COST: '4',
    DATABASE_URL: database.url,
    REDIS_URL,
    REDIS_PREFIX: redisPrefix,
    PORT: '0',
    LOG_LEVEL: 'silent',
    DB_STATEMENT_TIMEOUT_MS: '2000',
    ...env,
  };
  return {
    database,
    redisPrefix,
    env: base,
    async start(overrides = {}, options = {}) {
      const config = loadConfig({ ...base, ...overrides });
      const logs = options.logs;
      const logStream = logs
        ? {
            write(line: string) {
              logs.push(JSON.parse(line) as { level: number; msg: string });
            },
          }
        : undefined;
      const { app, services } = await createServer(logs ? { ...config, logLevel: 'info' } : config, {
        ...(options.clock ? { clock: options.clock } : {}),
        ...(logStream ? { logStream } : {}),
        ...options.deps,
      });
      await app.listen({ port: 0, host: '127.0.0.1' });
      const address = app.server.address();
      const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
      const instance: Instance = { app, services, config, url, client: () => new TestClient(url), close: () => app.close() };
      instances.push(instance);
      return instance;
    },
    async close() {
      await Promise.all(instances.map((instance) => instance.close()));
      await database.drop();
      await deleteRedisKeys(redisPrefix);
    },
  };
}

async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * Resolves when `instance` hears a revocation matching `match` from another instance (over Redis).
 * Register it before the action: what the test then asserts on `instance` follows from the event.
 */
export function heard(instance: Instance, match: (event: RevocationEvent) => boolean, deadlineMs = 10_000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the revocation never reached the other instance')), deadlineMs);
    instance.services.bus.subscribe((event) => {
      if (!match(event)) return;
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Both clients present the same cookies: one browser whose requests a load balancer spreads over instances. */
export function sameBrowser(from: TestClient, to: Instance): TestClient {
  const client = to.client();
  for (const [name, value] of from.cookies) client.cookies.set(name, value);
  return client;
}
