import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';

/**
 * The benchmark's own database: created fresh for one run, seeded with plain SQL while the server
 * is stopped, dropped afterwards. The rows match src/storage/migrations/20261201T0500-initial-schema.ts
 * (users + password_credentials, and sessions for W6) and 20261206T1300-second-factors.ts
 * (totp_credentials for W7); the server creates the tables itself.
 */
export interface BenchDatabase {
  dialect: 'sqlite' | 'postgres';
  /** DATABASE_URL for the server. */
  url: string;
  /** Add users `seed<from+1>` … `seed<to>`, all with the same password hash. */
  seedUsers(from: number, to: number, passwordHash: string): Promise<void>;
  /**
   * Turn TOTP on for users `seed<from+1>` … `seed<to>`: a confirmed credential whose stored secret
   * is `sealedSecret` (as KeyVault.seal leaves it), the state POST /api/me/mfa/totp/confirm ends
   * in, without its recovery codes; users.totp_last_step stays 0, so every step is still unused.
   */
  enableTotp(from: number, to: number, sealedSecret: string): Promise<void>;
  /** One session per seeded user ordinal; returns the cookie values (the server stores only their SHA-256). */
  seedSessions(ordinals: number[]): Promise<string[]>;
  countUsers(): Promise<number>;
  /**
   * A copy of this database, rows and all, as a new database of its own (`label` goes into its
   * name); no server may be using this one meanwhile. The caller drops it (Bench.track).
   */
  clone(label: string): Promise<BenchDatabase>;
  drop(): Promise<void>;
}

/** Seeded users are `seed1`, `seed2`, …; the ordinal is the number. */
export function seedUsername(ordinal: number): string {
  return `seed${ordinal}`;
}

const CHUNK = 200_000;
const DAY_MS = 24 * 3600 * 1000;

function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

interface SeedSession {
  id: string;
  tokenHash: string;
  csrfHash: string;
  username: string;
}

/** The cookie value is 32 random bytes, base64url, like src/sessions/tokens.ts makes them. */
function newSessions(ordinals: number[]): { tokens: string[]; rows: SeedSession[] } {
  const tokens: string[] = [];
  const rows: SeedSession[] = [];
  for (const ordinal of ordinals) {
    const token = randomBytes(32).toString('base64url');
    tokens.push(token);
    rows.push({ id: randomUUID(), tokenHash: sha256Hex(token), csrfHash: sha256Hex(randomBytes(32).toString('base64url')), username: seedUsername(ordinal) });
  }
  return { tokens, rows };
}

function sessionTimes(): { now: string; idle: string; expires: string } {
  const now = Date.now();
  return { now: new Date(now).toISOString(), idle: new Date(now + 7 * DAY_MS).toISOString(), expires: new Date(now + 30 * DAY_MS).toISOString() };
}

