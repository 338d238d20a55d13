import { randomUUID } from 'node:crypto';
import { insertBehindEpoch } from '../accounts/login-subject.js';
import type { LoginSubject } from '../accounts/login-subject.js';
import type { Config } from '../config.js';
import type { RevocationBus } from '../events/bus.js';
import type { Db } from '../storage/database.js';
import * as repo from './sessions.repo.js';
import type { SessionWithUser } from './sessions.repo.js';
import { constantTimeEqual, randomToken, sha256Hex } from './tokens.js';

/** "Last seen" is written at most this often per session, so a check is a read, not a write. */
const TOUCH_INTERVAL_MS = 60_000;
/**
 * How long an instance may answer from memory for a session it has read. Revocation on this
 * instance (and, with Redis, on every instance) drops the entry at once; without Redis another
 * instance's logout reaches this one within this bound.
 */
export const SESSION_CACHE_TTL_MS = 1_000;
const SESSION_CACHE_MAX = 100_000;

export interface NewSession {
  /** The cookie value. Shown once, never stored. */
  token: string;
  csrfToken: string;
  id: string;
  persistent: boolean;
  expiresAt: string;
}

export type ValidSession = SessionWithUser;

/** A session read from the database, with its times parsed once rather than on every check. */
interface CacheEntry {
  session: ValidSession;
  loadedAt: number;
  expiresAtMs: number;
  idleExpiresAtMs: number;
  lastSeenAtMs: number;
}

/**
 * Browser sessions: an opaque 256-bit token in the cookie, its SHA-256 in the database.
 */
export class SessionService {
  readonly #cache = new Map<string, CacheEntry>();

  constructor(
    private readonly db: Db,
    private readonly config: Pick<Config, 'sessionIdleTimeout' | 'sessionMaxAge' | 'maxSessionsPerUser'>,
    private readonly clock: () => number,
    private readonly bus: RevocationBus,
  ) {
    bus.subscribe((event) => {
      if (event.kind === 'session') this.#cache.delete(event.tokenHash);
      if (event.kind === 'user') {
        for (const [tokenHash, entry] of this.#cache) if (entry.session.userId === event.userId) this.#cache.delete(tokenHash);
      }
    });
  }

  /**
   * Start a session for a user whose credentials were just checked. `credentialEpoch` is the one
   * read with the password hash: if a password change or a disable committed since, the session
   * is not stored and the answer is null (the login fails as if the password had been wrong).
   */
  async create(user: LoginSubject, options: { remember: boolean; ip: string | null; userAgent: string | null; amr?: readonly string[] }): Promise<NewSession | null> {
    const userId = user.id;
    const token = randomToken();
    const csrfToken = randomToken();
    const now = this.clock();
    const expiresAt = new Date(now + this.config.sessionMaxAge * 1000).toISOString();
    const id = randomUUID();
    const stored = await insertBehindEpoch(this.db, user, (trx) => repo.insertSession(trx, {
      id,
      token_hash: sha256Hex(token),
      csrf_hash: sha256Hex(csrfToken),
      user_id: userId,
      persistent: options.remember,
      created_at: new Date(now).toISOString(),
      last_seen_at: new Date(now).toISOString(),
      idle_expires_at: this.#idleExpiry(now),
      expires_at: expiresAt,
      ip: options.ip,
      user_agent: options.userAgent?.slice(0, 512) ?? null,
      amr: (options.amr ?? ['pwd']).join(' '),
    }));
    if (!stored) return null;
    // Ended like a logout: dropped from every instance's cache, not left to live out its cache time.
    for (const tokenHash of await repo.trimSessionsOfUser(this.db, userId, this.config.maxSessionsPerUser)) {
      this.#cache.delete(tokenHash);
      await this.bus.publish({ kind: 'session', tokenHash });
    }
    return { token, csrfToken, id, persistent: options.remember, expiresAt };
  }

  /** The live session behind a cookie value, or null when it is unknown, expired, or its user is disabled. */
  async validate(token: string): Promise<ValidSession | null> {
    if (token.length < 16 || token.length > 128) return null;
    const tokenHash = sha256Hex(token);
    const now = this.clock();
    const entry = this.#cache.get(tokenHash);
    const loaded = entry && now - entry.loadedAt < SESSION_CACHE_TTL_MS ? entry : await this.#load(tokenHash, now);
    if (!loaded) return null;
    const { session } = loaded;
    if (loaded.expiresAtMs <= now || loaded.idleExpiresAtMs <= now || session.user.disabled) return null;
    if (now - loaded.lastSeenAtMs >= TOUCH_INTERVAL_MS) {
      const idleExpiresAt = this.#idleExpiry(now);
      await repo.touchSession(this.db, session.id, new Date(now).toISOString(), idleExpiresAt);
      session.lastSeenAt = new Date(now).toISOString();
      session.idleExpiresAt = idleExpiresAt;
      loaded.lastSeenAtMs = now;
      loaded.idleExpiresAtMs = Date.parse(idleExpiresAt);
    }
    return session;
  }

  async #load(tokenHash: string, now: number): Promise<CacheEntry | null> {
    const session = await repo.findSessionByTokenHash(this.db, tokenHash);
    this.#cache.delete(tokenHash);
    if (!session) return null;
    const entry: CacheEntry = {
      session,
      loadedAt: now,
      expiresAtMs: Date.parse(session.expiresAt),
      idleExpiresAtMs: Date.parse(session.idleExpiresAt),
      lastSeenAtMs: Date.parse(session.lastSeenAt),
    };
    this.#cache.set(tokenHash, entry);
    if (this.#cache.size > SESSION_CACHE_MAX) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    return entry;
  }

  /** True when `csrfToken` is the one bound to this session. */
  csrfMatches(session: ValidSession, csrfToken: string): boolean {
    return constantTimeEqual(sha256Hex(csrfToken), session.csrfHash);
  }

  /** Delete the session behind a cookie value; a replayed cookie then fails everywhere. */
  async revoke(token: string): Promise<{ id: string; userId: number } | null> {
    const tokenHash = sha256Hex(token);
    this.#cache.delete(tokenHash);
    const deleted = await repo.deleteSessionByTokenHash(this.db, tokenHash);
    await this.bus.publish({ kind: 'session', tokenHash });
    return deleted;
  }

  /** End one session of a user by its public id (a session rotated by a password change). */
  async revokeById(userId: number, id: string): Promise<boolean> {
    const deleted = await repo.deleteSessionOfUser(this.db, userId, id);
    if (!deleted) return false;
    this.#cache.delete(deleted.tokenHash);
    await this.bus.publish({ kind: 'session', tokenHash: deleted.tokenHash });
    return true;
  }

  async revokeAllForUser(userId: number): Promise<number> {
    const count = await repo.deleteSessionsOfUser(this.db, userId);
    await this.bus.publish({ kind: 'user', userId });
    return count;
  }

  async deleteExpired(): Promise<number> {
    return repo.deleteExpiredSessions(this.db, new Date(this.clock()).toISOString());
  }

  #idleExpiry(now: number): string {
    return new Date(now + this.config.sessionIdleTimeout * 1000).toISOString();
  }
}
