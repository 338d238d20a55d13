import type { Db } from '../storage/database.js';
import type { WebauthnChallengesTable } from './passkeys.table.js';

/** A passkey as the service works with it (the public key and counter stay out of answers). */
export interface PasskeyRecord {
  id: string;
  credentialId: string;
  userId: number;
  publicKey: string;
  counter: number;
  transports: string[] | null;
  backupEligible: boolean;
  backedUp: boolean;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

export type ChallengePurpose = WebauthnChallengesTable['purpose'];

const columns = ['id', 'credential_id', 'user_id', 'public_key', 'counter', 'transports', 'backup_eligible', 'backed_up', 'name', 'created_at', 'last_used_at'] as const;

interface PasskeyRow {
  id: string;
  credential_id: string;
  user_id: number;
  public_key: string;
  counter: string | number;
  transports: string | null;
  backup_eligible: boolean | number;
  backed_up: boolean | number;
  name: string;
  created_at: string;
  last_used_at: string | null;
}

function parseTransports(raw: string | null): string[] | null {
  if (raw === null) return null;
  try {
    const parsed: unknown = JSON.parse(raw);
    return Array.isArray(parsed) ? parsed.filter((t): t is string => typeof t === 'string') : null;
  } catch {
    return null;
  }
}

function toRecord(row: PasskeyRow): PasskeyRecord {
  return {
    id: row.id,
    credentialId: row.credential_id,
    userId: Number(row.user_id),
    publicKey: row.public_key,
    counter: Number(row.counter),
    transports: parseTransports(row.transports),
    backupEligible: Boolean(row.backup_eligible),
    backedUp: Boolean(row.backed_up),
    name: row.name,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
  };
}

export async function countPasskeys(db: Db, userId: number): Promise<number> {
  const row = await db
    .selectFrom('passkeys')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** Every passkey of a user goes (the admin's lost-device reset). Returns how many. */
export async function deleteAllPasskeys(db: Db, userId: number): Promise<number> {
  const result = await db.deleteFrom('passkeys').where('user_id', '=', userId).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** The user's passkeys, oldest first. */
export async function listPasskeys(db: Db, userId: number): Promise<PasskeyRecord[]> {
  const rows = await db.selectFrom('passkeys').select(columns).where('user_id', '=', userId).orderBy('created_at').orderBy('id').execute();
  return rows.map(toRecord);
}

/** One of the user's passkeys (scoped by owner: another user's id is null, like an unknown one). */
export async function findPasskey(db: Db, userId: number, id: string): Promise<PasskeyRecord | null> {
  const row = await db.selectFrom('passkeys').select(columns).where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
  return row ? toRecord(row) : null;
}

/** The passkey behind an authenticator's credential id, whoever owns it (a sign-in does not know the user yet). */
export async function findByCredentialId(db: Db, credentialId: string): Promise<PasskeyRecord | null> {
  const row = await db.selectFrom('passkeys').select(columns).where('credential_id', '=', credentialId).executeTakeFirst();
  return row ? toRecord(row) : null;
}

/** Store a new passkey. Throws UniqueViolationError when the credential id is registered already (to anyone). */
export async function insertPasskey(db: Db, passkey: Omit<PasskeyRecord, 'lastUsedAt'>): Promise<void> {
  await db
    .insertInto('passkeys')
    .values({
      id: passkey.id,
      credential_id: passkey.credentialId,
      user_id: passkey.userId,
      public_key: passkey.publicKey,
      counter: passkey.counter,
      transports: passkey.transports ? JSON.stringify(passkey.transports) : null,
      backup_eligible: passkey.backupEligible,
      backed_up: passkey.backedUp,
      name: passkey.name,
      created_at: passkey.createdAt,
      last_used_at: null,
    })
    .execute();
}

export async function renamePasskey(db: Db, userId: number, id: string, name: string): Promise<PasskeyRecord | null> {
  const result = await db.updateTable('passkeys').set({ name }).where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1 ? findPasskey(db, userId, id) : null;
}

/** Delete one of the user's passkeys; returns whether it was there. */
export async function deletePasskey(db: Db, userId: number, id: string): Promise<boolean> {
  const result = await db.deleteFrom('passkeys').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

/**
 * A use whose signature counter grew: one conditional UPDATE, true only while the stored counter
 * is below `counter`, so of two assertions with the same counter (on any instance) one wins.
 */
export async function advanceCounter(db: Db, id: string, counter: number, backedUp: boolean, now: string): Promise<boolean> {
  const result = await db.updateTable('passkeys').set({ counter, backed_up: backedUp, last_used_at: now }).where('id', '=', id).where('counter', '<', counter).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** A use that keeps the counter where it is (zero counters of synced passkeys; an accepted regression). */
export async function markUsed(db: Db, id: string, backedUp: boolean, now: string): Promise<void> {
  await db.updateTable('passkeys').set({ backed_up: backedUp, last_used_at: now }).where('id', '=', id).execute();
}

/**
 * Store a challenge. A registration challenge replaces the user's earlier one (one row per user and
 * purpose: the upsert voids it); sign-in challenges have no user and simply accumulate until spent or swept.
 */
export async function saveChallenge(db: Db, row: { challenge: string; purpose: ChallengePurpose; userId: number | null; now: string; expiresAt: string }): Promise<void> {
  const values = { challenge: row.challenge, purpose: row.purpose, user_id: row.userId, created_at: row.now, expires_at: row.expiresAt };
  if (row.userId === null) {
    await db.insertInto('webauthn_challenges').values(values).execute();
    return;
  }
  await db
    .insertInto('webauthn_challenges')
    .values(values)
    .onConflict((oc) => oc.columns(['user_id', 'purpose']).doUpdateSet({ challenge: row.challenge, created_at: row.now, expires_at: row.expiresAt }))
    .execute();
}

/**
 * Spend a live challenge: one conditional DELETE, so a challenge serves one verification attempt
 * on any instance, whatever its outcome. `userId`: a registration challenge is the registering user's only.
 */
export async function spendChallenge(db: Db, challenge: string, purpose: ChallengePurpose, userId: number | null, now: string): Promise<boolean> {
  let query = db.deleteFrom('webauthn_challenges').where('challenge', '=', challenge).where('purpose', '=', purpose).where('expires_at', '>', now);
  query = userId === null ? query.where('user_id', 'is', null) : query.where('user_id', '=', userId);
  const result = await query.executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

export async function deleteExpiredChallenges(db: Db, now: string): Promise<number> {
  const result = await db.deleteFrom('webauthn_challenges').where('expires_at', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}
