import { sql } from 'kysely';
import type { Storage } from '../../src/storage/database.js';

/**
 * A database's schema reduced to what must match across dialects: tables, columns (name, NOT NULL,
 * a type family), primary keys, unique and plain indexes by their columns, foreign keys with their
 * ON DELETE action, and check constraints by name. Index and constraint names are left out where
 * the databases name them differently (SQLite's autoindexes).
 */
export interface SchemaShape {
  tables: Record<
    string,
    {
      columns: Record<string, { notNull: boolean; family: string }>;
      primaryKey: string[];
      uniques: string[];
      indexes: string[];
      foreignKeys: string[];
      checks: string[];
    }
  >;
}

/** Types that differ by dialect on purpose map to one family (time, boolean, identity). */
function family(type: string): string {
  const t = type.toLowerCase();
  if (t === 'timestamptz' || t === 'timestamp with time zone') return 'time';
  if (t === 'boolean' || t === 'bool') return 'boolean';
  if (t === 'integer' || t === 'int4' || t === 'bigint' || t === 'int8') return 'integer';
  if (t === 'text') return 'text';
  const varchar = /^(?:varchar|character varying)\((\d+)\)$/.exec(t);
  if (varchar) return `varchar(${varchar[1]})`;
  return t;
}

const IGNORED_TABLES = new Set(['kysely_migration', 'kysely_migration_lock']);

export async function introspectSqlite(storage: Storage): Promise<SchemaShape> {
  const { db } = storage;
  const tables = await sql<{ name: string; sql: string }>`select name, sql from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`.execute(db);
  const shape: SchemaShape = { tables: {} };
  for (const { name, sql: ddl } of tables.rows) {
    if (IGNORED_TABLES.has(name)) continue;
    const columns = await sql<{ name: string; type: string; notnull: number; pk: number }>`select * from pragma_table_info(${name})`.execute(db);
    const entry: SchemaShape['tables'][string] = { columns: {}, primaryKey: [], uniques: [], indexes: [], foreignKeys: [], checks: [] };
    for (const column of columns.rows) {
      const pk = column.pk > 0;
      // SQLite lets an INTEGER PRIMARY KEY hold NULL only in theory (it becomes the rowid); PostgreSQL says NOT NULL.
      entry.columns[column.name] = { notNull: column.notnull === 1 || pk, family: sqliteFamily(column.type, column.name) };
    }
    entry.primaryKey = columns.rows.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);
    const indexes = await sql<{ name: string; unique: number; origin: string }>`select * from pragma_index_list(${name})`.execute(db);
    for (const index of indexes.rows) {
      if (index.origin === 'pk') continue;
      const cols = await sql<{ name: string; seqno: number }>`select * from pragma_index_info(${index.name})`.execute(db);
      const key = cols.rows.sort((a, b) => a.seqno - b.seqno).map((c) => c.name).join(',');
      (index.unique ? entry.uniques : entry.indexes).push(key);
    }
    const fks = await sql<{ from: string; table: string; to: string; on_delete: string }>`select * from pragma_foreign_key_list(${name})`.execute(db);
    entry.foreignKeys = fks.rows.map((fk) => `${fk.from} -> ${fk.table}.${fk.to} on delete ${fk.on_delete.toLowerCase()}`);
    entry.checks = [...ddl.matchAll(/constraint\s+"?(\w+)"?\s+check/gi)].map((m) => m[1] ?? '');
    shape.tables[name] = sortEntry(entry);
  }
  return shape;
}

/** The columns the migrations declare with their `bool` type (integer on SQLite). */
const BOOLEAN_COLUMNS = new Set(['persistent', 'done', 'remember', 'backup_eligible', 'backed_up', 'first_party']);

/** SQLite keeps the declared type text; the migration declares time as text and booleans as integer. */
function sqliteFamily(declared: string, column: string): string {
  const t = declared.toLowerCase();
  if (t === 'text' && /_at$|_after$/.test(column)) return 'time';
  if (t === 'integer' && BOOLEAN_COLUMNS.has(column)) return 'boolean';
  return family(t);
}

export async function introspectPostgres(storage: Storage): Promise<SchemaShape> {
  const { db } = storage;
  const columns = await sql<{ table_name: string; column_name: string; is_nullable: string; data_type: string; character_maximum_length: number | null; udt_name: string }>`
    select table_name, column_name, is_nullable, data_type, character_maximum_length, udt_name
    from information_schema.columns where table_schema = current_schema() order by table_name, ordinal_position`.execute(db);
  const shape: SchemaShape = { tables: {} };
  for (const column of columns.rows) {
    if (IGNORED_TABLES.has(column.table_name)) continue;
    const entry = (shape.tables[column.table_name] ??= { columns: {}, primaryKey: [], uniques: [], indexes: [], foreignKeys: [], checks: [] });
    const type = column.data_type === 'character varying' ? `varchar(${column.character_maximum_length})` : column.udt_name;
    entry.columns[column.column_name] = { notNull: column.is_nullable === 'NO', family: family(type) };
  }
  const indexes = await sql<{ table_name: string; is_unique: boolean; is_primary: boolean; columns: string }>`
    select t.relname as table_name, i.indisunique as is_unique, i.indisprimary as is_primary,
           (select string_agg(a.attname, ',' order by k.n)
              from unnest(i.indkey) with ordinality as k(attnum, n)
              join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum) as columns
    from pg_index i join pg_class t on t.oid = i.indrelid join pg_namespace ns on ns.oid = t.relnamespace
    where ns.nspname = current_schema()`.execute(db);
  for (const index of indexes.rows) {
    const entry = shape.tables[index.table_name];
    if (!entry) continue;
    if (index.is_primary) entry.primaryKey = index.columns.split(',');
    else (index.is_unique ? entry.uniques : entry.indexes).push(index.columns);
  }
  const fks = await sql<{ table_name: string; column_name: string; ref_table: string; ref_column: string; on_delete: string }>`
    select c.conrelid::regclass::text as table_name, a.attname as column_name, c.confrelid::regclass::text as ref_table,
           ra.attname as ref_column,
           case c.confdeltype when 'c' then 'cascade' when 'n' then 'set null' when 'r' then 'restrict' when 'd' then 'set default' else 'no action' end as on_delete
    from pg_constraint c
    join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
    join pg_attribute ra on ra.attrelid = c.confrelid and ra.attnum = c.confkey[1]
    where c.contype = 'f' and c.connamespace = current_schema()::regnamespace`.execute(db);
  for (const fk of fks.rows) {
    shape.tables[fk.table_name]?.foreignKeys.push(`${fk.column_name} -> ${fk.ref_table}.${fk.ref_column} on delete ${fk.on_delete}`);
  }
  const checks = await sql<{ table_name: string; name: string }>`
    select conrelid::regclass::text as table_name, conname as name from pg_constraint
    where contype = 'c' and connamespace = current_schema()::regnamespace`.execute(db);
  for (const check of checks.rows) shape.tables[check.table_name]?.checks.push(check.name);
  for (const name of Object.keys(shape.tables)) shape.tables[name] = sortEntry(shape.tables[name]!);
  return shape;
}

function sortEntry(entry: SchemaShape['tables'][string]): SchemaShape['tables'][string] {
  return { ...entry, uniques: [...entry.uniques].sort(), indexes: [...entry.indexes].sort(), foreignKeys: [...entry.foreignKeys].sort(), checks: [...entry.checks].sort() };
}
