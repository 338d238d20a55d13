import { recordAudit } from '../audit/audit.repo.js';
import type { RequestMeta } from '../audit/request-meta.js';
import { ConflictError, InvalidCredentialsError, ValidationError } from '../errors.js';
import type { AttemptThrottle } from '../limits/login-throttle.js';
import type { Mailer } from '../mail/mailer.js';
import { randomToken, sha256Hex } from '../sessions/tokens.js';
import type { Db } from '../storage/database.js';
import { isoNow } from '../storage/database.js';
import type { KeyVault } from '../tokens/keys.js';
import type { LoginSubject } from '../accounts/login-subject.js';
import type { AccountService } from '../accounts/accounts.service.js';
import { findUserById } from '../accounts/accounts.repo.js';
import { NotFoundError } from '../errors.js';
import { countPasskeys, deleteAllPasskeys } from '../passkeys/passkeys.repo.js';
import * as repo from './mfa.repo.js';
import { hashRecoveryCode, newRecoveryCode, RECOVERY_CODE_COUNT } from './recovery-codes.js';
import { matchingStep, newTotpSecret, otpauthUri } from './totp.js';

/** A login's second step dies after this many wrong codes (the per-account limit may stop it sooner). */
export const MFA_TOKEN_MAX_FAILURES = 5;

/** The 401 of a second step, one message for a wrong code and a dead token (the password was right: not "username or password"). */
export const SECOND_STEP_REFUSED = 'That code is not right, or this sign-in has expired. Try again, or start again from the login page.';

/** What a second step may be proven with. */
export interface SecondFactorProof {
  code?: string | undefined;
  recovery_code?: string | undefined;
}

/** RFC 8176 method references: how a login was proven. */
export type Amr = 'pwd' | 'otp' | 'hwk' | 'mfa';

export type MfaMethod = 'totp' | 'recovery_code';

export interface MfaChallenge {
  mfaToken: string;
  methods: MfaMethod[];
  expiresIn: number;
}

export interface MfaUser {
  id: number;
  username: string;
  email: string | null;
}

export interface MfaServiceDeps {
  db: Db;
  clock: () => number;
  /** Encrypts TOTP secrets at rest (KEY_ENCRYPTION_SECRET, as the signing keys). */
  vault: KeyVault;
  /** MFA_FAILURES_PER_ACCOUNT: wrong codes at the login's second step, per account. */
  throttle: AttemptThrottle;
  notices: Pick<Mailer, 'sendNotice'>;
  accounts: Pick<AccountService, 'endAllLogins'>;
  /** MFA_TOKEN_TTL, seconds. */
  tokenTtlSeconds: number;
  /** The issuer an authenticator app shows: PUBLIC_URL's host. */
  issuer: string;
}

/**
 * TOTP with recovery codes, and the login's second step. Every code is spent by one conditional
 * write (a time step after the user's last accepted one; a recovery code not used yet), so a code
 * works once on every instance; nothing is spent by a request that fails.
 */
export class MfaService {
  constructor(private readonly deps: MfaServiceDeps) {}

  /** Whether the user has MFA: a confirmed TOTP (passkeys alone do not change the password step). */
  async hasMfa(userId: number): Promise<boolean> {
    return (await repo.findTotp(this.deps.db, userId))?.confirmed ?? false;
  }

  /** GET /api/me/mfa. */
  async status(userId: number): Promise<{ totp: boolean; recoveryCodesLeft: number; passkeys: number }> {
    const totp = await this.hasMfa(userId);
    return { totp, recoveryCodesLeft: totp ? await repo.countRecoveryCodesLeft(this.deps.db, userId) : 0, passkeys: await countPasskeys(this.deps.db, userId) };
  }

  /** POST /api/me/mfa/totp: a new pending secret (a second call replaces it); 409 when TOTP is on. */
  async beginTotp(user: MfaUser): Promise<{ secret: string; otpauthUri: string }> {
    const secret = newTotpSecret();
    const saved = await repo.savePendingTotp(this.deps.db, user.id, this.deps.vault.seal(secret), isoNow(this.deps.clock));
    if (!saved) throw new ConflictError('conflict', 'Two-step verification is already on.');
    return { secret, otpauthUri: otpauthUri(secret, user.username, this.deps.issuer) };
  }

  /** The enrolment waiting for its first code, to show again (the no-JavaScript page after a wrong code); null when none. */
  async pendingTotp(user: MfaUser): Promise<{ secret: string; otpauthUri: string } | null> {
    const pending = await repo.findTotp(this.deps.db, user.id);
    if (!pending || pending.confirmed) return null;
    const secret = this.deps.vault.open(pending.secretEncrypted);
    return { secret, otpauthUri: otpauthUri(secret, user.username, this.deps.issuer) };
  }

