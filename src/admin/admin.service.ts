import type { UserRecord } from '../accounts/accounts.repo.js';
import * as accounts from '../accounts/accounts.repo.js';
import type { AccountService } from '../accounts/accounts.service.js';
import type { Role } from '../accounts/accounts.table.js';
import type { AuditQuery, AuditRecord } from '../audit/audit.repo.js';
import { listAudit } from '../audit/audit.repo.js';
import type { RequestMeta } from '../audit/request-meta.js';
import { ValidationError } from '../errors.js';
import type { Db } from '../storage/database.js';

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
  accounts: Pick<AccountService, 'updateAccount'>;
}

/** What the admin API does: list users, change a user's role or disabled flag, read the audit log. */
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

  /** Security events, newest first. */
  async listAuditEvents(query: AuditQuery): Promise<Page<AuditRecord>> {
    const { items, total } = await listAudit(this.deps.db, query);
    return { items, total, page: query.page, limit: query.limit };
  }
}
