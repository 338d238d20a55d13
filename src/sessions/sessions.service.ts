import { randomUUID } from 'node:crypto';
import type { Config } from '../config.js';
import type { RevocationBus } from '../events.js';
import type { Db } from '../storage/database.js';
import * as repo from './sessions.repo.js';
import type { SessionWithUser } from './sessions.repo.js';
import { constantTimeEqual, randomToken, sha256Hex } from './tokens.js';

/** "Last seen" is written at most this often per session, so a check is a read, not a write. */
const TOUCH_INTERVAL_MS = 60_000;

export interface NewSession {
  /** The cookie value. Shown once, never stored. */
  token: string;
  csrfToken: string;
  id: string;
  persistent: boolean;
  expiresAt: string;
}

export type ValidSession = SessionWithUser;

/**
 * Browser sessions: an opaque 256-bit token in the cookie, its SHA-256 in the database.
 */
export class SessionService {
  constructor(
    private readonly db: Db,
    private readonly config: Pick<Config, 'sessionIdleTimeout' | 'sessionMaxAge' | 'maxSessionsPerUser'>,
    private readonly clock: () => number,
    private readonly bus: RevocationBus,
  ) {}

  async create(userId: number, options: { remember: boolean; ip: string | null; userAgent: string | null }): Promise<NewSession> {
    const token = randomToken();
    const csrfToken = randomToken();
    const now = this.clock();
    const expiresAt = new Date(now + this.config.sessionMaxAge * 1000).toISOString();
    const id = randomUUID();
    await repo.insertSession(this.db, {
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
    });
    await repo.trimSessionsOfUser(this.db, userId, this.config.maxSessionsPerUser);
    return { token, csrfToken, id, persistent: options.remember, expiresAt };
  }

  /** The live session behind a cookie value, or null when it is unknown, expired, or its user is disabled. */
  async validate(token: string): Promise<ValidSession | null> {
    if (token.length < 16 || token.length > 128) return null;
    const session = await repo.findSessionByTokenHash(this.db, sha256Hex(token));
    if (!session) return null;
    const now = this.clock();
    if (Date.parse(session.expiresAt) <= now || Date.parse(session.idleExpiresAt) <= now || session.user.disabled) return null;
    if (now - Date.parse(session.lastSeenAt) >= TOUCH_INTERVAL_MS) {
      const idleExpiresAt = this.#idleExpiry(now);
      await repo.touchSession(this.db, session.id, new Date(now).toISOString(), idleExpiresAt);
      session.lastSeenAt = new Date(now).toISOString();
      session.idleExpiresAt = idleExpiresAt;
    }
    return session;
  }

  /** True when `csrfToken` is the one bound to this session. */
  csrfMatches(session: ValidSession, csrfToken: string): boolean {
    return constantTimeEqual(sha256Hex(csrfToken), session.csrfHash);
  }

  /** Delete the session behind a cookie value; a replayed cookie then fails everywhere. */
  async revoke(token: string): Promise<{ id: string; userId: number } | null> {
    const tokenHash = sha256Hex(token);
    const deleted = await repo.deleteSessionByTokenHash(this.db, tokenHash);
    await this.bus.publish({ kind: 'session', tokenHash });
    return deleted;
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