  /** POST /api/me/mfa/totp/confirm: the first code turns TOTP on and yields the recovery codes (shown once). */
  async confirmTotp(user: MfaUser, code: string, meta: RequestMeta): Promise<string[]> {
    const { db, clock, vault } = this.deps;
    const pending = await repo.findTotp(db, user.id);
    if (!pending || pending.confirmed) throw new ConflictError('conflict', pending ? 'Two-step verification is already on.' : 'Start the set-up first: there is nothing to confirm.');
    const step = matchingStep(vault.open(pending.secretEncrypted), code.trim(), clock());
    const now = isoNow(clock);
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    const confirmed = await db.transaction().execute(async (trx) => {
      // The confirming code's step counts as accepted: it cannot sign in afterwards.
      if (step === null || !(await repo.acceptStep(trx, user.id, step))) return 'wrong' as const;
      if (!(await repo.confirmTotp(trx, user.id, pending.secretEncrypted, now))) return 'raced' as const;
      await repo.replaceRecoveryCodes(trx, user.id, codes.map(hashRecoveryCode), now);
      return 'ok' as const;
    });
    if (confirmed === 'wrong') throw new ValidationError({ code: 'That code is not right. Enter the 6-digit code your app shows now.' });
    if (confirmed === 'raced') throw new ConflictError('conflict', 'The set-up changed meanwhile: start again.');
    await recordAudit(db, { event: 'mfa_enrolled', userId: user.id, username: user.username, detail: { factor: 'totp' }, ...meta }, now);
    if (user.email) this.deps.notices.sendNotice(user.email, 'factor-added', { username: user.username, factor: 'totp' });
    return codes;
  }

  /** DELETE /api/me/mfa/totp: TOTP and the recovery codes go; 409 when TOTP is off. */
  async disableTotp(user: MfaUser, meta: RequestMeta): Promise<void> {
    const { db, clock } = this.deps;
    const removed = await db.transaction().execute((trx) => repo.deleteTotp(trx, user.id));
    if (!removed) throw new ConflictError('conflict', 'Two-step verification is off.');
    await recordAudit(db, { event: 'mfa_removed', userId: user.id, username: user.username, detail: { factor: 'totp' }, ...meta }, isoNow(clock));
    if (user.email) this.deps.notices.sendNotice(user.email, 'factor-removed', { username: user.username, factor: 'totp' });
  }

  /** POST /api/me/mfa/recovery-codes: a new set, the old one void; 409 without TOTP. */
  async regenerateRecoveryCodes(user: MfaUser, meta: RequestMeta): Promise<string[]> {
    const { db, clock } = this.deps;
    if (!(await this.hasMfa(user.id))) throw new ConflictError('conflict', 'Turn on two-step verification first.');
    const now = isoNow(clock);
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    await db.transaction().execute((trx) => repo.replaceRecoveryCodes(trx, user.id, codes.map(hashRecoveryCode), now));
    await recordAudit(db, { event: 'recovery_codes_regenerated', userId: user.id, username: user.username, ...meta }, now);
    if (user.email) this.deps.notices.sendNotice(user.email, 'factor-added', { username: user.username, factor: 'recovery-codes' });
    return codes;
  }

  /**
   * DELETE /api/admin/users/:id/mfa, the lost-device reset: TOTP, recovery codes and passkeys go,
   * and every browser session and token login of the user ends. 404 for an unknown user.
   */
  async resetFactors(userId: number, actor: { id: number; meta: RequestMeta }): Promise<void> {
    const { db, clock } = this.deps;
    const user = await findUserById(db, userId);
    if (!user) throw new NotFoundError('No such user.');
    await db.transaction().execute(async (trx) => {
      await repo.deleteTotp(trx, userId);
      await deleteAllPasskeys(trx, userId);
    });
    await this.deps.accounts.endAllLogins(userId);
    await recordAudit(db, { event: 'mfa_reset', userId, username: user.username, actorId: actor.id, ...actor.meta }, isoNow(clock));
  }

  /** The password was right for a user with MFA: a second step begins. The token is shown once, stored hashed. */
  async beginChallenge(subject: LoginSubject, remember: boolean): Promise<MfaChallenge> {
    const { db, clock, tokenTtlSeconds } = this.deps;
    const mfaToken = randomToken();
    const now = clock();
    await repo.insertChallenge(db, { tokenHash: sha256Hex(mfaToken), userId: subject.id, credentialEpoch: subject.credentialEpoch, remember, now: new Date(now).toISOString(), expiresAt: new Date(now + tokenTtlSeconds * 1000).toISOString() });
    const codesLeft = await repo.countRecoveryCodesLeft(db, subject.id);
    return { mfaToken, methods: codesLeft > 0 ? ['totp', 'recovery_code'] : ['totp'], expiresIn: tokenTtlSeconds };
  }

