import { sql } from 'kysely';
import type { Db } from '../storage/database.js';
import type { CreatedVia, Role } from './accounts.table.js';

/** A user as the application sees it: never the password hash. */
export interface UserRecord {
  id: number;
  username: string;
  email: string | null;
  /** The current address is proven the user's (false when there is none). */
  emailVerified: boolean;
  role: Role;
  disabled: boolean;
  tokensValidAfter: string | null;
  /**
   * Read with the password hash at login, and required unchanged when the login's session or
   * token login is stored (see holdCredentialEpoch): never shown to anyone.
   */
  credentialEpoch: number;
  createdAt: string;
}

const userColumns = [
  'users.id',
  'users.username',
  'users.email',
  'users.email_verified_at',
  'users.role',
  'users.disabled_at',
  'users.tokens_valid_after',
  'users.credential_epoch',
  'users.created_at',
] as const;

type UserRow = {
  id: number;
  username: string;
  email: string | null;
  email_verified_at: string | null;
  role: Role;
  disabled_at: string | null;
  tokens_valid_after: string | null;
  credential_epoch: number;
  created_at: string;
};

export function toUserRecord(row: UserRow): UserRecord {
  return {
    id: Number(row.id),
    username: row.username,
    email: row.email,
    emailVerified: isEmailVerified(row),
    role: row.role,
    disabled: row.disabled_at !== null,
    tokensValidAfter: row.tokens_valid_after,
    credentialEpoch: Number(row.credential_epoch),
    createdAt: row.created_at,
  };
}

/** An address is verified only while there is one: the rule every query that reads a user applies. */
export function isEmailVerified(row: { email: string | null; email_verified_at: string | null }): boolean {
  return row.email !== null && row.email_verified_at !== null;
}

export function normalizeUsername(username: string): string {
  return username.trim().toLowerCase();
}

/** NFC as well as lower case: "é" typed as one code point or as "e" + accent is one address. */
export function normalizeEmail(email: string): string {
  return email.normalize('NFC').trim().toLowerCase();
}

export async function findUserById(db: Db, id: number): Promise<UserRecord | null> {
  const row = await db.selectFrom('users').select(userColumns).where('users.id', '=', id).executeTakeFirst();
  return row ? toUserRecord(row) : null;
}

/** What a login reads about its user: the record, the password hash, and whether an operator made the account. */
export interface LoginRecord {
  user: UserRecord;
  passwordHash: string | null;
  /** Made by the CLI or an admin: exempt from REQUIRE_EMAIL_VERIFICATION. */
  madeByOperator: boolean;
}

/** Look a user up by username or email, with the password hash: for login only. */
export async function findUserForLogin(db: Db, identifier: string): Promise<LoginRecord | null> {
  const key = identifier.includes('@') ? normalizeEmail(identifier) : normalizeUsername(identifier);
  const row = await db
    .selectFrom('users')
    .leftJoin('password_credentials', 'password_credentials.user_id', 'users.id')
    .select([...userColumns, 'password_credentials.password_hash', 'users.created_via'])
    .where(key.includes('@') ? 'users.email_normalized' : 'users.username_normalized', '=', key)
    .executeTakeFirst();
  return row ? { user: toUserRecord(row), passwordHash: row.password_hash, madeByOperator: row.created_via !== 'signup' } : null;
}

/** The same record by id: for a sign-in whose first factor was not a password (a passkey). */
export async function findLoginRecordById(db: Db, userId: number): Promise<LoginRecord | null> {
  const row = await db
    .selectFrom('users')
    .leftJoin('password_credentials', 'password_credentials.user_id', 'users.id')
    .select([...userColumns, 'password_credentials.password_hash', 'users.created_via'])
    .where('users.id', '=', userId)
    .executeTakeFirst();
  return row ? { user: toUserRecord(row), passwordHash: row.password_hash, madeByOperator: row.created_via !== 'signup' } : null;
}

/** The user whose address this is (compared as stored: NFC, lower case), or null. */
export async function findUserByEmail(db: Db, email: string): Promise<UserRecord | null> {
  const row = await db.selectFrom('users').select(userColumns).where('users.email_normalized', '=', normalizeEmail(email)).executeTakeFirst();
  return row ? toUserRecord(row) : null;
}

