import { findUserById } from '../accounts/accounts.repo.js';
import { recordAudit } from '../audit/audit.repo.js';
import type { RequestMeta } from '../audit/request-meta.js';
import { NotFoundError } from '../errors.js';
import type { RevocationBus } from '../events/bus.js';
import type { Db } from '../storage/database.js';
import { isoNow } from '../storage/database.js';
import * as tokensRepo from '../tokens/tokens.repo.js';
import * as repo from './sessions.repo.js';
import type { SessionService } from './sessions.service.js';

/** One of a user's ways in: a browser session, or a token login (refresh family, `sid` of its access tokens). */
export interface SignIn {
  id: string;
  kind: 'browser' | 'token';
  createdAt: string;
  lastSeenAt: string;
  /** When it ends if unused. */
  expiresAt: string | null;
  ip: string | null;
  userAgent: string | null;
}

/** Who is acting: the user themself or an admin. */
export type SessionsActor = { kind: 'self'; meta: RequestMeta } | { kind: 'admin'; adminId: number; meta: RequestMeta };

export interface UserSessionsDeps {
  db: Db;
  clock: () => number;
  bus: RevocationBus;
  sessions: Pick<SessionService, 'revokeById'>;
}

/**
 * The sessions list: every live browser session and token login of a user, and ending them one
 * by one or all at once. Only public ids are ever listed (never a cookie, a token or a hash); an
 * ended one stops working at once on every instance (the bus empties every cache).
 */
export class UserSessionsService {
  constructor(private readonly deps: UserSessionsDeps) {}

  /** An admin's view of a user's sign-ins: 404 for an unknown user. */
  async listForAdmin(userId: number): Promise<SignIn[]> {
    await this.#assertUser(userId);
    return this.list(userId);
  }

  /** An admin ends every sign-in of a user without disabling them: 404 for an unknown user. */
  async revokeAllForAdmin(userId: number, actor: SessionsActor): Promise<number> {
    await this.#assertUser(userId);
    return this.revokeAll(userId, null, actor);
  }

  /** Newest first (by creation). */
  async list(userId: number): Promise<SignIn[]> {
    const now = isoNow(this.deps.clock);
    const [browser, token] = await Promise.all([repo.listLiveSessionsOfUser(this.deps.db, userId, now), tokensRepo.listLiveFamiliesOfUser(this.deps.db, userId, now)]);
    const items: SignIn[] = [...browser.map((s) => ({ ...s, kind: 'browser' as const })), ...token.map((f) => ({ ...f, kind: 'token' as const }))];
    return items.sort((a, b) => (a.createdAt === b.createdAt ? b.id.localeCompare(a.id) : b.createdAt.localeCompare(a.createdAt)));
  }

  /** End one sign-in of the user; null when it is not theirs, unknown or already ended. */
  async revoke(userId: number, id: string, actor: SessionsActor): Promise<'browser' | 'token' | null> {
    const { db, clock, bus } = this.deps;
    const now = isoNow(clock);
    let kind: 'browser' | 'token' | null = null;
    if (await this.deps.sessions.revokeById(userId, id)) {
      kind = 'browser';
    } else if (await tokensRepo.revokeFamilyOfUser(db, userId, id, actor.kind === 'admin' ? 'admin_revoked' : 'user_revoked', now)) {
      kind = 'token';
      await bus.publish({ kind: 'family', familyId: id });
    }
    if (kind) await this.#audit(userId, { id, kind }, actor, now);
    return kind;
  }

  /** End every sign-in of the user but `keepId` (the caller's own, or null for all); returns how many ended. */
  async revokeAll(userId: number, keepId: string | null, actor: SessionsActor): Promise<number> {
    const { db, clock, bus } = this.deps;
    const now = isoNow(clock);
    const hashes = await repo.deleteSessionsOfUserExcept(db, userId, keepId);
    const families = await tokensRepo.revokeFamiliesOfUserExcept(db, userId, keepId, actor.kind === 'admin' ? 'admin_revoked' : 'user_revoked', now);
    for (const tokenHash of hashes) await bus.publish({ kind: 'session', tokenHash });
    for (const familyId of families) await bus.publish({ kind: 'family', familyId });
    const revoked = hashes.length + families.length;
    if (revoked > 0) await this.#audit(userId, { count: revoked }, actor, now);
    return revoked;
  }

  async #assertUser(userId: number): Promise<void> {
    if (!(await findUserById(this.deps.db, userId))) throw new NotFoundError('No such user.');
  }

  async #audit(userId: number, detail: Record<string, string | number>, actor: SessionsActor, now: string): Promise<void> {
    const by = actor.kind === 'admin' ? { actorId: actor.adminId } : { actorId: userId };
    await recordAudit(this.deps.db, { event: 'session_revoked', userId, ...by, detail: { ...detail, by: actor.kind }, ...actor.meta }, now);
  }
}