  /**
   * POST /login/mfa and /api/token/mfa: the code (or recovery code) for a live `mfa_token`. A wrong
   * one counts against the token (dead after 5) and the account (MFA_FAILURES_PER_ACCOUNT: 429 at
   * this step while the lock lasts, whatever the token); both end in 401 invalid_credentials.
   */
  async completeChallenge(mfaToken: string, proof: SecondFactorProof, meta: RequestMeta): Promise<{ subject: LoginSubject; remember: boolean; amr: Amr[] }> {
    const { db, clock, throttle } = this.deps;
    const tokenHash = sha256Hex(mfaToken);
    const challenge = mfaToken.length > 0 && mfaToken.length <= 128 ? await repo.findChallenge(db, tokenHash, isoNow(clock), MFA_TOKEN_MAX_FAILURES) : null;
    if (!challenge) throw new InvalidCredentialsError(SECOND_STEP_REFUSED);
    const attempt = await throttle.reserve(`user:${challenge.userId}`);
    let used: 'otp' | 'recovery' | null;
    try {
      used = await db.transaction().execute(async (trx) => {
        const factor = await this.#spendFactor(trx, challenge.userId, proof);
        if (!factor) return null;
        // The token, too, is spent in the same transaction: of two right codes at once, one wins.
        if (!(await repo.spendChallenge(trx, tokenHash, isoNow(clock), MFA_TOKEN_MAX_FAILURES))) throw new InvalidCredentialsError(SECOND_STEP_REFUSED);
        return factor;
      });
    } catch (error) {
      await attempt.cancelled();
      throw error;
    }
    if (!used) {
      await repo.failChallenge(db, tokenHash);
      await attempt.failed();
      await recordAudit(db, { event: 'mfa_failed', userId: challenge.userId, detail: { method: proof.recovery_code !== undefined ? 'recovery_code' : 'totp' }, ...meta }, isoNow(clock));
      throw new InvalidCredentialsError(SECOND_STEP_REFUSED);
    }
    await attempt.succeeded();
    if (used === 'recovery') await this.#recoveryCodeUsed(challenge.userId, meta);
    return { subject: { id: challenge.userId, credentialEpoch: challenge.credentialEpoch }, remember: challenge.remember, amr: used === 'otp' ? ['pwd', 'otp', 'mfa'] : ['pwd', 'mfa'] };
  }

  /**
   * A re-authentication with a code or recovery code: spent on success like a login's. Returns
   * false (spending nothing) when it is wrong, already used, or the user has no TOTP.
   */
  async verifyForReauthentication(user: { id: number }, proof: SecondFactorProof, meta: RequestMeta): Promise<boolean> {
    const used = await this.deps.db.transaction().execute((trx) => this.#spendFactor(trx, user.id, proof));
    if (used === 'recovery') await this.#recoveryCodeUsed(user.id, meta);
    return used !== null;
  }

  async deleteExpired(): Promise<number> {
    return repo.deleteExpiredChallenges(this.deps.db, isoNow(this.deps.clock));
  }

  async #spendFactor(trx: Db, userId: number, proof: SecondFactorProof): Promise<'otp' | 'recovery' | null> {
    const totp = await repo.findTotp(trx, userId);
    if (!totp?.confirmed) return null;
    if (proof.code !== undefined) {
      const step = matchingStep(this.deps.vault.open(totp.secretEncrypted), proof.code.trim(), this.deps.clock());
      return step !== null && (await repo.acceptStep(trx, userId, step)) ? 'otp' : null;
    }
    if (proof.recovery_code !== undefined && proof.recovery_code.length <= 64) {
      return (await repo.useRecoveryCode(trx, userId, hashRecoveryCode(proof.recovery_code), isoNow(this.deps.clock))) ? 'recovery' : null;
    }
    return null;
  }

  async #recoveryCodeUsed(userId: number, meta: RequestMeta): Promise<void> {
    const { db, clock } = this.deps;
    const codesLeft = await repo.countRecoveryCodesLeft(db, userId);
    await recordAudit(db, { event: 'recovery_code_used', userId, detail: { codes_left: codesLeft }, ...meta }, isoNow(clock));
    const user = await db.selectFrom('users').select(['username', 'email']).where('id', '=', userId).executeTakeFirst();
    if (user?.email) this.deps.notices.sendNotice(user.email, 'recovery-code-used', { username: user.username, codesLeft });
  }
}
