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

const Role = Type.Union([Type.Literal('user'), Type.Literal('admin')]);
const NewUserBody = Type.Object({
  username: Type.String({ maxLength: 1024, description: 'As at signup: 3–32 letters, digits, "_", "." or "-"' }),
  email: Type.Optional(Type.Union([Type.String({ maxLength: 1024 }), Type.Null()], { description: 'Stored verified: the admin vouches for it' })),
  password: Type.String({ maxLength: 1024, description: "The first password, as at signup's rules; tell the user to change it" }),
  role: Type.Optional(Role),
});
const UserDetail = Type.Object({
  user: AdminUserRef,
  factors: Type.Object({
    totp: Type.Boolean({ description: 'Two-step verification with an authenticator app is on' }),
    recovery_codes_left: Type.Integer(),
    passkeys: Type.Integer(),
  }),
});
const Count = Type.Integer({ minimum: 0 });
const Dashboard = Type.Object({
  at: Type.String({ format: 'date-time', description: 'When these numbers were taken' }),
  users: Type.Object({ total: Count, admins: Count, disabled: Count }),
  signed_in: Type.Object({ browser_sessions: Count, token_logins: Count }, { description: 'Live sign-ins now' }),
  last_hour: Type.Object(
    {
      since: Type.String({ format: 'date-time' }),
      logins_succeeded: Count,
      logins_failed: Count,
      locked_accounts: Type.Integer({ minimum: 0, description: 'Accounts a login was refused for by LOGIN_FAILURES_PER_ACCOUNT (login_throttled)' }),
    },
    { description: 'From the audit log' },
  ),
  mail_queue: Type.Integer({ minimum: 0, description: 'Mails waiting in the instance that answered (each instance has its own queue)' }),
});

const AuditQuery = Type.Object({
  user_id: Type.Optional(Type.Integer({ minimum: 1, description: 'Only events about this user' })),
  event: Type.Optional(Type.Union(AUDIT_EVENTS.map((name) => Type.Literal(name)), { description: 'Only events of this kind' })),
  since: Type.Optional(Type.String({ format: 'date-time', description: 'Only events at or after this time' })),
  until: Type.Optional(Type.String({ format: 'date-time', description: 'Only events before this time' })),
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

/** The admin API: users (list, read, create, role, disable), the audit log and the dashboard. Every route needs the admin role. */
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

  app.post(
    '/api/admin/users',
    {
      config,
      schema: {
        summary: 'Create a user with a first password (admins only)',
        description: "The signup's rules apply (422, 409 `username_taken` / `email_taken`). The address is stored verified. Audited as `user_created` with the admin as actor.",
        tags,
        security,
        body: NewUserBody,
        response: { 201: AdminUserRef, ...errorResponses(400, 401, 403, 409, 413, 415, 422) },
      },
    },
    async (request, reply) => {
      const { username, email, password, role } = request.body;
      const actor = { id: principal(request).id, meta: requestMeta(request) };
      const user = await admin.createUser(actor, { username, email: email ?? null, password }, role ?? 'user');
      return reply.status(201).send(adminUserJson(user));
    },
  );

  app.get(
    '/api/admin/users/:id',
    {
      config,
      schema: {
        summary: 'One user, with their second factors (admins only)',
        tags,
        security,
        params: UserParams,
        response: { 200: UserDetail, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const { user, factors } = await admin.getUser(resourceId(request.params.id));
      return { user: adminUserJson(user), factors: { totp: factors.totp, recovery_codes_left: factors.recoveryCodesLeft, passkeys: factors.passkeys } };
    },
  );

  app.get(
    '/api/admin/dashboard',
    {
      config,
      schema: {
        summary: 'The numbers an operator watches: users, live sign-ins, the last hour of logins, locked accounts, the mail queue (admins only)',
        tags,
        security,
        response: { 200: Dashboard, ...errorResponses(401, 403) },
      },
    },
    async () => {
      const d = await admin.dashboard();
      return {
        at: d.at,
        users: { total: d.users, admins: d.admins, disabled: d.disabled },
        signed_in: { browser_sessions: d.browserSessions, token_logins: d.tokenLogins },
        last_hour: { since: d.since, logins_succeeded: d.loginsSucceeded, logins_failed: d.loginsFailed, locked_accounts: d.accountsThrottled },
        mail_queue: d.mailQueue,
      };
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
      const instant = (value: string | undefined) => (value === undefined ? undefined : new Date(value).toISOString());
      return admin.listAuditEvents({ userId: query.user_id, event: query.event, since: instant(query.since), until: instant(query.until), limit: query.limit ?? 20, page: query.page ?? 1 });
    },
  );
};
