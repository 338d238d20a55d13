import { isEmailVerified } from '../accounts/accounts.repo.js';
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
  /** The last login or re-authentication (see REAUTH_MAX_AGE). */
  authenticatedAt: string;
  /** How the login was proven (RFC 8176 values: `pwd`, `otp`, `hwk`, `mfa`). */
  amr: readonly string[];
  user: { id: number; username: string; email: string | null; emailVerified: boolean; role: Role; disabled: boolean; createdAt: string };
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
      'sessions.created_at as session_created_at',
      'sessions.authenticated_at',
      'sessions.amr',
      'users.username',
      'users.email',
      'users.email_verified_at',
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
    authenticatedAt: row.authenticated_at ?? row.session_created_at,
    amr: (row.amr ?? 'pwd').split(' '),
    user: {
      id: Number(row.user_id),
      username: row.username,
      email: row.email,
      emailVerified: isEmailVerified(row),
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

/** A live browser session as its owner sees it in a sessions list: ids and times, never a token or hash. */
export interface SessionListing {
  id: string;
  createdAt: string;
  lastSeenAt: string;
  /** When it ends if unused: the earlier of the idle expiry and the absolute one. */
  expiresAt: string;
  ip: string | null;
  userAgent: string | null;
}

export async function listLiveSessionsOfUser(db: Db, userId: number, now: string): Promise<SessionListing[]> {
  const rows = await db
    .selectFrom('sessions')
    .select(['id', 'created_at', 'last_seen_at', 'idle_expires_at', 'expires_at', 'ip', 'user_agent'])
    .where('user_id', '=', userId)
    .where('expires_at', '>', now)
    .where('idle_expires_at', '>', now)
    .execute();
  return rows.map((row) => ({
    id: row.id,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    expiresAt: row.idle_expires_at < row.expires_at ? row.idle_expires_at : row.expires_at,
    ip: row.ip,
    userAgent: row.user_agent,
  }));
}

/** Delete one session of one user by its public id; the token hash comes back for the caches. */
export async function deleteSessionOfUser(db: Db, userId: number, id: string): Promise<{ tokenHash: string } | null> {
  const row = await db.deleteFrom('sessions').where('id', '=', id).where('user_id', '=', userId).returning('token_hash').executeTakeFirst();
  return row ? { tokenHash: row.token_hash } : null;
}

/** Delete every session of a user but one (null: all); the token hashes come back for the caches. */
export async function deleteSessionsOfUserExcept(db: Db, userId: number, keepId: string | null): Promise<string[]> {
  let query = db.deleteFrom('sessions').where('user_id', '=', userId);
  if (keepId !== null) query = query.where('id', '!=', keepId);
  const rows = await query.returning('token_hash').execute();
  return rows.map((row) => row.token_hash);
}

/** A session proved its user again (POST /api/me/reauthenticate, or a login): it is recent from `now`. */
export async function markSessionAuthenticated(db: Db, id: string, now: string): Promise<void> {
  await db.updateTable('sessions').set({ authenticated_at: now }).where('id', '=', id).execute();
}