/**
 * Mark the address verified, only while it is still `email` (a link to an address the user has
 * since replaced verifies nothing). Returns the user, or null when the address no longer matches.
 */
export async function markEmailVerified(db: Db, userId: number, email: string, now: string): Promise<UserRecord | null> {
  const row = await db
    .updateTable('users')
    .set((eb) => ({ email_verified_at: eb.fn.coalesce('email_verified_at', eb.val(now)), updated_at: now }))
    .where('id', '=', userId)
    .where('email_normalized', '=', normalizeEmail(email))
    .returning(userColumns)
    .executeTakeFirst();
  return row ? toUserRecord(row) : null;
}

/**
 * Set (verified) or remove (null) the user's address. Throws UniqueViolationError when another
 * account has it; run it in a transaction to keep whatever came before.
 */
export async function setEmail(db: Db, userId: number, email: string | null, now: string): Promise<UserRecord | null> {
  const row = await db
    .updateTable('users')
    .set({ email, email_normalized: email === null ? null : normalizeEmail(email), email_verified_at: email === null ? null : now, updated_at: now })
    .where('id', '=', userId)
    .returning(userColumns)
    .executeTakeFirst();
  return row ? toUserRecord(row) : null;
}

export async function usernameOrEmailTaken(db: Db, username: string, email: string | null): Promise<{ username: boolean; email: boolean }> {
  const rows = await db
    .selectFrom('users')
    .select(['username_normalized', 'email_normalized'])
    .where((eb) =>
      eb.or([eb('username_normalized', '=', normalizeUsername(username)), ...(email ? [eb('email_normalized', '=', normalizeEmail(email))] : [])]),
    )
    .execute();
  return {
    username: rows.some((r) => r.username_normalized === normalizeUsername(username)),
    email: email !== null && rows.some((r) => r.email_normalized === normalizeEmail(email)),
  };
}

export async function insertUser(
  db: Db,
  input: { username: string; email: string | null; emailVerified?: boolean; role: Role; passwordHash: string; now: string; createdVia?: CreatedVia },
): Promise<UserRecord> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('users')
      .values({
        username: input.username,
        username_normalized: normalizeUsername(input.username),
        email: input.email,
        email_normalized: input.email === null ? null : normalizeEmail(input.email),
        email_verified_at: input.email !== null && input.emailVerified ? input.now : null,
        role: input.role,
        disabled_at: null,
        tokens_valid_after: null,
        created_via: input.createdVia ?? 'signup',
        created_at: input.now,
        updated_at: input.now,
      })
      .returning(userColumns)
      .executeTakeFirstOrThrow();
    await trx.insertInto('password_credentials').values({ user_id: row.id, password_hash: input.passwordHash, updated_at: input.now }).execute();
    return toUserRecord(row);
  });
}

/**
 * The guard that every login's session or token-login insert runs behind, in the same transaction:
 * true while the user is enabled and their credential epoch is still the one the login read with
 * the password hash. A no-op UPDATE rather than a SELECT, so that on PostgreSQL it takes the row
 * lock: a concurrent epoch bump either waits for this transaction (and then ends the new login
 * with the others) or commits first (and this UPDATE, re-checked on the new row, matches nothing).
 * SQLite runs one writer at a time, so there the same statement is simply atomic.
 */
