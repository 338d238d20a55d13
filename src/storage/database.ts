import type { Kysely } from 'kysely';
import type { PasswordCredentialsTable, UsersTable } from '../accounts/accounts.table.js';
import type { AuditEventsTable } from '../audit/audit.table.js';
import type { BucketlistsTable, ItemsTable } from '../bucketlists/bucketlists.table.js';
import type { SessionsTable } from '../sessions/sessions.table.js';
import type { RefreshFamiliesTable, RefreshTokensTable, SigningKeysTable } from '../tokens/tokens.table.js';

export interface Database {
  users: UsersTable;
  password_credentials: PasswordCredentialsTable;
  sessions: SessionsTable;
  refresh_families: RefreshFamiliesTable;
  refresh_tokens: RefreshTokensTable;
  signing_keys: SigningKeysTable;
  bucketlists: BucketlistsTable;
  items: ItemsTable;
  audit_events: AuditEventsTable;
}

export type DialectName = 'sqlite' | 'postgres';

export type Db = Kysely<Database>;

export interface PoolStats {
  /** Open connections, busy or idle. */
  total: number;
  idle: number;
  /** Queries waiting for a connection. */
  waiting: number;
  max: number;
}

/** An open database: the query builder plus what the dialect needs to be closed and probed. */
export interface Storage {
  db: Db;
  dialect: DialectName;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  /** Connection pool use, for metrics; null where there is no pool (SQLite: one connection per process). */
  poolStats(): PoolStats | null;
  close(): Promise<void>;
}

/**
 * Open the database named by a DATABASE_URL.
 *
 * @example await createStorage('sqlite::memory:')
 */
export async function createStorage(url: string, options: { poolSize?: number; statementTimeoutMs?: number } = {}): Promise<Storage> {
  if (url.startsWith('sqlite:')) {
    const { openSqlite } = await import('./dialects/sqlite.js');
    return openSqlite(url.slice('sqlite:'.length));
  }
  const { openPostgres } = await import('./dialects/postgres.js');
  return openPostgres(url, options);
}

/** Now as an ISO 8601 UTC string: the one timestamp format stored and served. */
export function isoNow(clock: () => number = Date.now): string {
  return new Date(clock()).toISOString();
}

/** Unique-constraint violations look different per driver; this is the one place that knows. */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

/** The constraint or column a unique violation names, for telling username from email. */
export function violatedConstraint(error: unknown): string {
  if (typeof error !== 'object' || error === null) return '';
  const { constraint, message } = error as { constraint?: unknown; message?: unknown };
  return `${typeof constraint === 'string' ? constraint : ''} ${typeof message === 'string' ? message : ''}`;
}
