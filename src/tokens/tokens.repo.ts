import { isEmailVerified } from '../accounts/accounts.repo.js';
import type { Role } from '../accounts/accounts.table.js';
import type { Db } from '../storage/database.js';

export interface RefreshTokenState {
  tokenHash: string;
  familyId: string;
  spentAt: string | null;
  familyExpiresAt: string;
  familyRevokedAt: string | null;
  userId: number;
  userDisabled: boolean;
  /** How the login was proven (RFC 8176, space-separated); null: a password. */
  amr: string | null;
}

/** What a bearer check needs to know about a login and its user, in one query. */
export interface LoginState {
  familyRevoked: boolean;
  familyExpiresAt: string;
  /** The token login's last login or re-authentication (see REAUTH_MAX_AGE). */
  authenticatedAt: string;
  user: { id: number; username: string; email: string | null; emailVerified: boolean; role: Role; disabled: boolean; createdAt: string; tokensValidAfter: string | null };
}

export async function insertFamily(
  db: Db,
  family: { id: string; userId: number; now: string; expiresAt: string; ip: string | null; userAgent: string | null; amr: string },
): Promise<void> {
  await db
    .insertInto('refresh_families')
    .values({
      id: family.id,
      user_id: family.userId,
      created_at: family.now,
      expires_at: family.expiresAt,
      revoked_at: null,
      revoked_reason: null,
      ip: family.ip,
      user_agent: family.userAgent,
      amr: family.amr,
    })
    .execute();
}

export async function insertRefreshToken(db: Db, tokenHash: string, familyId: string, now: string): Promise<void> {
  await db.insertInto('refresh_tokens').values({ token_hash: tokenHash, family_id: familyId, created_at: now, spent_at: null }).execute();
}

export async function findRefreshToken(db: Db, tokenHash: string): Promise<RefreshTokenState | null> {
  const row = await db
    .selectFrom('refresh_tokens')
    .innerJoin('refresh_families', 'refresh_families.id', 'refresh_tokens.family_id')
    .innerJoin('users', 'users.id', 'refresh_families.user_id')
    .select([
      'refresh_tokens.token_hash',
      'refresh_tokens.family_id',
      'refresh_tokens.spent_at',
      'refresh_families.expires_at',
      'refresh_families.revoked_at',
      'refresh_families.user_id',
      'refresh_families.amr',
      'users.disabled_at',
    ])
    .where('refresh_tokens.token_hash', '=', tokenHash)
    .executeTakeFirst();
  if (!row) return null;
  return {
    tokenHash: row.token_hash,
    familyId: row.family_id,
    spentAt: row.spent_at,
    familyExpiresAt: row.expires_at,
    familyRevokedAt: row.revoked_at,
    userId: Number(row.user_id),
    userDisabled: row.disabled_at !== null,
    amr: row.amr ?? null,
  };
}

