import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type { KyselyPlugin, SqliteDialectConfig, PluginTransformQueryArgs, PluginTransformResultArgs, PrimitiveValueListNode, QueryResult, RootOperationNode, UnknownRow, ValueNode } from 'kysely';
import type { Database, Storage } from '../database.js';
import { NulAsReplacementCharacter } from './text.js';

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
    dialect: new SqliteDialect({ database: withStatementCache(connection) }),
    plugins: [new SqliteBooleanPlugin()],
  });
  return {
    db,
    dialect: 'sqlite',
    async ping() {
      await sql`select 1`.execute(db);
    },
    poolStats: () => null,
    async close() {
      await db.destroy();
    },
  };
}
