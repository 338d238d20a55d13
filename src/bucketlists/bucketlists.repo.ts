import { sql } from 'kysely';
import type { DialectName, Db } from '../storage/database.js';

/*
 * Every query here is scoped by owner in its WHERE clause (items through their bucketlist), so
 * another user's bucketlist or item is simply not found: there is no load-then-check to forget.
 */

export interface BucketlistRecord {
  id: number;
  name: string;
  createdAt: string;
  updatedAt: string;
}

export interface ItemRecord {
  id: number;
  name: string;
  done: boolean;
  createdAt: string;
  updatedAt: string;
}

type BucketlistRow = { id: number; name: string; created_at: string; updated_at: string };
type ItemRow = BucketlistRow & { done: boolean | number };

const bucketlistColumns = ['bucketlists.id', 'bucketlists.name', 'bucketlists.created_at', 'bucketlists.updated_at'] as const;
const itemColumns = ['items.id', 'items.name', 'items.done', 'items.created_at', 'items.updated_at'] as const;

function toBucketlist(row: BucketlistRow): BucketlistRecord {
  return { id: Number(row.id), name: row.name, createdAt: row.created_at, updatedAt: row.updated_at };
}

function toItem(row: ItemRow): ItemRecord {
  return { id: Number(row.id), name: row.name, done: Boolean(row.done), createdAt: row.created_at, updatedAt: row.updated_at };
}

function isForeignKeyViolation(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/** A LIKE pattern matching `text` anywhere, with the wildcards in `text` taken literally. */
function containsPattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The owner's bucketlists, oldest first, optionally only those whose name contains `q` (case-insensitively). */
export async function listBucketlists(
  db: Db,
  ownerId: number,
  options: { q?: string | undefined; limit: number; page: number },
): Promise<{ items: BucketlistRecord[]; total: number }> {
  let query = db.selectFrom('bucketlists').where('bucketlists.owner_id', '=', ownerId);
  if (options.q) query = query.where(sql<boolean>`lower(bucketlists.name) like ${containsPattern(options.q)} escape '\\'`);
  const [rows, count] = await Promise.all([
    query
      .select(bucketlistColumns)
      .orderBy('bucketlists.id')
      .limit(options.limit)
      .offset((options.page - 1) * options.limit)
      .execute(),
    query.select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow(),
  ]);
  return { items: rows.map(toBucketlist), total: Number(count.count) };
}

export async function findBucketlist(db: Db, ownerId: number, id: number): Promise<BucketlistRecord | null> {
  const row = await db
    .selectFrom('bucketlists')
    .select(bucketlistColumns)
    .where('bucketlists.id', '=', id)
    .where('bucketlists.owner_id', '=', ownerId)
    .executeTakeFirst();
  return row ? toBucketlist(row) : null;
}

/**
 * Serialize name changes of one owner's bucketlists for the rest of the transaction, so "no other
 * list has this name" stays true until the write commits. SQLite needs nothing: each write
 * statement below checks and writes atomically, and SQLite runs one writer at a time.
 */
async function lockOwner(trx: Db, dialect: DialectName, ownerId: number): Promise<void> {
  if (dialect === 'postgres') await trx.selectFrom('users').select('users.id').where('users.id', '=', ownerId).forNoKeyUpdate().execute();
}

/** Create a bucketlist, or return null when the owner already has one with exactly this name. */
export async function insertBucketlist(db: Db, dialect: DialectName, ownerId: number, name: string, now: string): Promise<BucketlistRecord | null> {
  return db.transaction().execute(async (trx) => {
    await lockOwner(trx, dialect, ownerId);
    // Check and insert in one statement: on SQLite a separate read first could go stale before the write.
    const row = await trx
      .insertInto('bucketlists')
      .columns(['owner_id', 'name', 'created_at', 'updated_at'])
      .expression(
        trx
          .selectNoFrom((eb) => [eb.val(ownerId).as('owner_id'), eb.val(name).as('name'), eb.val(now).as('created_at'), eb.val(now).as('updated_at')])
          .where(({ not, exists, selectFrom }) =>
            not(exists(selectFrom('bucketlists').select('bucketlists.id').where('bucketlists.owner_id', '=', ownerId).where('bucketlists.name', '=', name))),
          ),
      )
      .returning(['id', 'name', 'created_at', 'updated_at'])
      .executeTakeFirst();
    return row ? toBucketlist(row) : null;
  });
}

/**
 * Rename one of the owner's bucketlists. `not_found` when the owner has no such list, `taken` when
 * another of their lists already has this name.
 */
export async function renameBucketlist(
  db: Db,
  dialect: DialectName,
  ownerId: number,
  id: number,
  name: string,
  now: string,
): Promise<BucketlistRecord | 'not_found' | 'taken'> {
  return db.transaction().execute(async (trx) => {
    await lockOwner(trx, dialect, ownerId);
    const row = await trx
      .updateTable('bucketlists')
      .set({ name, updated_at: now })
      .where('bucketlists.id', '=', id)
      .where('bucketlists.owner_id', '=', ownerId)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('bucketlists as other')
              .select('other.id')
              .where('other.owner_id', '=', ownerId)
              .where('other.name', '=', name)
              .where('other.id', '<>', id),
          ),
        ),
      )
      .returning(['id', 'name', 'created_at', 'updated_at'])
      .executeTakeFirst();
    if (row) return toBucketlist(row);
    return (await findBucketlist(trx, ownerId, id)) ? 'taken' : 'not_found';
  });
}

