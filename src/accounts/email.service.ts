import { recordAudit } from '../audit/audit.repo.js';
import type { RequestMeta } from '../audit/request-meta.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { RevocationBus } from '../events/bus.js';
import type { Mailer } from '../mail/mailer.js';
import type { Db } from '../storage/database.js';
import { isoNow, UniqueViolationError } from '../storage/database.js';
import type { UserRecord } from './accounts.repo.js';
import * as repo from './accounts.repo.js';
import { emailProblem } from './accounts.service.js';
import type { EmailLinks } from './email-links.js';
import { invalidLink } from './email-links.js';

export interface EmailServiceDeps {
  db: Db;
  clock: () => number;
  links: EmailLinks;
  notices: Pick<Mailer, 'sendNotice'>;
  /** Told of each change to an address, so every instance drops the user's cached sessions (their user JSON changes). */
  bus: RevocationBus;
  /** REQUIRE_EMAIL_VERIFICATION: an address cannot be removed while it is on. */
  requireVerification: boolean;
}

/** The account's address: proving it (verification links), changing it (confirmed by the new address) and removing it. */
export class EmailService {
  constructor(private readonly deps: EmailServiceDeps) {}

  /**
   * Mail a verification link to the user's address, unless there is none or it is verified already
   * (within EMAILS_PER_ADDRESS_PER_HOUR). A new link voids the one before.
   */
  async sendVerification(user: UserRecord, meta: RequestMeta): Promise<void> {
    if (!user.email || user.emailVerified) return;
    if (!(await this.deps.links.send(user, 'verify-email', user.email))) return;
    await recordAudit(this.deps.db, { event: 'email_verification_sent', userId: user.id, username: user.username, ...meta }, isoNow(this.deps.clock));
  }

  /** POST /api/me/email/verification: 422 `fields.email` without an address; nothing to do when verified. */
  async requestVerification(userId: number, meta: RequestMeta): Promise<void> {
    const user = await this.#user(this.deps.db, userId);
    if (!user.email) throw new ValidationError({ email: 'Your account has no email address to verify.' });
    await this.sendVerification(user, meta);
  }

  /** A link page's GET: the link must be live (unspent, unexpired, the newest). Throws InvalidTokenError (401). */
  async checkLink(token: string, purpose: 'verify-email' | 'email-change'): Promise<void> {
    await this.deps.links.peek(token, purpose);
  }

  /** POST /email/verify: spends the token; 401 when it is unknown, spent, expired or void, or the address changed since. */
  async verify(token: string, meta: RequestMeta): Promise<UserRecord> {
    const { db, clock, links } = this.deps;
    const now = isoNow(clock);
    const user = await db.transaction().execute(async (trx) => {
      const link = await links.spend(trx, token, 'verify-email');
      const verified = await repo.markEmailVerified(trx, link.userId, link.email, now);
      if (!verified) throw invalidLink();
      return verified;
    });
    await this.deps.bus.publish({ kind: 'user', userId: user.id });
    await recordAudit(db, { event: 'email_verified', userId: user.id, username: user.username, ...meta }, now);
    return user;
  }

  /**
   * POST /api/me/email with an address: mail a link to the new address (it changes only when that
   * link is confirmed) and a notice to the old one. 422 for an invalid address or the current one,
   * 409 `email_taken` when another account has it.
   */
  async requestChange(userId: number, email: string, meta: RequestMeta): Promise<{ pendingEmail: string }> {
    const { db, clock, links, notices } = this.deps;
    const address = email.trim();
    const problem = emailProblem(address);
    if (problem) throw new ValidationError({ email: problem });
    const user = await this.#user(db, userId);
    if (user.email !== null && repo.normalizeEmail(user.email) === repo.normalizeEmail(address)) {
      throw new ValidationError({ email: 'This is already your email address.' });
    }
    const owner = await repo.findUserByEmail(db, address);
    if (owner) throw new ConflictError('email_taken', 'That email is already registered.', { email: 'That email is already registered.' });
    await links.send(user, 'email-change', address);
    if (user.email) notices.sendNotice(user.email, 'email-change-requested', { username: user.username, newEmail: address });
    await recordAudit(db, { event: 'email_change_requested', userId, username: user.username, ...meta }, isoNow(clock));
    return { pendingEmail: address };
  }

  /**
   * POST /email/confirm: the new address becomes the account's, verified; every other link of the
   * user (sent to the old address) is void. 409 `email_taken` when another account took the address
   * meanwhile: the transaction rolls back and the token stays usable.
   */
  async confirmChange(token: string, meta: RequestMeta): Promise<UserRecord> {
    const { db, clock, links } = this.deps;
    const now = isoNow(clock);
    const user = await db
      .transaction()
      .execute(async (trx) => {
        const link = await links.spend(trx, token, 'email-change');
        const changed = await repo.setEmail(trx, link.userId, link.email, now);
        if (!changed) throw invalidLink();
        await links.voidAll(trx, link.userId);
        return changed;
      })
      .catch((error: unknown) => {
        if (error instanceof UniqueViolationError) throw new ConflictError('email_taken', 'That email is already registered.', { email: 'That email is already registered.' });
        throw error;
      });
    await this.deps.bus.publish({ kind: 'user', userId: user.id });
    await recordAudit(db, { event: 'email_changed', userId: user.id, username: user.username, ...meta }, now);
    return user;
  }

  /** POST /api/me/email `{email: null}`: the address goes at once, and every link sent to it is void. */
  async removeEmail(userId: number, meta: RequestMeta): Promise<UserRecord> {
    const { db, clock, links, requireVerification } = this.deps;
    if (requireVerification) throw new ValidationError({ email: 'An email address is required here: change it instead of removing it.' });
    const now = isoNow(clock);
    const user = await db.transaction().execute(async (trx) => {
      const removed = await repo.setEmail(trx, userId, null, now);
      if (!removed) throw new NotFoundError('No such user.');
      await links.voidAll(trx, userId);
      return removed;
    });
    await this.deps.bus.publish({ kind: 'user', userId });
    await recordAudit(db, { event: 'email_removed', userId, username: user.username, ...meta }, now);
    return user;
  }

  async #user(db: Db, userId: number): Promise<UserRecord> {
    const user = await repo.findUserById(db, userId);
    if (!user) throw new NotFoundError('No such user.');
    return user;
  }
}