/** A SQLite file in `dir`. Seeding uses one prepared statement per table inside a transaction per chunk. */
export function sqliteDatabase(dir: string, file = 'gatehouse-bench.db'): BenchDatabase {
  const path = join(dir, file);
  const open = () => {
    const db = new SqliteDatabase(path);
    db.pragma('busy_timeout = 5000');
    return db;
  };
  return {
    dialect: 'sqlite',
    url: `sqlite:${path}`,
    async seedUsers(from, to, passwordHash) {
      const db = open();
      try {
        const now = new Date().toISOString();
        const insertUser = db.prepare(
          `insert into users (username, username_normalized, email, email_normalized, role, disabled_at, tokens_valid_after, created_at, updated_at)
           values (?, ?, ?, ?, 'user', null, null, ?, ?)`,
        );
        const insertCredential = db.prepare('insert into password_credentials (user_id, password_hash, updated_at) values (?, ?, ?)');
        const chunk = db.transaction((start: number, end: number) => {
          for (let n = start; n <= end; n += 1) {
            const name = seedUsername(n);
            const email = `${name}@bench.example`;
            const { lastInsertRowid } = insertUser.run(name, name, email, email, now, now);
            insertCredential.run(lastInsertRowid, passwordHash, now);
          }
        });
        for (let start = from + 1; start <= to; start += CHUNK) chunk(start, Math.min(to, start + CHUNK - 1));
      } finally {
        db.close();
      }
    },
    async enableTotp(from, to, sealedSecret) {
      const db = open();
      try {
        const now = new Date().toISOString();
        const insert = db.prepare(
          `insert into totp_credentials (user_id, secret_encrypted, confirmed_at, created_at)
           select id, ?, ?, ? from users where username_normalized = ?`,
        );
        const inserted = db.transaction(() => {
          let rows = 0;
          for (let n = from + 1; n <= to; n += 1) rows += insert.run(sealedSecret, now, now, seedUsername(n)).changes;
          return rows;
        })();
        if (inserted !== to - from) throw new Error(`enableTotp: ${inserted} of ${to - from} users found`);
      } finally {
        db.close();
      }
    },
    async seedSessions(ordinals) {
      const { tokens, rows } = newSessions(ordinals);
      const { now, idle, expires } = sessionTimes();
      const db = open();
      try {
        const insert = db.prepare(
          `insert into sessions (id, token_hash, csrf_hash, user_id, persistent, created_at, last_seen_at, idle_expires_at, expires_at, ip, user_agent)
           select ?, ?, ?, id, 0, ?, ?, ?, ?, null, 'gatehouse-bench' from users where username_normalized = ?`,
        );
        db.transaction(() => {
          for (const row of rows) insert.run(row.id, row.tokenHash, row.csrfHash, now, now, idle, expires, row.username);
        })();
      } finally {
        db.close();
      }
      return tokens;
    },
    async countUsers() {
      const db = open();
      try {
        return Number((db.prepare('select count(*) as n from users').get() as { n: number }).n);
      } finally {
        db.close();
      }
    },
    async clone(label) {
      const file = `gatehouse-bench-${label}.db`;
      // SQLite's backup API rather than a file copy: it includes what is still in the -wal file.
      const db = open();
      try {
        await db.backup(join(dir, file));
      } finally {
        db.close();
      }
      return sqliteDatabase(dir, file);
    },
    async drop() {
      // The run's temporary directory is removed as well; removing the file now frees the disk early.
      for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${path}${suffix}`, { force: true });
    },
  };
}

/**
 * A fresh PostgreSQL database on `adminUrl`'s server, created through `adminUrl` (a database that
 * already exists) and dropped at the end. Seeding is INSERT … SELECT over generate_series.
 */
export function postgresDatabase(adminUrl: string): Promise<BenchDatabase> {
  const name = `gatehouse_bench_${Date.now()}_${process.pid}`;
  return createPostgres(adminUrl, name, name, null);
}

/** Create database `name` (as a copy of database `template`, if given) and return it; its clones are named `<run>_<label>`. */
async function createPostgres(adminUrl: string, run: string, name: string, template: string | null): Promise<BenchDatabase> {
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  await admin.connect();
  try {
    await admin.query(`create database ${name}${template ? ` template ${template}` : ''}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;

  async function withClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5000 });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

  return {
    dialect: 'postgres',
    url: url.toString(),
    seedUsers: (from, to, passwordHash) =>
      withClient(async (client) => {
        const now = new Date().toISOString();
        for (let start = from + 1; start <= to; start += CHUNK) {
          const end = Math.min(to, start + CHUNK - 1);
          await client.query(
            `with inserted as (
               insert into users (username, username_normalized, email, email_normalized, role, created_at, updated_at)
               select 'seed' || g, 'seed' || g, 'seed' || g || '@bench.example', 'seed' || g || '@bench.example', 'user', $3, $3
               from generate_series($1::int, $2::int) as g
               returning id
             )
             insert into password_credentials (user_id, password_hash, updated_at) select id, $4, $3 from inserted`,
            [start, end, now, passwordHash],
          );
        }
        // Fresh statistics, so the planner sees a million rows rather than the empty table it started with.
        await client.query('analyze users');
        await client.query('analyze password_credentials');
      }),
    enableTotp: (from, to, sealedSecret) =>
      withClient(async (client) => {
        const { rowCount } = await client.query(
          `insert into totp_credentials (user_id, secret_encrypted, confirmed_at, created_at)
           select u.id, $3, $4, $4 from generate_series($1::int, $2::int) as g join users u on u.username_normalized = 'seed' || g`,
          [from + 1, to, sealedSecret, new Date().toISOString()],
        );
        if (rowCount !== to - from) throw new Error(`enableTotp: ${rowCount ?? 0} of ${to - from} users found`);
        await client.query('analyze totp_credentials');
      }),
    seedSessions: (ordinals) =>
      withClient(async (client) => {
        const { tokens, rows } = newSessions(ordinals);
        const { now, idle, expires } = sessionTimes();
        await client.query(
          `insert into sessions (id, token_hash, csrf_hash, user_id, persistent, created_at, last_seen_at, idle_expires_at, expires_at, ip, user_agent)
           select t.id, t.token_hash, t.csrf_hash, u.id, false, $5, $5, $6, $7, null, 'gatehouse-bench'
           from unnest($1::text[], $2::text[], $3::text[], $4::text[]) as t(id, token_hash, csrf_hash, username)
           join users u on u.username_normalized = t.username`,
          [rows.map((r) => r.id), rows.map((r) => r.tokenHash), rows.map((r) => r.csrfHash), rows.map((r) => r.username), now, idle, expires],
        );
        await client.query('analyze sessions');
        return tokens;
      }),
    countUsers: () => withClient(async (client) => Number((await client.query<{ n: string }>('select count(*) as n from users')).rows[0]?.n ?? 0)),
    // CREATE DATABASE … TEMPLATE copies the files, statistics included; it refuses while anyone is connected to the template.
    clone: (label) => createPostgres(adminUrl, run, `${run}_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}`, name),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