/** Delete one of the owner's bucketlists (its items go with it, by foreign key). False when there was none. */
export async function deleteBucketlist(db: Db, ownerId: number, id: number): Promise<boolean> {
  const result = await db.deleteFrom('bucketlists').where('bucketlists.id', '=', id).where('bucketlists.owner_id', '=', ownerId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** The items of one of the owner's bucketlists, oldest first (empty when the list is not theirs). */
export async function listItems(db: Db, ownerId: number, bucketlistId: number): Promise<ItemRecord[]> {
  const rows = await db
    .selectFrom('items')
    .innerJoin('bucketlists', 'bucketlists.id', 'items.bucketlist_id')
    .select(itemColumns)
    .where('items.bucketlist_id', '=', bucketlistId)
    .where('bucketlists.owner_id', '=', ownerId)
    .orderBy('items.id')
    .execute();
  return rows.map(toItem);
}

/** Add an item to one of the owner's bucketlists; null when the list is not theirs (or does not exist). */
export async function insertItem(
  db: Db,
  ownerId: number,
  bucketlistId: number,
  input: { name: string; done: boolean },
  now: string,
): Promise<ItemRecord | null> {
  try {
    const row = await db
      .insertInto('items')
      .columns(['bucketlist_id', 'name', 'done', 'created_at', 'updated_at'])
      .expression(
        db
          .selectFrom('bucketlists')
          .select((eb) => [
            eb.ref('bucketlists.id').as('bucketlist_id'),
            eb.val(input.name).as('name'),
            eb.val(input.done).as('done'),
            eb.val(now).as('created_at'),
            eb.val(now).as('updated_at'),
          ])
          .where('bucketlists.id', '=', bucketlistId)
          .where('bucketlists.owner_id', '=', ownerId),
      )
      .returning(['id', 'name', 'done', 'created_at', 'updated_at'])
      .executeTakeFirst();
    return row ? toItem(row) : null;
  } catch (error) {
    // The list was deleted between the statement's read and its foreign-key check: it is gone.
    if (isForeignKeyViolation(error)) return null;
    throw error;
  }
}

/** Update an item of one of the owner's bucketlists; null when there is no such item in a list of theirs. */
export async function updateItem(
  db: Db,
  ownerId: number,
  bucketlistId: number,
  itemId: number,
  patch: { name?: string | undefined; done?: boolean | undefined },
  now: string,
): Promise<ItemRecord | null> {
  const row = await db
    .updateTable('items')
    .set({
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.done !== undefined ? { done: patch.done } : {}),
      updated_at: now,
    })
    .where('items.id', '=', itemId)
    .where('items.bucketlist_id', '=', bucketlistId)
    .where('items.bucketlist_id', 'in', (eb) => eb.selectFrom('bucketlists').select('bucketlists.id').where('bucketlists.owner_id', '=', ownerId))
    .returning(['id', 'name', 'done', 'created_at', 'updated_at'])
    .executeTakeFirst();
  return row ? toItem(row) : null;
}

/** Delete an item of one of the owner's bucketlists. False when there was none. */
export async function deleteItem(db: Db, ownerId: number, bucketlistId: number, itemId: number): Promise<boolean> {
  const result = await db
    .deleteFrom('items')
    .where('items.id', '=', itemId)
    .where('items.bucketlist_id', '=', bucketlistId)
    .where('items.bucketlist_id', 'in', (eb) => eb.selectFrom('bucketlists').select('bucketlists.id').where('bucketlists.owner_id', '=', ownerId))
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