/** Spend a refresh token. One conditional UPDATE: of many concurrent callers exactly one wins. */
export async function spendRefreshToken(db: Db, tokenHash: string, now: string): Promise<boolean> {
  const result = await db.updateTable('refresh_tokens').set({ spent_at: now }).where('token_hash', '=', tokenHash).where('spent_at', 'is', null).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function revokeFamily(db: Db, familyId: string, reason: string, now: string): Promise<{ userId: number } | null> {
  const row = await db
    .updateTable('refresh_families')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('id', '=', familyId)
    .where('revoked_at', 'is', null)
    .returning('user_id')
    .executeTakeFirst();
  return row ? { userId: Number(row.user_id) } : null;
}

export async function revokeFamiliesOfUser(db: Db, userId: number, reason: string, now: string): Promise<void> {
  await db.updateTable('refresh_families').set({ revoked_at: now, revoked_reason: reason }).where('user_id', '=', userId).where('revoked_at', 'is', null).execute();
}

export async function findLoginState(db: Db, familyId: string): Promise<LoginState | null> {
  const row = await db
    .selectFrom('refresh_families')
    .innerJoin('users', 'users.id', 'refresh_families.user_id')
    .select([
      'refresh_families.revoked_at',
      'refresh_families.expires_at',
      'refresh_families.created_at as family_created_at',
      'refresh_families.authenticated_at',
      'users.id',
      'users.username',
      'users.email',
      'users.email_verified_at',
      'users.role',
      'users.disabled_at',
      'users.created_at',
      'users.tokens_valid_after',
    ])
    .where('refresh_families.id', '=', familyId)
    .executeTakeFirst();
  if (!row) return null;
  return {
    familyRevoked: row.revoked_at !== null,
    familyExpiresAt: row.expires_at,
    authenticatedAt: row.authenticated_at ?? row.family_created_at,
    user: {
      id: Number(row.id),
      username: row.username,
      email: row.email,
      emailVerified: isEmailVerified(row),
      role: row.role,
      disabled: row.disabled_at !== null,
      createdAt: row.created_at,
      tokensValidAfter: row.tokens_valid_after,
    },
  };
}

/**
 * Housekeeping: logins that expired or were revoked before `before`, and tokens spent before it.
 * Refusal does not depend on these rows (an unknown token or login is refused too); only the
 * theft alarm for a very old spent token is given up.
 */
export async function deleteStale(db: Db, now: string, before: string): Promise<{ families: number; tokens: number }> {
  return db.transaction().execute(async (trx) => {
    const stale = trx
      .selectFrom('refresh_families')
      .select('id')
      .where((eb) => eb.or([eb('expires_at', '<=', now), eb('revoked_at', '<=', before)]));
    const tokens = await trx
      .deleteFrom('refresh_tokens')
      .where((eb) => eb.or([eb('family_id', 'in', stale), eb('spent_at', '<=', before)]))
      .executeTakeFirst();
    const families = await trx
      .deleteFrom('refresh_families')
      .where((eb) => eb.or([eb('expires_at', '<=', now), eb('revoked_at', '<=', before)]))
      .executeTakeFirst();
    return { families: Number(families.numDeletedRows), tokens: Number(tokens.numDeletedRows) };
  });
}

/** A live token login (refresh family) as its owner sees it: ids and times, never a token. */
export interface FamilyListing {
  id: string;
  createdAt: string;
  /** The latest refresh (or the login itself). */
  lastSeenAt: string;
  expiresAt: string;
  ip: string | null;
  userAgent: string | null;
}

export async function listLiveFamiliesOfUser(db: Db, userId: number, now: string): Promise<FamilyListing[]> {
  const rows = await db
    .selectFrom('refresh_families')
    .leftJoin('refresh_tokens', 'refresh_tokens.family_id', 'refresh_families.id')
    .select((eb) => [
      'refresh_families.id',
      'refresh_families.created_at',
      'refresh_families.expires_at',
      'refresh_families.ip',
      'refresh_families.user_agent',
      eb.fn.max('refresh_tokens.created_at').as('last_refresh'),
    ])
    .where('refresh_families.user_id', '=', userId)
    .where('refresh_families.revoked_at', 'is', null)
    .where('refresh_families.expires_at', '>', now)
    .groupBy(['refresh_families.id', 'refresh_families.created_at', 'refresh_families.expires_at', 'refresh_families.ip', 'refresh_families.user_agent'])
    .execute();
  return rows.map((row) => ({
    id: row.id,
    createdAt: row.created_at,
    lastSeenAt: typeof row.last_refresh === 'string' ? row.last_refresh : row.created_at,
    expiresAt: row.expires_at,
    ip: row.ip,
    userAgent: row.user_agent,
  }));
}

/** Revoke one live family of one user by its id (the access tokens' `sid`). */
export async function revokeFamilyOfUser(db: Db, userId: number, familyId: string, reason: string, now: string): Promise<boolean> {
  const result = await db
    .updateTable('refresh_families')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('id', '=', familyId)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Revoke every live family of a user but one (null: all); returns the revoked ids. */
export async function revokeFamiliesOfUserExcept(db: Db, userId: number, keepId: string | null, reason: string, now: string): Promise<string[]> {
  let query = db
    .updateTable('refresh_families')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now);
  if (keepId !== null) query = query.where('id', '!=', keepId);
  const rows = await query.returning('id').execute();
  return rows.map((row) => row.id);
}

/** A token login proved its user again: it is recent from `now`. */
export async function markFamilyAuthenticated(db: Db, familyId: string, now: string): Promise<void> {
  await db.updateTable('refresh_families').set({ authenticated_at: now }).where('id', '=', familyId).execute();
}
