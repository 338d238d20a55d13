import { randomUUID } from 'node:crypto';
import { SignJWT, decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import { insertBehindEpoch } from '../accounts/login-subject.js';
import type { LoginSubject } from '../accounts/login-subject.js';
import { recordAudit } from '../audit/audit.repo.js';
import type { Config } from '../config.js';
import type { RequestMeta } from '../audit/request-meta.js';
import { InvalidTokenError } from '../errors.js';
import type { RevocationBus } from '../events/bus.js';
import type { Principal } from '../accounts/principal.js';
import { randomToken, sha256Hex } from '../sessions/tokens.js';
import type { Db } from '../storage/database.js';
import type { KeyRing } from './keys.js';
import { SUPPORTED_ALGORITHMS } from './keys.js';
import * as repo from './tokens.repo.js';
import type { LoginState } from './tokens.repo.js';

/**
 * How long an instance trusts what it read about a login (family revoked? user disabled? role?).
 * The contract bounds revocation on other instances to 1 s; Redis, when configured, makes it instant.
 */
export const LOGIN_STATE_TTL_MS = 1_000;
const LOGIN_STATE_CACHE_MAX = 100_000;
/**
 * Tokens whose signature and claims were already checked, so a client's repeat requests skip the
 * Ed25519/ECDSA verification (about 90 µs, most of a bearer check). Keyed by the whole token: a
 * cached signature is never reused for other bytes. Revocation is unaffected: the login state is
 * still consulted on every request.
 */
const VERIFIED_CACHE_MAX = 10_000;
/** Revoked logins and spent refresh tokens are kept this long (for support questions and the reuse alarm). */
const STALE_AFTER_MS = 24 * 3600 * 1000;
/** Allowed clock skew between Gatehouse and whoever checks `exp`/`iat`. */
export const CLOCK_TOLERANCE_SECONDS = 5;
const ACCESS_TOKEN_TYPE = 'at+jwt';

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

interface AccessClaims {
  sub: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  kid: string;
}

/**
 * Why a bearer token was refused: for the server's log line only (the client always gets the same
 * 401 invalid_token). `detail` names what differed, e.g. another issuer when two deployments'
 * PUBLIC_URLs differ and one's tokens reach the other.
 */
export interface TokenRefusal {
  refused: 'malformed' | 'unknown_key' | 'invalid' | 'wrong_issuer' | 'wrong_audience' | 'expired' | 'login_ended' | 'user_disabled' | 'credentials_changed';
  detail?: string;
}

export interface VerifiedAccess {
  principal: Principal;
  /** The token login's last login or re-authentication. */
  authenticatedAt: string;
  /** The login (refresh family) the token belongs to: its `sid`. */
  sessionId: string;
  tokenId: string;
}

type TokenConfig = Pick<Config, 'publicUrl' | 'accessTokenTtl' | 'accessTokenAudience' | 'refreshTokenTtl' | 'refreshReuseGraceSeconds'>;

/** A login's stored `amr` as the claim's array; logins from before MFA were passwords. */
function amrOf(stored: string | null): string[] {
  return stored ? stored.split(' ') : ['pwd'];
}

/** Access tokens (JWT), rotating refresh tokens grouped in families, and revocation that reaches both. */
export class TokenService {
  readonly #loginStates = new Map<string, { state: LoginState; loadedAt: number }>();
  readonly #verified = new Map<string, AccessClaims>();
  readonly #issuer: string;

  constructor(
    private readonly db: Db,
    private readonly config: TokenConfig,
    private readonly clock: () => number,
    readonly keys: KeyRing,
    private readonly bus: RevocationBus,
  ) {
    this.#issuer = config.publicUrl.replace(/\/+$/, '');
    bus.subscribe((event) => {
      if (event.kind === 'family') this.#loginStates.delete(event.familyId);
      if (event.kind === 'user') {
        for (const [sid, entry] of this.#loginStates) if (entry.state.user.id === event.userId) this.#loginStates.delete(sid);
      }
    });
  }

  /**
   * Start a new login for an external client: a refresh family and its first pair. Like a
   * session, the family is stored only while the user's credential epoch is the one the login
   * read; null when it changed.
   */
  async issue(user: LoginSubject, meta: RequestMeta, amr: readonly string[] = ['pwd']): Promise<TokenPair | null> {
    const now = this.clock();
    const familyId = randomUUID();
    const stored = await insertBehindEpoch(this.db, user, (trx) =>
      repo.insertFamily(trx, {
        id: familyId,
        userId: user.id,
        now: new Date(now).toISOString(),
        expiresAt: new Date(now + this.config.refreshTokenTtl * 1000).toISOString(),
        ip: meta.ip,
        userAgent: meta.userAgent?.slice(0, 512) ?? null,
        amr: amr.join(' '),
      }),
    );
    return stored ? this.#pair(user.id, familyId, now, amr) : null;
  }

  /**
   * Exchange a refresh token for a new pair. A token already spent within the grace window gets a
   * sibling pair in the same family (concurrent tabs, retries); after it, reuse revokes the family.
   */
  async refresh(refreshToken: string, meta: RequestMeta): Promise<TokenPair> {
    const tokenHash = sha256Hex(refreshToken);
    const state = await repo.findRefreshToken(this.db, tokenHash);
    const now = this.clock();
    if (!state || state.familyRevokedAt !== null || state.userDisabled || Date.parse(state.familyExpiresAt) <= now) {
      throw new InvalidTokenError('The refresh token is invalid or has expired.');
    }
    const nowIso = new Date(now).toISOString();
    if (await repo.spendRefreshToken(this.db, tokenHash, nowIso)) return this.#pair(state.userId, state.familyId, now, amrOf(state.amr));

    const spentAt = Date.parse((await repo.findRefreshToken(this.db, tokenHash))?.spentAt ?? state.spentAt ?? nowIso);
    if (now - spentAt <= this.config.refreshReuseGraceSeconds * 1000) return this.#pair(state.userId, state.familyId, now, amrOf(state.amr));

    await this.revokeFamily(state.familyId, 'refresh_reuse');
    await recordAudit(this.db, { event: 'token_refresh_reuse', userId: state.userId, detail: { sid: state.familyId }, ...meta }, nowIso);
    throw new InvalidTokenError('The refresh token is invalid or has expired.');
  }

  /** RFC 7009: revoke a refresh token (its family) or an access token (its login). Unknown tokens are fine. */
  async revoke(token: string, meta: RequestMeta): Promise<void> {
    const state = await repo.findRefreshToken(this.db, sha256Hex(token));
    let familyId = state?.familyId ?? null;
    if (!familyId) {
      const claims = await this.#verifySignature(token);
      familyId = 'sid' in claims ? claims.sid : null;
    }
    if (!familyId) return;
    const revoked = await this.revokeFamily(familyId, 'revoked');
    if (revoked) await recordAudit(this.db, { event: 'token_revoked', userId: revoked.userId, detail: { sid: familyId }, ...meta }, new Date(this.clock()).toISOString());
  }

  async revokeFamily(familyId: string, reason: string): Promise<{ userId: number } | null> {
    const revoked = await repo.revokeFamily(this.db, familyId, reason, new Date(this.clock()).toISOString());
    this.#loginStates.delete(familyId);
    await this.bus.publish({ kind: 'family', familyId });
    return revoked;
  }

  async revokeAllForUser(userId: number, reason: string): Promise<void> {
    await repo.revokeFamiliesOfUser(this.db, userId, reason, new Date(this.clock()).toISOString());
    await this.bus.publish({ kind: 'user', userId });
  }

  /**
   * Delete expired logins, logins revoked over a day ago and refresh tokens spent over a day ago.
   * Meant for the same periodic sweep as expired sessions.
   */
  async deleteExpired(): Promise<{ families: number; tokens: number }> {
    const now = this.clock();
    return repo.deleteStale(this.db, new Date(now).toISOString(), new Date(now - STALE_AFTER_MS).toISOString());
  }

  /** The principal behind a bearer token, or why it is refused (anything not currently valid). */
  async verifyAccessToken(token: string): Promise<VerifiedAccess | TokenRefusal> {
    const claims = await this.#verifySignature(token);
    if ('refused' in claims) return claims;
    const state = await this.#loginState(claims.sid);
    if (!state || state.familyRevoked || String(state.user.id) !== claims.sub) return { refused: 'login_ended' };
    if (state.user.disabled) return { refused: 'user_disabled' };
    if (state.user.tokensValidAfter !== null && claims.iat < Math.floor(Date.parse(state.user.tokensValidAfter) / 1000)) return { refused: 'credentials_changed' };
    const { user } = state;
    return {
      principal: { id: user.id, username: user.username, email: user.email, emailVerified: user.emailVerified, role: user.role, createdAt: user.createdAt },
      authenticatedAt: state.authenticatedAt,
      sessionId: claims.sid,
      tokenId: claims.jti,
    };
  }

  /** Signature, algorithm, kid, typ, iss, aud and exp: everything a token proves on its own. */
  async #verifySignature(token: string): Promise<AccessClaims | TokenRefusal> {
    if (token.length > 4096) return { refused: 'malformed' };
    const cached = this.#verified.get(token);
    if (cached) {
      // The same expiry rule jose applies, and the signing key must not have retired since.
      if (cached.exp > Math.floor(this.clock() / 1000) - CLOCK_TOLERANCE_SECONDS && this.keys.isLive(cached.kid)) return cached;
      this.#verified.delete(token);
      return { refused: 'expired' };
    }
    try {
      const header = decodeProtectedHeader(token);
      if (typeof header.kid !== 'string' || typeof header.alg !== 'string' || !SUPPORTED_ALGORITHMS.includes(header.alg as never)) return { refused: 'malformed' };
      const key = await this.keys.verificationKey(header.kid, header.alg);
      if (!key) return { refused: 'unknown_key', detail: `kid ${header.kid.slice(0, 64)} is not one of this server's keys` };
      const { payload } = await jwtVerify(token, key, {
        algorithms: SUPPORTED_ALGORITHMS,
        issuer: this.#issuer,
        // RFC 9068: only access tokens, never another kind of JWT that might one day share these keys.
        typ: ACCESS_TOKEN_TYPE,
        ...(this.config.accessTokenAudience ? { audience: this.config.accessTokenAudience } : {}),
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: new Date(this.clock()),
        requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp'],
      });
      const { sub, sid, jti, iat, exp } = payload as { sub?: unknown; sid?: unknown; jti?: unknown; iat?: unknown; exp?: unknown };
      if (typeof sub !== 'string' || typeof sid !== 'string' || typeof jti !== 'string' || typeof iat !== 'number' || typeof exp !== 'number') return { refused: 'malformed' };
      const claims: AccessClaims = { sub, sid, jti, iat, exp, kid: header.kid };
      this.#verified.set(token, claims);
      if (this.#verified.size > VERIFIED_CACHE_MAX) {
        const oldest = this.#verified.keys().next().value;
        if (oldest !== undefined) this.#verified.delete(oldest);
      }
      return claims;
    } catch (error) {
      if (error instanceof joseErrors.JOSEError || error instanceof TypeError) return this.#refusal(token, error);
      throw error;
    }
  }

  /** What jose's error means for the log line; a foreign issuer is named, since it is a configuration mistake to fix. */
  #refusal(token: string, error: Error): TokenRefusal {
    if (error instanceof joseErrors.JWTExpired) return { refused: 'expired' };
    if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'iss') {
      let issuer = 'none';
      try {
        const { iss } = decodeJwt(token);
        if (typeof iss === 'string') issuer = iss.slice(0, 200);
      } catch {
        // Undecodable: reported as none.
      }
      return { refused: 'wrong_issuer', detail: `issued by ${issuer}; this server's PUBLIC_URL is ${this.#issuer}` };
    }
    if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'aud') return { refused: 'wrong_audience' };
    return { refused: error instanceof TypeError ? 'malformed' : 'invalid' };
  }

  async #loginState(familyId: string): Promise<LoginState | null> {
    const now = this.clock();
    const cached = this.#loginStates.get(familyId);
    if (cached && now - cached.loadedAt < LOGIN_STATE_TTL_MS) return cached.state;
    const state = await repo.findLoginState(this.db, familyId);
    if (state) {
      this.#loginStates.delete(familyId);
      this.#loginStates.set(familyId, { state, loadedAt: now });
      if (this.#loginStates.size > LOGIN_STATE_CACHE_MAX) {
        const oldest = this.#loginStates.keys().next().value;
        if (oldest !== undefined) this.#loginStates.delete(oldest);
      }
    }
    return state;
  }

  async #pair(userId: number, familyId: string, now: number, amr: readonly string[]): Promise<TokenPair> {
    const refreshToken = randomToken();
    await repo.insertRefreshToken(this.db, sha256Hex(refreshToken), familyId, new Date(now).toISOString());
    return {
      access_token: await this.#accessToken(userId, familyId, now, amr),
      refresh_token: refreshToken,
      token_type: 'Bearer',
      expires_in: this.config.accessTokenTtl,
    };
  }

  async #accessToken(userId: number, familyId: string, now: number, amr: readonly string[]): Promise<string> {
    const key = await this.keys.signingKey();
    const iat = Math.floor(now / 1000);
    let jwt = new SignJWT({ sid: familyId, amr: [...amr] })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYPE })
      .setIssuer(this.#issuer)
      .setSubject(String(userId))
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.config.accessTokenTtl)
      .setJti(randomUUID());
    if (this.config.accessTokenAudience) jwt = jwt.setAudience(this.config.accessTokenAudience);
    return jwt.sign(key.privateKey);
  }
}
