import type { UserRecord } from '../accounts/accounts.repo.js';
import * as accounts from '../accounts/accounts.repo.js';
import type { AccountService, SignUpInput } from '../accounts/accounts.service.js';
import type { Role } from '../accounts/accounts.table.js';
import type { AuditQuery, AuditRecord } from '../audit/audit.repo.js';
import { listAudit } from '../audit/audit.repo.js';
import type { RequestMeta } from '../audit/request-meta.js';
import { NotFoundError, ValidationError } from '../errors.js';
import type { Mailer } from '../mail/mailer.js';
import type { MfaService } from '../mfa/mfa.service.js';
import type { Db } from '../storage/database.js';
import { isoNow } from '../storage/database.js';
import { dashboardCounts } from './dashboard.repo.js';
import type { DashboardCounts } from './dashboard.repo.js';

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  limit: number;
}

export interface UserPatch {
  role?: Role;
  disabled?: boolean;
}

/** The fields of an admin's change that were sent; at least one must be. */
export function userPatch(body: { role?: Role | undefined; disabled?: boolean | undefined }): UserPatch {
  if (body.role === undefined && body.disabled === undefined) throw new ValidationError({ body: 'Send role, disabled or both.' });
  return { ...(body.role !== undefined ? { role: body.role } : {}), ...(body.disabled !== undefined ? { disabled: body.disabled } : {}) };
}

export interface AdminServiceDeps {
  db: Db;
  clock: () => number;
  accounts: Pick<AccountService, 'updateAccount' | 'signUp'>;
  mfa: Pick<MfaService, 'status'>;
  mailer: Pick<Mailer, 'stats'>;
}

/** One user as the console shows them: the record and their second factors. */
export interface UserDetail {
  user: UserRecord;
  factors: { totp: boolean; recoveryCodesLeft: number; passkeys: number };
}

/** The dashboard: the database's counts, and this process's mail queue. */
export interface Dashboard extends DashboardCounts {
  at: string;
  since: string;
  mailQueue: number;
}

const HOUR_MS = 3600_000;

/** What the admin API does: list, read and create users, change a user's role or disabled flag, read the audit log, the dashboard. */
export class AdminService {
  constructor(private readonly deps: AdminServiceDeps) {}

  /** Every user, oldest account first; `q` matches username or email case-insensitively anywhere. */
  async listUsers(query: { q?: string | undefined; limit: number; page: number }): Promise<Page<UserRecord>> {
    const q = query.q?.trim() || undefined;
    const { items, total } = await accounts.listUsers(this.deps.db, { ...(q ? { q } : {}), limit: query.limit, page: query.page });
    return { items, total, page: query.page, limit: query.limit };
  }

  /**
   * Change a user's role and/or disabled flag on behalf of an admin. Disabling ends the user's
   * sessions and token families at once; the last active admin cannot be demoted or disabled
   * (409 `last_admin`); an unknown id is 404.
   */
  async changeUser(actor: { id: number; meta: RequestMeta }, userId: number, patch: UserPatch): Promise<UserRecord> {
    return this.deps.accounts.updateAccount(userId, userPatch(patch), actor);
  }

  /** One user with their factors; 404 for an unknown id. */
  async getUser(userId: number): Promise<UserDetail> {
    const user = await accounts.findUserById(this.deps.db, userId);
    if (!user) throw new NotFoundError();
    return { user, factors: await this.deps.mfa.status(userId) };
  }

  /**
   * An account made by an admin, with the password they chose (the user changes it after the
   * first sign-in): the signup's rules, the address taken as verified, audited with the admin.
   */
  createUser(actor: { id: number; meta: RequestMeta }, input: SignUpInput, role: Role): Promise<UserRecord> {
    return this.deps.accounts.signUp(input, actor.meta, role, { byAdmin: actor.id });
  }

  /** The numbers an operator watches: users, live sign-ins, the last hour's logins and locked accounts, the mail queue. */
  async dashboard(): Promise<Dashboard> {
    const now = this.deps.clock();
    const at = isoNow(() => now);
    const since = isoNow(() => now - HOUR_MS);
    return { ...(await dashboardCounts(this.deps.db, at, since)), at, since, mailQueue: this.deps.mailer.stats.queued };
  }

  /** Security events, newest first. */
  async listAuditEvents(query: AuditQuery): Promise<Page<AuditRecord>> {
    const { items, total } = await listAudit(this.deps.db, query);
    return { items, total, page: query.page, limit: query.limit };
  }
}
