import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../src/config.js';
import type { Config } from '../../src/config.js';
import type { AppContext } from '../../src/context.js';
import { openStorage } from '../../src/runtime.js';
import { buildApp } from '../../src/server/app.js';
import type { GatehouseApp } from '../../src/server/app.js';
import type { Storage } from '../../src/storage/database.js';
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
  ctx: AppContext;
  config: Readonly<Config>;
  storage: Storage;
  url: string;
  /** A fresh client with an empty cookie jar. */
  client(): TestClient;
  close(): Promise<void>;
}

/**
 * The whole app on a real SQLite file (or DATABASE_URL from TEST_DATABASE_URL), listening on a
 * free loopback port. Environment overrides go through the same config parser as production.
 */
export async function startTestServer(env: Record<string, string> = {}, options: { clock?: () => number } = {}): Promise<TestServer> {
  const dir = join(TEST_OUTPUT, 'db');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${randomUUID()}.db`);
  const config = loadConfig({
    NODE_ENV: 'test',
    BCRYPT_COST: '4',
    DATABASE_URL: process.env.TEST_DATABASE_URL ?? `sqlite:${file}`,
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...env,
  });
  const storage = await openStorage(config);
  const app = await buildApp(config, { storage, ...(options.clock ? { clock: options.clock } : {}) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  return {
    app,
    ctx: app.ctx,
    config,
    storage,
    url,
    client: () => new TestClient(url),
    async close() {
      await app.close();
      await storage.close();
      rmSync(file, { force: true });
      rmSync(`${file}-wal`, { force: true });
      rmSync(`${file}-shm`, { force: true });
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
