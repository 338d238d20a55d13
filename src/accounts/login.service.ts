import { recordAudit } from '../audit/audit.repo.js';
import type { RequestMeta } from '../audit/request-meta.js';
import { EmailNotVerifiedError, RateLimitedError } from '../errors.js';
import type { AttemptThrottle } from '../limits/login-throttle.js';
import type { NewSession, SessionService, ValidSession } from '../sessions/sessions.service.js';
import type { Db } from '../storage/database.js';
import { isoNow } from '../storage/database.js';
import type { TokenPair, TokenService } from '../tokens/tokens.service.js';
import type { UserRecord } from './accounts.repo.js';
import * as repo from './accounts.repo.js';
import type { AccountService, SignUpInput } from './accounts.service.js';
import type { EmailService } from './email.service.js';
import type { LoginSubject } from './login-subject.js';
import type { PasswordHasher } from './password.js';

/**
 * How a login ended. A wrong password (or unknown user, or disabled one, or credentials that
 * changed while it ran) is an expected outcome, not an error: one value for all of them, so no
 * caller can tell them apart. Throttling (429) and overload (503) are thrown as errors.
 */
export type LoginOutcome<T> = { ok: true; user: UserRecord; credential: T } | { ok: false; reason: 'invalid_credentials' };

export interface PasswordLogin {
  /** A username or an email. */
  identifier: string;
  password: string;
}

export interface LoginServiceDeps {
  db: Db;
  clock: () => number;
  hasher: PasswordHasher;
  throttle: AttemptThrottle;
  accounts: Pick<AccountService, 'signUp'>;
  sessions: Pick<SessionService, 'create' | 'revoke' | 'validate'>;
  tokens: Pick<TokenService, 'issue'>;
  email: Pick<EmailService, 'sendVerification'>;
  /** REQUIRE_EMAIL_VERIFICATION. */
  requireEmailVerification: boolean;
}

const REFUSED = { ok: false, reason: 'invalid_credentials' } as const;

/**
 * The sign-in use cases: signup, login by password (a browser session or a token pair), logout.
 * Every path that hands out a credential for a password goes through `#checkPassword` (its
 * limits, its timing rule and its audit rows) and stores the credential behind the credential
 * epoch it read (see login-subject.ts).
 */
export class LoginService {
  constructor(private readonly deps: LoginServiceDeps) {}

  /**
   * Create an account, mail a verification link to its address (if it has one), and start its
   * first browser session — unless REQUIRE_EMAIL_VERIFICATION is on: then no session
   * (`mustVerifyEmail`). `replacing`: the session cookie the request came with, revoked so a cookie
   * planted before signup is worth nothing after.
   */
  async signUp(input: SignUpInput, meta: RequestMeta, replacing?: string): Promise<{ user: UserRecord; session: NewSession | null; mustVerifyEmail: boolean }> {
    const user = await this.deps.accounts.signUp(input, meta, 'user', { requireEmail: this.deps.requireEmailVerification });
    await this.deps.email.sendVerification(user, meta);
    if (this.deps.requireEmailVerification) return { user, session: null, mustVerifyEmail: true };
    return { user, session: await this.#startSession(user, false, meta, replacing), mustVerifyEmail: false };
  }

  /** Log in with a password and start a browser session (a new id and CSRF token, the old cookie revoked). */
  async logIn(login: PasswordLogin & { remember: boolean }, meta: RequestMeta, replacing?: string): Promise<LoginOutcome<NewSession>> {
    const user = await this.#checkPassword(login, meta);
    if (!user) return REFUSED;
    const session = await this.#startSession(user, login.remember, meta, replacing);
    if (!session) return this.#credentialsChanged(user, meta);
    await this.#succeeded(user, 'session', meta);
    return { ok: true, user, credential: session };
  }

  /** Log in with a password as an external client: a new token login (refresh family) and its first pair. */
  async logInForTokens(login: PasswordLogin, meta: RequestMeta): Promise<LoginOutcome<TokenPair>> {
    const user = await this.#checkPassword(login, meta);
    if (!user) return REFUSED;
    const pair = await this.deps.tokens.issue(user, meta);
    if (!pair) return this.#credentialsChanged(user, meta);
    await this.#succeeded(user, 'token', meta);
    return { ok: true, user, credential: pair };
  }

  /** End the browser session behind a cookie value (a replayed cookie then fails everywhere). */
  async logOut(sessionToken: string, meta: RequestMeta): Promise<void> {
    const session: ValidSession | null = await this.deps.sessions.validate(sessionToken);
    const revoked = await this.deps.sessions.revoke(sessionToken);
    if (revoked) await recordAudit(this.deps.db, { event: 'logout', userId: revoked.userId, username: session?.user.username ?? null, ...meta }, isoNow(this.deps.clock));
  }

  async #startSession(user: LoginSubject, remember: boolean, meta: RequestMeta, replacing?: string): Promise<NewSession | null> {
    if (replacing) await this.deps.sessions.revoke(replacing);
    return this.deps.sessions.create(user, { remember, ...meta });
  }

