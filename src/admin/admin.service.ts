import type { UserRecord } from '../accounts/accounts.repo.js';
import * as accounts from '../accounts/accounts.repo.js';
import { updateAccount } from '../accounts/accounts.service.js';
import type { Role } from '../accounts/accounts.table.js';
import type { AuditQuery, AuditRecord } from '../audit/audit.repo.js';
import { listAudit } from '../audit/audit.repo.js';
import type { AppContext, RequestMeta } from '../context.js';
import { ValidationError } from '../errors.js';

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  limit: number;
}

/** Every user, oldest account first; `q` matches username or email case-insensitively anywhere. */
export async function listUsers(ctx: AppContext, query: { q?: string | undefined; limit: number; page: number }): Promise<Page<UserRecord>> {
  const q = query.q?.trim() || undefined;
  const { items, total } = await accounts.listUsers(ctx.db, { ...(q ? { q } : {}), limit: query.limit, page: query.page });
  return { items, total, page: query.page, limit: query.limit };
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

/**
 * Change a user's role and/or disabled flag on behalf of an admin. Disabling ends the user's
 * sessions and token families at once; the last active admin cannot be demoted or disabled
 * (409 `last_admin`); an unknown id is 404.
 */
export async function changeUser(
  ctx: AppContext,
  actor: { id: number; meta: RequestMeta },
  userId: number,
  patch: UserPatch,
): Promise<UserRecord> {
  return updateAccount(ctx, userId, userPatch(patch), actor);
}

/** Security events, newest first. */
export async function listAuditEvents(ctx: AppContext, query: AuditQuery): Promise<Page<AuditRecord>> {
  const { items, total } = await listAudit(ctx.db, query);
  return { items, total, page: query.page, limit: query.limit };
}
