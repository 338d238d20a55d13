import { recordAudit } from '../audit/audit.repo.js';
import type { RequestMeta } from '../audit/request-meta.js';
import { ValidationError } from '../errors.js';
import type { Mailer } from '../mail/mailer.js';
import type { Db } from '../storage/database.js';
import { isoNow } from '../storage/database.js';
import * as repo from './accounts.repo.js';
import type { AccountService } from './accounts.service.js';
import type { EmailLinks } from './email-links.js';
import { invalidLink } from './email-links.js';
import type { PasswordHasher } from './password.js';
import { passwordProblem } from './password.js';

/** Most forgot-password requests whose lookup and link wait to run at once; past it one is dropped (and logged). */
export const FORGOT_BACKLOG_MAX = 1000;

export interface PasswordResetLog {
  warn(details: object, message: string): void;
}

export interface PasswordResetDeps {
  db: Db;
  clock: () => number;
  hasher: PasswordHasher;
  links: EmailLinks;
  accounts: Pick<AccountService, 'endAllLogins'>;
  notices: Pick<Mailer, 'sendNotice'>;
  log: PasswordResetLog;
  backlogMax?: number;
}

/**
 * Forgot password and reset. The forgot request is answered before anything about the address is
 * looked up: the lookup, the link and the mail run after the answer, one request at a time from a
 * bounded backlog, so neither the answer nor its timing can tell whether an account exists or
 * whether SMTP is up.
 */
export class PasswordResetService {
  readonly #backlog: Array<{ email: string; meta: RequestMeta }> = [];
  readonly #backlogMax: number;
  #running: Promise<void> | null = null;
  #closed = false;

  constructor(private readonly deps: PasswordResetDeps) {
    this.#backlogMax = deps.backlogMax ?? FORGOT_BACKLOG_MAX;
  }

  /**
   * POST /password/forgot: returns at once, having done nothing that depends on the address. Later,
   * a user with that address who is not disabled gets a link to /password/reset (a new link voids
   * the one before; within EMAILS_PER_ADDRESS_PER_HOUR).
   */
  requestReset(email: string, meta: RequestMeta): void {
    if (this.#closed) return;
    if (this.#backlog.length >= this.#backlogMax) {
      this.deps.log.warn({ backlog: this.#backlog.length }, 'forgot-password request dropped: the backlog is full');
      return;
    }
    this.#backlog.push({ email, meta });
    this.#running ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#drain());
  }

  /** Resolves when every forgot-password request taken so far has run (tests; shutdown). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** Stop taking requests; those taken still run. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.idle();
  }

  /** GET /password/reset and a form shown again: the token must be live. Throws InvalidTokenError (401). */
  async checkToken(token: string): Promise<void> {
    await this.#userOf(token);
  }

  /**
   * POST /password/reset. Order: token (401) → password rules (422, the token is kept) → done: the
   * password is set, the address marked verified, the token spent and every other link voided in
   * one transaction; then every session and token login ends and a notice is mailed.
   */
  async reset(token: string, password: string, confirmation: string | undefined, meta: RequestMeta): Promise<void> {
    const { db, clock, hasher, links, accounts, notices } = this.deps;
    const user = await this.#userOf(token);
    const problem = passwordProblem(password, user.username);
    if (problem) throw new ValidationError({ password: problem });
    if (confirmation !== undefined && confirmation !== password) throw new ValidationError({ password_confirmation: 'Passwords do not match.' });
    const passwordHash = await hasher.hash(password, meta.ip);
    const now = isoNow(clock);
    const email = await db.transaction().execute(async (trx) => {
      const link = await links.spend(trx, token, 'password-reset');
      await repo.replacePasswordIn(trx, link.userId, passwordHash, now, { endAccessTokens: true });
      await repo.markEmailVerified(trx, link.userId, link.email, now);
      await links.voidAll(trx, link.userId);
      return link.email;
    });
    await accounts.endAllLogins(user.id);
    await recordAudit(db, { event: 'password_reset', userId: user.id, username: user.username, ...meta }, now);
    notices.sendNotice(email, 'password-changed', { username: user.username });
  }

  async #userOf(token: string): Promise<repo.UserRecord> {
    const link = await this.deps.links.peek(token, 'password-reset');
    const user = await repo.findUserById(this.deps.db, link.userId);
    if (!user || user.disabled) throw invalidLink();
    return user;
  }

  async #drain(): Promise<void> {
    for (let next = this.#backlog.shift(); next; next = this.#backlog.shift()) {
      try {
        await this.#mailLink(next.email, next.meta);
      } catch (error) {
        this.deps.log.warn({ err: error }, 'forgot-password request failed after its answer');
      }
    }
    this.#running = null;
  }

  async #mailLink(email: string, meta: RequestMeta): Promise<void> {
    const { db, clock, links } = this.deps;
    const user = email.includes('@') ? await repo.findUserByEmail(db, email) : null;
    if (!user?.email || user.disabled) return;
    const mailed = await links.send(user, 'password-reset', user.email);
    await recordAudit(db, { event: 'password_reset_requested', userId: user.id, username: user.username, detail: { mailed }, ...meta }, isoNow(clock));
  }
}
