import type { Role } from '../accounts/accounts.table.js';
import type { Db } from '../storage/database.js';
import type { SessionsTable } from './sessions.table.js';

export interface SessionWithUser {
  id: string;
  csrfHash: string;
  userId: number;
  persistent: boolean;
  lastSeenAt: string;
  idleExpiresAt: string;
  expiresAt: string;
  user: { id: number; username: string; email: string | null; role: Role; disabled: boolean; createdAt: string };
}

export async function insertSession(db: Db, session: SessionsTable): Promise<void> {
  await db.insertInto('sessions').values(session).execute();
}

/** The session and its user in one query: the hot path of every cookie request. */
export async function findSessionByTokenHash(db: Db, tokenHash: string): Promise<SessionWithUser | null> {
  const row = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select([
      'sessions.id',
      'sessions.csrf_hash',
      'sessions.user_id',
      'sessions.persistent',
      'sessions.last_seen_at',
      'sessions.idle_expires_at',
      'sessions.expires_at',
      'users.username',
      'users.email',
      'users.role',
      'users.disabled_at',
      'users.created_at',
    ])
    .where('sessions.token_hash', '=', tokenHash)
    .executeTakeFirst();
  if (!row) return null;
  return {
    id: row.id,
    csrfHash: row.csrf_hash,
    userId: Number(row.user_id),
    persistent: Boolean(row.persistent),
    lastSeenAt: row.last_seen_at,
    idleExpiresAt: row.idle_expires_at,
    expiresAt: row.expires_at,
    user: {
      id: Number(row.user_id),
      username: row.username,
      email: row.email,
      role: row.role,
      disabled: row.disabled_at !== null,
      createdAt: row.created_at,
    },
  };
}

export async function touchSession(db: Db, id: string, lastSeenAt: string, idleExpiresAt: string): Promise<void> {
  await db.updateTable('sessions').set({ last_seen_at: lastSeenAt, idle_expires_at: idleExpiresAt }).where('id', '=', id).execute();
}

export async function deleteSessionByTokenHash(db: Db, tokenHash: string): Promise<{ id: string; userId: number } | null> {
  const row = await db.deleteFrom('sessions').where('token_hash', '=', tokenHash).returning(['id', 'user_id']).executeTakeFirst();
  return row ? { id: row.id, userId: Number(row.user_id) } : null;
}

export async function deleteSessionById(db: Db, id: string): Promise<void> {
  await db.deleteFrom('sessions').where('id', '=', id).execute();
}

export async function deleteSessionsOfUser(db: Db, userId: number): Promise<number> {
  const result = await db.deleteFrom('sessions').where('user_id', '=', userId).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * Keep at most `keep` sessions per user, dropping the oldest: bounds what one account can store.
 * Returns the token hashes of the sessions it ended, for the caches that may still hold them.
 */
export async function trimSessionsOfUser(db: Db, userId: number, keep: number): Promise<string[]> {
  const stale = await db
    .selectFrom('sessions')
    .select(['id', 'token_hash'])
    .where('user_id', '=', userId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .offset(keep)
    .limit(1000)
    .execute();
  if (stale.length > 0) {
    await db.deleteFrom('sessions').where('id', 'in', stale.map((s) => s.id)).execute();
  }
  return stale.map((s) => s.token_hash);
}

export async function deleteExpiredSessions(db: Db, now: string): Promise<number> {
  const result = await db
    .deleteFrom('sessions')
    .where((eb) => eb.or([eb('expires_at', '<=', now), eb('idle_expires_at', '<=', now)]))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function countActiveSessions(db: Db, now: string): Promise<number> {
  const row = await db
    .selectFrom('sessions')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('expires_at', '>', now)
    .where('idle_expires_at', '>', now)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}
