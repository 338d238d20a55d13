import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';

/** The PostgreSQL this machine runs (trust auth, database `test`); tests create their own databases next to it. */
export const LOCAL_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const LOCAL_REDIS_URL = 'redis://127.0.0.1:6379';

export function isPostgresUrl(url: string | undefined): boolean {
  return url !== undefined && /^postgres(ql)?:\/\//.test(url);
}

/** A database of its own for one test server (or one group of servers), removed by `drop()`. */
export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh, empty database: a new SQLite file under test-output/db (by default), or, when `adminUrl` is
 * a PostgreSQL URL, `CREATE DATABASE gh_test_<pid>_<random>` next to the database it names. The pid
 * lets `npm test` drop what a killed run left behind (scripts/test.mjs: databases whose process is gone).
 */
export async function createTestDatabase(adminUrl: string | undefined, outputDir: string): Promise<TestDatabase> {
  if (adminUrl !== undefined && isPostgresUrl(adminUrl)) return createPostgresDatabase(adminUrl);
  // An explicit SQLite URL (sqlite::memory:, a fixed file) is used as given.
  if (adminUrl?.startsWith('sqlite:')) return { url: adminUrl, drop: async () => {} };
  const dir = join(outputDir, 'db');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${randomUUID()}.db`);
  return {
    url: `sqlite:${file}`,
    async drop() {
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
    },
  };
}

async function withAdmin<T>(adminUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function createPostgresDatabase(adminUrl: string): Promise<TestDatabase> {
  const name = `gh_test_${process.pid}_${randomBytes(8).toString('hex')}`;
  await withAdmin(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await withAdmin(adminUrl, async (client) => {
        // A server that closed its pool may still have a backend finishing; end it so DROP cannot wait on it.
        await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
        await client.query(`DROP DATABASE IF EXISTS ${name}`);
      });
    },
  };
}
