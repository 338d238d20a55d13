import { InvalidTokenError } from '../errors.js';
import type { Mailer } from '../mail/mailer.js';
import { randomToken, sha256Hex } from '../sessions/tokens.js';
import type { Db } from '../storage/database.js';
import { isoNow } from '../storage/database.js';
import type { EmailLinkPurpose } from './accounts.table.js';
import type { EmailLinkRecord } from './email-links.repo.js';
import * as links from './email-links.repo.js';

/** The one answer for an unknown, spent, expired or void link, or one for an address the user no longer has: 401. */
export function invalidLink(): InvalidTokenError {
  return new InvalidTokenError('This link is invalid, has expired or was already used.', 'unknown, spent, expired or void link');
}

/** A token as minted here: 256 bits, base64url. Anything else is refused without a query. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export interface EmailLinksDeps {
  db: Db;
  clock: () => number;
  mailer: Pick<Mailer, 'reserveLinkMail' | 'sendLink'>;
  /** EMAIL_TOKEN_TTL: verification links. */
  verifyTtlSeconds: number;
  /** PASSWORD_RESET_TTL: password reset and email change links. */
  resetTtlSeconds: number;
}

/**
 * The links Gatehouse mails, and their tokens: 256 random bits, stored only as a SHA-256, one live
 * link per user and purpose (a new one voids the one before), spent by one conditional DELETE in
 * the transaction of the work it allows. The raw token exists only in the mail.
 */
export class EmailLinks {
  constructor(private readonly deps: EmailLinksDeps) {}

  /**
   * Mail `user` a link for `purpose` to `address`, within EMAILS_PER_ADDRESS_PER_HOUR. Past the cap
   * nothing is made and nothing sent (earlier links stay valid): resolves to false. The mail itself
   * goes out after the caller has answered.
   */
  async send(user: { id: number; username: string }, purpose: EmailLinkPurpose, address: string): Promise<boolean> {
    const { db, clock, mailer } = this.deps;
    const permit = await mailer.reserveLinkMail(address);
    if (!permit) return false;
    const token = randomToken();
    const validForSeconds = this.#ttl(purpose);
    const now = clock();
    await links.saveLink(db, { userId: user.id, purpose, email: address, tokenHash: sha256Hex(token), now: isoNow(() => now), expiresAt: new Date(now + validForSeconds * 1000).toISOString() });
    mailer.sendLink(permit, purpose, token, { username: user.username, validForSeconds });
    return true;
  }

  /** The link behind a token, unspent: for a link page's GET. Throws InvalidTokenError (401). */
  async peek(token: string, purpose: EmailLinkPurpose): Promise<EmailLinkRecord> {
    const link = TOKEN_SHAPE.test(token) ? await links.findLink(this.deps.db, sha256Hex(token), purpose, isoNow(this.deps.clock)) : null;
    if (!link) throw invalidLink();
    return link;
  }

  /**
   * Spend a token inside the caller's transaction: exactly one request gets the link. Throws
   * InvalidTokenError (401) when it is unknown, spent, expired or void.
   */
  async spend(trx: Db, token: string, purpose: EmailLinkPurpose): Promise<EmailLinkRecord> {
    const link = TOKEN_SHAPE.test(token) ? await links.spendLink(trx, sha256Hex(token), purpose, isoNow(this.deps.clock)) : null;
    if (!link) throw invalidLink();
    return link;
  }

  /** Void a user's links (all, or those of some purposes). */
  async voidAll(db: Db, userId: number, purposes?: readonly EmailLinkPurpose[]): Promise<void> {
    await links.voidLinks(db, userId, purposes);
  }

  /** The hourly sweep. */
  async deleteExpired(): Promise<number> {
    return links.deleteExpiredLinks(this.deps.db, isoNow(this.deps.clock));
  }

  #ttl(purpose: EmailLinkPurpose): number {
    return purpose === 'verify-email' ? this.deps.verifyTtlSeconds : this.deps.resetTtlSeconds;
  }
}