export async function holdCredentialEpoch(db: Db, userId: number, epoch: number): Promise<boolean> {
  const result = await db
    .updateTable('users')
    .set((eb) => ({ credential_epoch: eb.ref('credential_epoch') }))
    .where('id', '=', userId)
    .where('credential_epoch', '=', epoch)
    .where('disabled_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * A new password: the hash and a new credential epoch (returned) in one transaction, so no login
 * that read the old hash can start a session after it; with `endAccessTokens`, every access token
 * issued before now is refused too (tokens_valid_after). The caller ends the existing logins.
 */
export async function replacePassword(db: Db, userId: number, passwordHash: string, now: string, options: { endAccessTokens: boolean } = { endAccessTokens: true }): Promise<number> {
  return db.transaction().execute((trx) => replacePasswordIn(trx, userId, passwordHash, now, options));
}

/** replacePassword inside a transaction the caller holds (a password reset spends its token in the same one). */
export async function replacePasswordIn(trx: Db, userId: number, passwordHash: string, now: string, options: { endAccessTokens: boolean }): Promise<number> {
  await setPasswordHash(trx, userId, passwordHash, now);
  const row = await trx
    .updateTable('users')
    .set((eb) => ({ credential_epoch: eb('credential_epoch', '+', 1), ...(options.endAccessTokens ? { tokens_valid_after: now } : {}), updated_at: now }))
    .where('id', '=', userId)
    .returning('credential_epoch')
    .executeTakeFirstOrThrow();
  return Number(row.credential_epoch);
}

/** Store a hash without ending logins: a cost upgrade of the same password at login. */
export async function setPasswordHash(db: Db, userId: number, passwordHash: string, now: string): Promise<void> {
  await db
    .insertInto('password_credentials')
    .values({ user_id: userId, password_hash: passwordHash, updated_at: now })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ password_hash: passwordHash, updated_at: now }))
    .execute();
}

export async function updateUser(
  db: Db,
  userId: number,
  patch: { role?: Role; disabledAt?: string | null; tokensValidAfter?: string | null; endLogins?: boolean; now: string },
): Promise<UserRecord | null> {
  const row = await db
    .updateTable('users')
    .set((eb) => ({
      ...(patch.role !== undefined ? { role: patch.role } : {}),
      ...(patch.disabledAt !== undefined ? { disabled_at: patch.disabledAt } : {}),
      ...(patch.tokensValidAfter !== undefined ? { tokens_valid_after: patch.tokensValidAfter } : {}),
      ...(patch.endLogins ? { credential_epoch: eb('credential_epoch', '+', 1) } : {}),
      updated_at: patch.now,
    }))
    .where('id', '=', userId)
    .returning(userColumns)
    .executeTakeFirst();
  return row ? toUserRecord(row) : null;
}

/**
 * Serialise every transaction that may leave the system without an active admin: each takes the
 * `admins` row lock before counting, so two admins demoting each other at once run one after the
 * other and the second sees the first's change (PostgreSQL's READ COMMITTED would otherwise let
 * both count two admins). Call inside a transaction, before countActiveAdmins.
 */
export async function lockAdmins(trx: Db): Promise<void> {
  await trx.updateTable('row_locks').set((eb) => ({ name: eb.ref('name') })).where('name', '=', 'admins').execute();
}

export async function countActiveAdmins(db: Db): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('role', '=', 'admin')
    .where('disabled_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

export async function listUsers(db: Db, options: { q?: string; limit: number; page: number }): Promise<{ items: UserRecord[]; total: number }> {
  let query = db.selectFrom('users');
  if (options.q) {
    const pattern = `%${options.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    query = query.where((eb) =>
      eb.or([
        eb('username_normalized', 'like', sql<string>`${pattern} escape '\\'`),
        eb('email_normalized', 'like', sql<string>`${pattern} escape '\\'`),
      ]),
    );
  }
  const [rows, count] = await Promise.all([
    query
      .select(userColumns)
      .orderBy('users.id')
      .limit(options.limit)
      .offset((options.page - 1) * options.limit)
      .execute(),
    query.select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow(),
  ]);
  return { items: rows.map(toUserRecord), total: Number(count.count) };
}

/** The stored password hash of a user, for a re-authentication; null when they have none. */
export async function findPasswordHash(db: Db, userId: number): Promise<string | null> {
  const row = await db.selectFrom('password_credentials').select('password_hash').where('user_id', '=', userId).executeTakeFirst();
  return row?.password_hash ?? null;
}

/** Delete a user; their sessions, logins, credentials and bucketlists go with them (foreign keys cascade). */
export async function deleteUser(db: Db, userId: number): Promise<boolean> {
  const result = await db.deleteFrom('users').where('id', '=', userId).executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}
