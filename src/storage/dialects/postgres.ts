import { Kysely, PostgresDialect, sql } from 'kysely';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import pg from 'pg';
import type { Database, Storage } from '../database.js';
import { NulAsReplacementCharacter } from './text.js';

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
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), plugins: [new PostgresTextPlugin()] });
  return {
    db,
    dialect: 'postgres',
    async ping() {
      await sql`select 1`.execute(db);
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max }),
    async close() {
      await db.destroy();
    },
  };
}
