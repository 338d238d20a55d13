import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type { Driver, KyselyPlugin, SqliteDialectConfig, PluginTransformQueryArgs, PluginTransformResultArgs, PrimitiveValueListNode, QueryResult, RootOperationNode, UnknownRow, ValueNode } from 'kysely';
import { DatabaseUnavailableError, UniqueViolationError } from '../errors.js';
import type { Database, Storage } from '../schema.js';
import { NulAsReplacementCharacter } from './text.js';
import { TranslatingDriver } from './translate.js';

/** better-sqlite3 cannot bind JS booleans; SQLite stores them as 0/1. NUL is handled as on PostgreSQL. */
class BooleansAsIntegers extends NulAsReplacementCharacter {
  protected override transformValue(node: ValueNode): ValueNode {
    return typeof node.value === 'boolean' ? { ...node, value: node.value ? 1 : 0 } : super.transformValue(node);
  }

  protected override transformPrimitiveValueList(node: PrimitiveValueListNode): PrimitiveValueListNode {
    const values = super.transformPrimitiveValueList(node).values;
    return { ...node, values: values.map((value) => (typeof value === 'boolean' ? Number(value) : value)) };
  }
}

class SqliteBooleanPlugin implements KyselyPlugin {
  readonly #transformer = new BooleansAsIntegers();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.#transformer.transformNode(args.node);
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

/** SQLite's primary codes for "the file cannot be used right now"; better-sqlite3 reports extended ones (SQLITE_IOERR_WRITE…). */
const UNAVAILABLE_CODE = /^SQLITE_(BUSY|LOCKED|IOERR|CANTOPEN|FULL|READONLY|PROTOCOL)(_|$)/;

/** better-sqlite3's errors as storage errors: a unique index broken, or a file that cannot be used now. */
export function translateSqliteError(error: unknown): unknown {
  if (typeof error !== 'object' || error === null) return error;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    // "UNIQUE constraint failed: users.email_normalized"
    return new UniqueViolationError(String(message).replace(/^.*failed: /, ''), { cause: error });
  }
  if (UNAVAILABLE_CODE.test(String(code)) || message === 'The database connection is not open') return new DatabaseUnavailableError({ cause: error });
  return error;
}

class TranslatingSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    return new TranslatingDriver(super.createDriver(), translateSqliteError);
  }
}

/** Compiled statements kept per SQL text, beyond which the least recently compiled is dropped. */
const STATEMENT_CACHE_MAX = 500;

/**
 * Kysely prepares a statement for every query, and better-sqlite3 compiles the SQL anew each time:
 * on a session-cache miss the compile cost more than the lookup. Statements are reusable (the
 * driver is synchronous, so one is never busy when the next query arrives), as most drivers
 * keep them.
 */
function withStatementCache(connection: SqliteDatabase.Database): SqliteDialectConfig['database'] {
  const statements = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => connection.close(),
    prepare(sqlText: string) {
      let statement = statements.get(sqlText);
      if (statement === undefined) {
        statement = connection.prepare(sqlText);
        statements.set(sqlText, statement);
        if (statements.size > STATEMENT_CACHE_MAX) statements.delete(statements.keys().next().value as string);
      }
      return statement;
    },
  };
}

/**
 * Durability: WAL with synchronous=FULL, so a commit that was answered survives a process kill
 * and a power loss; busy_timeout lets several worker processes share the file.
 */
export function openSqlite(path: string): Storage {
  const inMemory = path === ':memory:';
  if (!inMemory) mkdirSync(dirname(path), { recursive: true });
  const connection = new SqliteDatabase(path);
  if (!inMemory) connection.pragma('journal_mode = WAL');
  connection.pragma('synchronous = FULL');
  connection.pragma('foreign_keys = ON');
  connection.pragma('busy_timeout = 5000');

  const db = new Kysely<Database>({
    dialect: new TranslatingSqliteDialect({ database: withStatementCache(connection) }),
    plugins: [new SqliteBooleanPlugin()],
  });
  return {
    db,
    dialect: 'sqlite',
    async ping() {
      await sql`select 1`.execute(db);
    },
    poolStats: () => null,
    // The connection itself, not db.destroy(): a query after close then fails as "not open",
    // which is translated to 503 unavailable, where Kysely's own "destroyed" error is not.
    async close() {
      if (connection.open) connection.close();
    },
  };
}
