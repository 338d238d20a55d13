import { recordAudit } from '../audit/audit.repo.js';
import type { RequestMeta } from '../audit/request-meta.js';
import { ReauthenticationRequiredError, ValidationError } from '../errors.js';
import type { RevocationBus } from '../events/bus.js';
import type { AttemptThrottle } from '../limits/login-throttle.js';
import { markSessionAuthenticated } from '../sessions/sessions.repo.js';
import type { Db } from '../storage/database.js';
import { isoNow } from '../storage/database.js';
import { markFamilyAuthenticated } from '../tokens/tokens.repo.js';
import { findPasswordHash } from './accounts.repo.js';
import type { PasswordHasher } from './password.js';
import type { MfaService } from '../mfa/mfa.service.js';
import type { PasskeyService } from '../passkeys/passkeys.service.js';

/** What a re-authentication may prove the user with (a passkey joins these with the passkeys). */
export interface ReauthProof {
  password?: string | undefined;
  code?: string | undefined;
  recovery_code?: string | undefined;
  /** An assertion of one of the user's passkeys (WebAuthn JSON), on a challenge from POST /login/passkey/options. */
  passkey?: unknown;
}

/** The sign-in a request came with: a browser session, or a token login (its access tokens' `sid`). */
export interface SignInRef {
  kind: 'browser' | 'token';
  id: string;
  /** Its last login or re-authentication. */
  authenticatedAt: string;
}

export interface RecentAuthDeps {
  db: Db;
  clock: () => number;
  hasher: PasswordHasher;
  /** Re-authentication failures, per account: a limit of their own, so a stolen session cannot lock the owner's password login. */
  throttle: AttemptThrottle;
  bus: RevocationBus;
  maxAgeSeconds: number;
  factors: Pick<MfaService, 'verifyForReauthentication'>;
  passkeys: Pick<PasskeyService, 'verifyForReauthentication'>;
}

/**
 * Recent authentication: a session or token login may change the account for REAUTH_MAX_AGE after
 * its login, or after it proves its user again with the password. The proof counts against a
 * per-account limit of its own (429 past it), never against the login limit.
 */
export class RecentAuthService {
  constructor(private readonly deps: RecentAuthDeps) {}

  isRecent(signIn: SignInRef): boolean {
    return this.deps.clock() - Date.parse(signIn.authenticatedAt) < this.deps.maxAgeSeconds * 1000;
  }

  /**
   * POST /api/me/reauthenticate: the password proves the user again and makes this sign-in (not the
   * user's others) recent. Wrong → 422 on `password`; past the limit → 429.
   */
  async reauthenticate(userId: number, signIn: SignInRef, proof: ReauthProof, meta: RequestMeta): Promise<{ reauthenticatedUntil: string }> {
    if (proof.code !== undefined) await this.#checkFactor(userId, { code: proof.code }, 'code', meta);
    else if (proof.recovery_code !== undefined) await this.#checkFactor(userId, { recovery_code: proof.recovery_code }, 'recovery_code', meta);
    else if (proof.passkey !== undefined) await this.#checkPasskey(userId, proof.passkey, meta);
    else await this.#checkPassword(userId, proof.password, 'password', meta);
    return this.markRecent(userId, signIn, meta);
  }

  /** Make this sign-in recent after its user was proven by the caller (a passkey assertion). */
  async markRecent(userId: number, signIn: SignInRef, meta: RequestMeta): Promise<{ reauthenticatedUntil: string }> {
    const now = isoNow(this.deps.clock);
    if (signIn.kind === 'browser') await markSessionAuthenticated(this.deps.db, signIn.id, now);
    else await markFamilyAuthenticated(this.deps.db, signIn.id, now);
    // Every instance re-reads the user's sessions and logins, so the new time is seen everywhere.
    await this.deps.bus.publish({ kind: 'user', userId });
    await recordAudit(this.deps.db, { event: 'reauthenticated', userId, detail: { kind: signIn.kind }, ...meta }, now);
    return { reauthenticatedUntil: new Date(Date.parse(now) + this.deps.maxAgeSeconds * 1000).toISOString() };
  }

  /**
   * The check of a route marked *recent*: a `current_password` in the body, when sent, is a
   * one-time re-authentication (wrong → 422 on it); otherwise the sign-in must be recent (403).
   */
  async requireRecent(userId: number, signIn: SignInRef, currentPassword: unknown, meta: RequestMeta): Promise<void> {
    if (currentPassword !== undefined) {
      await this.#checkPassword(userId, typeof currentPassword === 'string' ? currentPassword : undefined, 'current_password', meta);
      return;
    }
    if (!this.isRecent(signIn)) throw new ReauthenticationRequiredError();
  }

  /** A TOTP code or recovery code, spent on success; counted like a wrong password when wrong. */
  async #checkFactor(userId: number, proof: ReauthProof, field: 'code' | 'recovery_code', meta: RequestMeta): Promise<void> {
    const value = proof[field];
    if (value === undefined || value.length === 0 || value.length > 64) throw new ValidationError({ [field]: 'Enter a code.' });
    const attempt = await this.deps.throttle.reserve(`user:${userId}`);
    let right: boolean;
    try {
      right = await this.deps.factors.verifyForReauthentication({ id: userId }, proof, meta);
    } catch (error) {
      await attempt.cancelled();
      throw error;
    }
    if (!right) {
      await attempt.failed();
      await recordAudit(this.deps.db, { event: 'reauthentication_failed', userId, detail: { with: field }, ...meta }, isoNow(this.deps.clock));
      throw new ValidationError({ [field]: field === 'code' ? 'That code is not right.' : 'That recovery code is not right, or was used already.' });
    }
    await attempt.succeeded();
  }

  /** A passkey assertion (user verified), of this user's passkey: counted like a wrong password when it is not (422 `fields.passkey`). */
  async #checkPasskey(userId: number, assertion: unknown, meta: RequestMeta): Promise<void> {
    const attempt = await this.deps.throttle.reserve(`user:${userId}`);
    let right: boolean;
    try {
      right = await this.deps.passkeys.verifyForReauthentication(userId, assertion, meta);
    } catch (error) {
      await attempt.cancelled();
      throw error;
    }
    if (!right) {
      await attempt.failed();
      await recordAudit(this.deps.db, { event: 'reauthentication_failed', userId, detail: { with: 'passkey' }, ...meta }, isoNow(this.deps.clock));
      throw new ValidationError({ passkey: 'That passkey is not one of yours, or it could not be verified. Try again.' });
    }
    await attempt.succeeded();
  }

  /** Compare a password with the user's, reserving the attempt first (at most the limit is evaluated per window). */
  async #checkPassword(userId: number, password: string | undefined, field: 'password' | 'current_password', meta: RequestMeta): Promise<void> {
    if (password === undefined || password.length === 0 || password.length > 1024) throw new ValidationError({ [field]: 'Enter your password.' });
    const attempt = await this.deps.throttle.reserve(`user:${userId}`);
    let matches: boolean;
    try {
      matches = await this.deps.hasher.verify(password, await findPasswordHash(this.deps.db, userId), meta.ip);
    } catch (error) {
      await attempt.cancelled();
      throw error;
    }
    if (!matches) {
      await attempt.failed();
      await recordAudit(this.deps.db, { event: 'reauthentication_failed', userId, ...meta }, isoNow(this.deps.clock));
      throw new ValidationError({ [field]: 'That is not your password.' });
    }
    await attempt.succeeded();
  }
}
