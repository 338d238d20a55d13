import type { Db } from '../storage/database.js';

export interface TotpRecord {
  secretEncrypted: string;
  confirmed: boolean;
}

export async function findTotp(db: Db, userId: number): Promise<TotpRecord | null> {
  const row = await db.selectFrom('totp_credentials').select(['secret_encrypted', 'confirmed_at']).where('user_id', '=', userId).executeTakeFirst();
  return row ? { secretEncrypted: row.secret_encrypted, confirmed: row.confirmed_at !== null } : null;
}

/** A pending enrolment, replacing a pending one; never a confirmed one (returns false then). */
export async function savePendingTotp(db: Db, userId: number, secretEncrypted: string, now: string): Promise<boolean> {
  const result = await db
    .insertInto('totp_credentials')
    .values({ user_id: userId, secret_encrypted: secretEncrypted, confirmed_at: null, created_at: now })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ secret_encrypted: secretEncrypted, created_at: now }).where('totp_credentials.confirmed_at', 'is', null))
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
}

/** Confirm the pending enrolment whose secret the caller checked the code against. */
export async function confirmTotp(db: Db, userId: number, secretEncrypted: string, now: string): Promise<boolean> {
  const result = await db
    .updateTable('totp_credentials')
    .set({ confirmed_at: now })
    .where('user_id', '=', userId)
    .where('secret_encrypted', '=', secretEncrypted)
    .where('confirmed_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Remove TOTP and the recovery codes; returns whether a confirmed TOTP was there. */
export async function deleteTotp(db: Db, userId: number): Promise<boolean> {
  const result = await db.deleteFrom('totp_credentials').where('user_id', '=', userId).where('confirmed_at', 'is not', null).executeTakeFirst();
  await db.deleteFrom('totp_credentials').where('user_id', '=', userId).execute();
  await db.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
  return Number(result.numDeletedRows) === 1;
}

/**
 * Accept a time step: one conditional UPDATE, true only when `step` is after the last accepted
 * one. Of two requests with the same code (on any instance) exactly one gets true.
 */
export async function acceptStep(db: Db, userId: number, step: number): Promise<boolean> {
  const result = await db.updateTable('users').set({ totp_last_step: step }).where('id', '=', userId).where('totp_last_step', '<', step).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Replace the user's recovery codes with these hashes (the old set is void). */
export async function replaceRecoveryCodes(db: Db, userId: number, hashes: readonly string[], now: string): Promise<void> {
  await db.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
  await db
    .insertInto('recovery_codes')
    .values(hashes.map((code_hash) => ({ user_id: userId, code_hash, used_at: null, created_at: now })))
    .execute();
}

/** Spend one recovery code: one conditional UPDATE, so a code works once. */
export async function useRecoveryCode(db: Db, userId: number, codeHash: string, now: string): Promise<boolean> {
  const result = await db.updateTable('recovery_codes').set({ used_at: now }).where('user_id', '=', userId).where('code_hash', '=', codeHash).where('used_at', 'is', null).executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function countRecoveryCodesLeft(db: Db, userId: number): Promise<number> {
  const row = await db
    .selectFrom('recovery_codes')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

export interface MfaChallengeRecord {
  userId: number;
  credentialEpoch: number;
  remember: boolean;
  failures: number;
}

export async function insertChallenge(db: Db, row: { tokenHash: string; userId: number; credentialEpoch: number; remember: boolean; now: string; expiresAt: string }): Promise<void> {
  await db
    .insertInto('mfa_challenges')
    .values({ token_hash: row.tokenHash, user_id: row.userId, credential_epoch: row.credentialEpoch, remember: row.remember, created_at: row.now, expires_at: row.expiresAt })
    .execute();
}

/** A live challenge: unexpired and with fewer than `maxFailures` wrong codes. */
export async function findChallenge(db: Db, tokenHash: string, now: string, maxFailures: number): Promise<MfaChallengeRecord | null> {
  const row = await db
    .selectFrom('mfa_challenges')
    .select(['user_id', 'credential_epoch', 'remember', 'failures'])
    .where('token_hash', '=', tokenHash)
    .where('expires_at', '>', now)
    .where('failures', '<', maxFailures)
    .executeTakeFirst();
  return row ? { userId: Number(row.user_id), credentialEpoch: Number(row.credential_epoch), remember: Boolean(row.remember), failures: Number(row.failures) } : null;
}

/** Count a wrong code against the challenge (atomic increment). */
export async function failChallenge(db: Db, tokenHash: string): Promise<void> {
  await db.updateTable('mfa_challenges').set((eb) => ({ failures: eb('failures', '+', 1) })).where('token_hash', '=', tokenHash).execute();
}

/** Spend a live challenge: one conditional DELETE, so one request finishes a login. */
export async function spendChallenge(db: Db, tokenHash: string, now: string, maxFailures: number): Promise<boolean> {
  const result = await db.deleteFrom('mfa_challenges').where('token_hash', '=', tokenHash).where('expires_at', '>', now).where('failures', '<', maxFailures).executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

export async function deleteExpiredChallenges(db: Db, now: string): Promise<number> {
  const result = await db.deleteFrom('mfa_challenges').where('expires_at', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}
