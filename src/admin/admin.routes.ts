import { Type } from 'typebox';
import { adminUserJson } from '../accounts/user-json.js';
import { AUDIT_EVENTS } from '../audit/audit.repo.js';
import type { RoutePlugin } from '../server/http.js';
import { resourceId } from '../server/path-id.js';
import { principal } from '../server/plugins/auth.js';
import { requestMeta } from '../server/request-meta.js';
import { AdminUserRef, errorResponses, PageQuery } from '../server/schemas.js';
import type { AdminService } from './admin.service.js';
import { userPatch } from './admin.service.js';


const UsersQuery = Type.Object({
  q: Type.Optional(Type.String({ maxLength: 254, description: 'Only users whose username or email contains this text (case-insensitive)' })),
  ...PageQuery,
});
const UsersPage = Type.Object({
  items: Type.Array(AdminUserRef, { description: 'Oldest account first' }),
  total: Type.Integer({ description: 'How many users match, on all pages' }),
  page: Type.Integer(),
  limit: Type.Integer(),
});
const UserParams = Type.Object({ id: Type.String({ description: 'User id (a positive integer)' }) });
const UserPatchBody = Type.Object(
  {
    role: Type.Optional(Type.Union([Type.Literal('user'), Type.Literal('admin')])),
    disabled: Type.Optional(Type.Boolean({ description: 'true ends every session and token of the user at once' })),
  },
  { description: 'At least one of role and disabled' },
);

const AuditQuery = Type.Object({
  user_id: Type.Optional(Type.Integer({ minimum: 1, description: 'Only events about this user' })),
  event: Type.Optional(Type.Union(AUDIT_EVENTS.map((name) => Type.Literal(name)), { description: 'Only events of this kind' })),
  ...PageQuery,
});
const AuditEvent = Type.Object({
  id: Type.Integer(),
  occurred_at: Type.String({ format: 'date-time' }),
  event: Type.String(),
  user_id: Type.Union([Type.Integer(), Type.Null()], { description: 'The user the event is about (kept after the user is deleted)' }),
  username: Type.Union([Type.String(), Type.Null()], { description: 'Copied in when the event was written' }),
  actor_id: Type.Union([Type.Integer(), Type.Null()], { description: 'The admin who acted, for admin changes' }),
  ip: Type.Union([Type.String(), Type.Null()]),
  user_agent: Type.Union([Type.String(), Type.Null()]),
  detail: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()], { description: 'Event-specific; never a password or token' }),
});
const AuditPage = Type.Object({
  items: Type.Array(AuditEvent, { description: 'Newest first' }),
  total: Type.Integer(),
  page: Type.Integer(),
  limit: Type.Integer(),
});

const security: Array<Record<string, string[]>> = [{ bearer: [] }, { session: [] }];
const tags = ['admin'];
const config = { access: 'admin' as const };

/** The admin API: users (list, role, disable) and the audit log. Every route needs the admin role. */
export const adminRoutes: RoutePlugin<{ admin: AdminService }> = async (app, { admin }) => {
  app.get(
    '/api/admin/users',
    {
      config,
      schema: {
        summary: 'Every user, oldest account first, a page at a time (admins only)',
        tags,
        security,
        querystring: UsersQuery,
        response: { 200: UsersPage, ...errorResponses(401, 403, 422) },
      },
    },
    async (request) => {
      const query = request.query;
      const page = await admin.listUsers({ q: query.q, limit: query.limit ?? 20, page: query.page ?? 1 });
      return { ...page, items: page.items.map(adminUserJson) };
    },
  );

  app.patch(
    '/api/admin/users/:id',
    {
      config,
      schema: {
        summary: "Change a user's role or disable / re-enable them (admins only)",
        description:
          'A role change applies from the next request. Disabling ends all their sessions and tokens at once. Demoting or disabling the last active admin is 409 `last_admin`.',
        tags,
        security,
        params: UserParams,
        body: UserPatchBody,
        response: { 200: AdminUserRef, ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422) },
      },
    },
    async (request) => {
      // The contract's order: a bad body (422) is reported before an unknown id (404).
      const patch = userPatch(request.body);
      const userId = resourceId(request.params.id);
      const actor = { id: principal(request).id, meta: requestMeta(request) };
      return adminUserJson(await admin.changeUser(actor, userId, patch));
    },
  );

  app.get(
    '/api/admin/audit',
    {
      config,
      schema: {
        summary: 'The audit log of security events, newest first (admins only)',
        tags,
        security,
        querystring: AuditQuery,
        response: { 200: AuditPage, ...errorResponses(401, 403, 422) },
      },
    },
    async (request) => {
      const query = request.query;
      return admin.listAuditEvents({ userId: query.user_id, event: query.event, limit: query.limit ?? 20, page: query.page ?? 1 });
    },
  );
};
