import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import type { Config } from '../../src/config.js';
import { createServices, openStorage, startHousekeeping } from '../../src/composition.js';
import type { Services } from '../../src/composition.js';
import { buildApp } from '../../src/server/app.js';
import { createLoggers } from '../../src/server/logging.js';
import type { GatehouseApp } from '../../src/server/app.js';
import type { Storage } from '../../src/storage/database.js';
import { createTestDatabase } from './database.js';
import { TestClient } from './http.js';

export const TEST_OUTPUT = join(process.cwd(), 'test-output');

/** A clock tests can move: `clock.advance(ms)`. */
export interface FakeClock {
  (): number;
  advance(ms: number): void;
  set(ms: number): void;
}

export function fakeClock(start = Date.now()): FakeClock {
  let now = start;
  const clock = (() => now) as FakeClock;
  clock.advance = (ms) => {
    now += ms;
  };
  clock.set = (ms) => {
    now = ms;
  };
  return clock;
}

export interface TestServer {
  app: GatehouseApp;
  services: Services;
  config: Readonly<Config>;
  storage: Storage;
  url: string;
  /** A fresh client with an empty cookie jar. */
  client(): TestClient;
  close(): Promise<void>;
}

/**
 * The whole app on a real SQLite file (or, when TEST_DATABASE_URL is a postgres:// URL, on a fresh
 * PostgreSQL database created for this server and dropped by close()), listening on a free loopback
 * port. Environment overrides go through the same config parser as production.
 */
export async function startTestServer(env: Record<string, string> = {}, options: { clock?: () => number } = {}): Promise<TestServer> {
  // TEST_DATABASE_URL=postgres://… runs the suite on PostgreSQL: each server gets a database of its own.
  const database = env.DATABASE_URL ? { url: env.DATABASE_URL, drop: async () => {} } : await createTestDatabase(process.env.TEST_DATABASE_URL, TEST_OUTPUT, { migrated: true });
  const config = loadConfig({
    NODE_ENV: 'test',
    BCRYPT_COST: '4',
    DATABASE_URL: database.url,
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // Without SMTP_URL mail becomes .eml files: here, never in ./data.
    MAIL_DIR: join(TEST_OUTPUT, 'mail'),
    ...env,
  });
  let storage: Storage;
  try {
    storage = await openStorage(config);
  } catch (error) {
    await database.drop();
    throw error;
  }
  const loggers = createLoggers(config);
  const services = createServices(config, { storage, log: loggers.log, ...(options.clock ? { clock: options.clock } : {}) });
  const app = await buildApp(config, services, { loggers });
  // As a serving process does (server/start.ts): the hourly sweep, stopped when the app closes.
  const stopHousekeeping = startHousekeeping(services, loggers.log);
  app.addHook('onClose', async () => stopHousekeeping());
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  return {
    app,
    services,
    config,
    storage,
    url,
    client: () => new TestClient(url),
    async close() {
      await app.close();
      await storage.close();
      await database.drop();
    },
  };
}

let counter = 0;
/** A unique, valid username for this test run. */
export function uniqueName(prefix = 'user'): string {
  counter += 1;
  return `${prefix}_${process.pid}_${counter}`.slice(0, 32);
}

export const GOOD_PASSWORD = 'correct horse battery staple';

/** Sign up through the API and return the logged-in client. */
export async function signUpClient(server: TestServer, username = uniqueName(), password = GOOD_PASSWORD, email?: string): Promise<{ client: TestClient; user: { id: number; username: string } }> {
  const client = server.client();
  const res = await client.post<{ id: number; username: string }>('/signup', { username, password, ...(email ? { email } : {}) });
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${res.text}`);
  return { client, user: res.body };
}
