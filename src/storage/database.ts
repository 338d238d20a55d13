import type { Storage } from './schema.js';

export type { Database, Db, DialectName, PoolStats, Storage } from './schema.js';
export { DatabaseUnavailableError, UniqueViolationError } from './errors.js';

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
