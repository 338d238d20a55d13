import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { createStorage } from '../../src/storage/database.js';
import { migrateToLatest } from '../../src/storage/migrate.js';

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
export async function createTestDatabase(adminUrl: string | undefined, outputDir: string, options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  if (adminUrl !== undefined && isPostgresUrl(adminUrl)) return createPostgresDatabase(adminUrl, options.migrated ? await migratedTemplate(adminUrl) : undefined);
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

function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A server that closed its pool may still have a backend finishing; end it so DROP (or a copy) cannot wait on it. */
async function endConnections(client: pg.Client, name: string): Promise<void> {
  await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
}

async function createPostgresDatabase(adminUrl: string, template?: string): Promise<TestDatabase> {
  const name = `gh_test_${process.pid}_${randomBytes(8).toString('hex')}`;
  await withAdmin(adminUrl, (client) => client.query(template ? `CREATE DATABASE ${name} TEMPLATE ${template}` : `CREATE DATABASE ${name}`));
  return {
    url: databaseUrl(adminUrl, name),
    async drop() {
      await withAdmin(adminUrl, async (client) => {
        await endConnections(client, name);
        await client.query(`DROP DATABASE IF EXISTS ${name}`);
      });
    },
  };
}

/** The shipped migrations' fingerprint: a template made from other migrations is never used. */
function migrationsFingerprint(): string {
  const dir = join(import.meta.dirname, '..', '..', 'src', 'storage', 'migrations');
  const hash = createHash('sha256');
  for (const file of readdirSync(dir).sort()) hash.update(file).update(readFileSync(join(dir, file)));
  return hash.digest('hex').slice(0, 16);
}

const templates = new Map<string, Promise<string>>();

/**
 * A database with every migration applied, for CREATE DATABASE … TEMPLATE: copying it is several
 * times faster than migrating each test server's database (PostgreSQL's DDL is the slow part of
 * starting one). Made once for a set of migrations and kept between runs (`gh_template_<fingerprint>`;
 * the templates of other migrations are dropped when a new one is made). It is built under a
 * `gh_test_<pid>_…` name, which a killed run's cleanup drops, and renamed when complete; an
 * advisory lock makes concurrent test processes build it once.
 */
function migratedTemplate(adminUrl: string): Promise<string> {
  let template = templates.get(adminUrl);
  if (!template) {
    template = withAdmin(adminUrl, async (client) => {
      const name = `gh_template_${migrationsFingerprint()}`;
      await client.query('SELECT pg_advisory_lock(hashtext($1))', ['gatehouse test template']);
      try {
        const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
        if (rowCount === 0) {
          const building = `gh_test_${process.pid}_${randomBytes(8).toString('hex')}`;
          await client.query(`CREATE DATABASE ${building}`);
          const storage = await createStorage(databaseUrl(adminUrl, building));
          try {
            await migrateToLatest(storage);
          } finally {
            await storage.close();
          }
          await endConnections(client, building);
          await client.query(`ALTER DATABASE ${building} RENAME TO ${name}`);
          const { rows } = await client.query("SELECT datname FROM pg_database WHERE datname LIKE 'gh\\_template\\_%' AND datname <> $1", [name]);
          for (const { datname } of rows as Array<{ datname: string }>) await client.query(`DROP DATABASE IF EXISTS ${datname}`);
        }
        return name;
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', ['gatehouse test template']);
      }
    });
    templates.set(adminUrl, template);
    // A failure is this caller's, not every later one's: the next server tries again.
    template.catch(() => templates.delete(adminUrl));
  }
  return template;
}
