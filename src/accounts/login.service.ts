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
import type { Amr, MfaChallenge, MfaService, SecondFactorProof } from '../mfa/mfa.service.js';
import type { LoginSubject } from './login-subject.js';
import type { PasswordHasher } from './password.js';

/**
 * How a login ended. A wrong password (or unknown user, or disabled one, or credentials that
 * changed while it ran) is an expected outcome, not an error: one value for all of them, so no
 * caller can tell them apart. Throttling (429) and overload (503) are thrown as errors.
 */
export type LoginOutcome<T> =
  | { ok: true; user: UserRecord; credential: T }
  | { ok: false; reason: 'invalid_credentials' }
  /** The password was right and the user has MFA: the second step begins (no credential yet). */
  | { ok: false; reason: 'mfa_required'; challenge: MfaChallenge };

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
  mfa: Pick<MfaService, 'hasMfa' | 'beginChallenge' | 'completeChallenge'>;
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

  /**
   * Log in with a password and start a browser session (a new id and CSRF token, the old cookie
   * revoked) — or, for a user with MFA, begin the second step (`mfa_required`).
   */
  async logIn(login: PasswordLogin & { remember: boolean }, meta: RequestMeta, replacing?: string): Promise<LoginOutcome<NewSession>> {
    const user = await this.#checkPassword(login, meta);
    if (!user) return REFUSED;
    if (await this.deps.mfa.hasMfa(user.id)) return { ok: false, reason: 'mfa_required', challenge: await this.deps.mfa.beginChallenge(user, login.remember) };
    return this.#startBrowserLogin(user, { remember: login.remember, amr: ['pwd'] }, meta, replacing);
  }

  /** Log in with a password as an external client: a new token login (refresh family) and its first pair, or the second step. */
  async logInForTokens(login: PasswordLogin, meta: RequestMeta): Promise<LoginOutcome<TokenPair>> {
    const user = await this.#checkPassword(login, meta);
    if (!user) return REFUSED;
    if (await this.deps.mfa.hasMfa(user.id)) return { ok: false, reason: 'mfa_required', challenge: await this.deps.mfa.beginChallenge(user, false) };
    return this.#startTokenLogin(user, ['pwd'], meta);
  }

  /**
   * POST /login/mfa: the second step of a browser login. A wrong code or dead token throws 401;
   * past the limit 429. `remember`: as sent at this step, else as chosen at the password step.
   */
  async completeMfa(mfaToken: string, proof: SecondFactorProof, meta: RequestMeta, replacing?: string, remember?: boolean): Promise<LoginOutcome<NewSession>> {
    const completed = await this.deps.mfa.completeChallenge(mfaToken, proof, meta);
    const { subject, amr } = completed;
    const found = await repo.findUserById(this.deps.db, subject.id);
    if (!found || found.disabled) return REFUSED;
    return this.#startBrowserLogin({ ...found, credentialEpoch: subject.credentialEpoch }, { remember: remember ?? completed.remember, amr }, meta, replacing);
  }

  /** POST /api/token/mfa: the second step of a token login. */
  async completeMfaForTokens(mfaToken: string, proof: SecondFactorProof, meta: RequestMeta): Promise<LoginOutcome<TokenPair>> {
    const { subject, amr } = await this.deps.mfa.completeChallenge(mfaToken, proof, meta);
    const found = await repo.findUserById(this.deps.db, subject.id);
    if (!found || found.disabled) return REFUSED;
    return this.#startTokenLogin({ ...found, credentialEpoch: subject.credentialEpoch }, amr, meta);
  }

  /**
   * A passkey sign-in whose assertion the caller verified (user verification required): it
   * satisfies MFA. A disabled user is refused; REQUIRE_EMAIL_VERIFICATION applies as to a password.
   */
  async logInWithPasskey(userId: number, remember: boolean, meta: RequestMeta, replacing?: string): Promise<LoginOutcome<NewSession>> {
    const found = await repo.findLoginRecordById(this.deps.db, userId);
    if (!found || found.user.disabled) return REFUSED;
    await this.#refuseUnverifiedEmail(found, meta);
    return this.#startBrowserLogin(found.user, { remember, amr: ['hwk', 'mfa'] }, meta, replacing);
  }

  async #startBrowserLogin(user: UserRecord, options: { remember: boolean; amr: readonly Amr[] }, meta: RequestMeta, replacing?: string): Promise<LoginOutcome<NewSession>> {
    if (replacing) await this.deps.sessions.revoke(replacing);
    const session = await this.deps.sessions.create(user, { remember: options.remember, amr: options.amr, ...meta });
    if (!session) return this.#credentialsChanged(user, meta);
    await this.#succeeded(user, 'session', options.amr, meta);
    return { ok: true, user, credential: session };
  }

  async #startTokenLogin(user: UserRecord, amr: readonly Amr[], meta: RequestMeta): Promise<LoginOutcome<TokenPair>> {
    const pair = await this.deps.tokens.issue(user, meta, amr);
    if (!pair) return this.#credentialsChanged(user, meta);
    await this.#succeeded(user, 'token', amr, meta);
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
    await this.#refuseUnverifiedEmail(found, meta);
    return found.user;
  }

  /** REQUIRE_EMAIL_VERIFICATION: 403 email_not_verified, with a fresh link (within the cap). CLI-made users are exempt. */
  async #refuseUnverifiedEmail(found: repo.LoginRecord, meta: RequestMeta): Promise<void> {
    if (!this.deps.requireEmailVerification || found.madeByOperator || found.user.emailVerified) return;
    await recordAudit(this.deps.db, { event: 'login_failed', userId: found.user.id, username: found.user.username, detail: { reason: 'email_not_verified' }, ...meta }, isoNow(this.deps.clock));
    await this.deps.email.sendVerification(found.user, meta);
    throw new EmailNotVerifiedError();
  }

  async #succeeded(user: UserRecord, via: 'session' | 'token', amr: readonly Amr[], meta: RequestMeta): Promise<void> {
    await recordAudit(this.deps.db, { event: 'login_succeeded', userId: user.id, username: user.username, detail: { via, amr: amr.join(' ') }, ...meta }, isoNow(this.deps.clock));
  }

  /** The password was right when checked, but a password change or disable committed before the login was stored. */
  async #credentialsChanged(user: UserRecord, meta: RequestMeta): Promise<typeof REFUSED> {
    await recordAudit(this.deps.db, { event: 'login_failed', userId: user.id, username: user.username, detail: { reason: 'credentials_changed' }, ...meta }, isoNow(this.deps.clock));
    return REFUSED;
  }
}
