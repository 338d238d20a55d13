import type { Db } from '../storage/database.js';
import type { EmailLinkPurpose } from './accounts.table.js';

export interface EmailLinkRecord {
  userId: number;
  purpose: EmailLinkPurpose;
  /** Where the link was sent: the account's address, or the new one for an email change. */
  email: string;
}

/**
 * Store a user's link for one purpose, replacing the one before it in the same statement (a true
 * upsert on the (user, purpose) key): two requests at once leave exactly one valid token.
 */
export async function saveLink(db: Db, link: EmailLinkRecord & { tokenHash: string; now: string; expiresAt: string }): Promise<void> {
  const values = { token_hash: link.tokenHash, email: link.email, created_at: link.now, expires_at: link.expiresAt };
  await db
    .insertInto('email_links')
    .values({ ...values, user_id: link.userId, purpose: link.purpose })
    .onConflict((oc) => oc.columns(['user_id', 'purpose']).doUpdateSet(values))
    .execute();
}

/** The unexpired link behind a token hash, without spending it (a link page's GET, a form shown again). */
export async function findLink(db: Db, tokenHash: string, purpose: EmailLinkPurpose, now: string): Promise<EmailLinkRecord | null> {
  const row = await db
    .selectFrom('email_links')
    .select(['user_id', 'purpose', 'email'])
    .where('token_hash', '=', tokenHash)
    .where('purpose', '=', purpose)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return row ? { userId: Number(row.user_id), purpose: row.purpose, email: row.email } : null;
}

/**
 * Spend a token: one conditional DELETE, so of two requests racing with the same token exactly one
 * gets the row. Run it in the transaction that does the link's work, so a failure after it (an
 * address taken meanwhile) rolls the spending back and the token stays usable.
 */
export async function spendLink(trx: Db, tokenHash: string, purpose: EmailLinkPurpose, now: string): Promise<EmailLinkRecord | null> {
  const row = await trx
    .deleteFrom('email_links')
    .where('token_hash', '=', tokenHash)
    .where('purpose', '=', purpose)
    .where('expires_at', '>', now)
    .returning(['user_id', 'purpose', 'email'])
    .executeTakeFirst();
  return row ? { userId: Number(row.user_id), purpose: row.purpose, email: row.email } : null;
}

/** Void a user's links: all of them, or those of some purposes. */
export async function voidLinks(db: Db, userId: number, purposes?: readonly EmailLinkPurpose[]): Promise<void> {
  let query = db.deleteFrom('email_links').where('user_id', '=', userId);
  if (purposes) query = query.where('purpose', 'in', purposes);
  await query.execute();
}

/** The sweep: expired links. Returns how many went. */
export async function deleteExpiredLinks(db: Db, now: string): Promise<number> {
  const result = await db.deleteFrom('email_links').where('expires_at', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}
