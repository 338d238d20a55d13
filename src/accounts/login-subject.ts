import type { Db } from '../storage/database.js';
import { holdCredentialEpoch } from './accounts.repo.js';

/** Who a login is for, and the credential epoch read together with the password hash it checked. */
export interface LoginSubject {
  id: number;
  credentialEpoch: number;
}

/**
 * Store a login's session or token login only while the user's credentials are the ones the login
 * checked: the epoch guard and the insert share one transaction. Returns false, storing nothing,
 * when a password change, reset or disable committed in between: the login then fails like a
 * wrong password (it was checked against a password that no longer holds).
 */
export async function insertBehindEpoch(db: Db, subject: LoginSubject, insert: (trx: Db) => Promise<void>): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    if (!(await holdCredentialEpoch(trx, subject.id, subject.credentialEpoch))) return false;
    await insert(trx);
    return true;
  });
}