  /**
   * The password check every login shares. Unknown user, wrong password and disabled user all
   * cost one comparison at the configured cost and end alike (null). The attempt is reserved
   * before the hash, keyed on the name as typed (so a 429 ties no username to its email).
   */
  async #checkPassword(login: PasswordLogin, meta: RequestMeta): Promise<UserRecord | null> {
    const { db, clock, hasher, throttle } = this.deps;
    const found = await repo.findUserForLogin(db, login.identifier);
    const typed = login.identifier.includes('@') ? repo.normalizeEmail(login.identifier) : repo.normalizeUsername(login.identifier);
    const attempt = await throttle.reserve(`name:${typed}`).catch(async (error: unknown) => {
      if (error instanceof RateLimitedError) {
        await recordAudit(db, { event: 'login_throttled', userId: found?.user.id ?? null, username: found?.user.username ?? null, ...meta }, isoNow(clock));
      }
      throw error;
    });

    let matches: boolean;
    try {
      matches = await hasher.verify(login.password, found?.passwordHash ?? null, meta.ip);
    } catch (error) {
      // Shed (503) or failed: the password was never evaluated, so the attempt is given back.
      await attempt.cancelled();
      throw error;
    }
    const now = isoNow(clock);
    if (!found || !matches || found.user.disabled) {
      const reason = !found ? 'unknown_user' : !matches ? 'wrong_password' : 'disabled';
      await recordAudit(db, { event: 'login_failed', userId: found?.user.id ?? null, username: found?.user.username ?? null, detail: { reason }, ...meta }, now);
      await attempt.failed();
      return null;
    }
    await attempt.succeeded();
    if (found.passwordHash && hasher.needsRehash(found.passwordHash)) {
      await repo.setPasswordHash(db, found.user.id, await hasher.hash(login.password, meta.ip), now);
    }
    // Only after the password is known right, so the answer's timing says nothing more than a login's.
    if (this.deps.requireEmailVerification && !found.madeByOperator && !found.user.emailVerified) {
      await recordAudit(db, { event: 'login_failed', userId: found.user.id, username: found.user.username, detail: { reason: 'email_not_verified' }, ...meta }, now);
      await this.deps.email.sendVerification(found.user, meta);
      throw new EmailNotVerifiedError();
    }
    return found.user;
  }

  async #succeeded(user: UserRecord, via: 'session' | 'token', meta: RequestMeta): Promise<void> {
    await recordAudit(this.deps.db, { event: 'login_succeeded', userId: user.id, username: user.username, detail: { via }, ...meta }, isoNow(this.deps.clock));
  }

  /** The password was right when checked, but a password change or disable committed before the login was stored. */
  async #credentialsChanged(user: UserRecord, meta: RequestMeta): Promise<typeof REFUSED> {
    await recordAudit(this.deps.db, { event: 'login_failed', userId: user.id, username: user.username, detail: { reason: 'credentials_changed' }, ...meta }, isoNow(this.deps.clock));
    return REFUSED;
  }
}
