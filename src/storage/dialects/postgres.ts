import { Kysely, PostgresDialect, sql } from 'kysely';
import type { Driver, KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import pg from 'pg';
import { DatabaseUnavailableError, UniqueViolationError } from '../errors.js';
import type { Database, Storage } from '../schema.js';
import { NulAsReplacementCharacter } from './text.js';
import { TranslatingDriver } from './translate.js';

const TIMESTAMPTZ_OID = 1184;
const INT8_OID = 20;

/** Timestamps come back as the same ISO strings SQLite stores; counts as numbers. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === TIMESTAMPTZ_OID) return (value: string) => new Date(value).toISOString();
    if (oid === INT8_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
};

class PostgresTextPlugin implements KyselyPlugin {
  readonly #transformer = new NulAsReplacementCharacter();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.#transformer.transformNode(args.node);
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

/** Socket errors, and server states that mean "not now": shutting down, starting up, cancelled by timeout, connection lost, too many clients. */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE', '57P01', '57P02', '57P03', '57014', '08000', '08003', '08006', '08001', '53300']);
/** pg's own errors carry no code: its wording for a lost or unreachable server. */
const UNAVAILABLE_MESSAGE = /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Cannot use a pool after calling end)/;

/** pg's errors as storage errors: a unique index broken (23505), or a server that cannot answer now. */
export function translatePostgresError(error: unknown): unknown {
  if (typeof error !== 'object' || error === null) return error;
  const { code, message, constraint } = error as { code?: unknown; message?: unknown; constraint?: unknown };
  if (code === '23505') return new UniqueViolationError(typeof constraint === 'string' ? constraint : String(message), { cause: error });
  if (UNAVAILABLE_CODES.has(String(code)) || UNAVAILABLE_MESSAGE.test(String(message))) return new DatabaseUnavailableError({ cause: error });
  return error;
}

class TranslatingPostgresDialect extends PostgresDialect {
  override createDriver(): Driver {
    return new TranslatingDriver(super.createDriver(), translatePostgresError);
  }
}

function isReadTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === 'Query read timeout';
}

/**
 * Two pg behaviours that would break "recover without a restart":
 * - a connection that dies while checked out emits 'error' on its client, where nobody listens
 *   (the pool listens only while it is idle): an uncaught exception. The query in flight still
 *   fails, and the pool drops the broken client when it comes back.
 * - after query_timeout the client still waits for the lost answer, and would go back to the pool
 *   to make every later query on it wait too. It is ended instead, so the pool discards it.
 */
function guardClient(client: pg.PoolClient): void {
  client.on('error', () => {});
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const result = query(...args);
    if (result instanceof Promise) {
      result.catch((error: unknown) => {
        if (isReadTimeout(error)) client.end().catch(() => {});
      });
    }
    return result;
  };
}

/**
 * A pg pool whose every wait is bounded by DB_STATEMENT_TIMEOUT_MS: connecting (or waiting for a
 * free connection), the statement on the server, and the answer on the socket. A database that is
 * down or unreachable therefore surfaces as an error the error handler maps to 503, never a hang.
 */
export function openPostgres(url: string, options: { poolSize?: number; statementTimeoutMs?: number }): Storage {
  const timeout = options.statementTimeoutMs ?? 5000;
  const max = options.poolSize ?? 10;
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: timeout,
    statement_timeout: timeout,
    query_timeout: timeout + 1000,
    idleTimeoutMillis: 30_000,
    // A connection that died silently (a firewall dropped it) is noticed instead of waited on.
    keepAlive: true,
    types,
  });
  // A dropped idle connection must not crash the process; the next query gets a fresh one.
  pool.on('error', () => {});
  pool.on('connect', guardClient);
  const db = new Kysely<Database>({ dialect: new TranslatingPostgresDialect({ pool }), plugins: [new PostgresTextPlugin()] });
  return {
    db,
    dialect: 'postgres',
    async ping() {
      await sql`select 1`.execute(db);
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max }),
    // The pool itself, not db.destroy(): a query after close then fails as a pool that ended,
    // which is translated to 503 unavailable, where Kysely's own "destroyed" error is not.
    async close() {
      if (!pool.ended) await pool.end();
    },
  };
}
