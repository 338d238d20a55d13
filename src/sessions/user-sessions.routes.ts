import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Config } from '../config.js';
import { NotFoundError } from '../errors.js';
import { clearSessionCookies } from '../server/cookies.js';
import type { RoutePlugin } from '../server/http.js';
import { resourceId } from '../server/path-id.js';
import { principal } from '../server/plugins/auth.js';
import { requestMeta } from '../server/request-meta.js';
import { errorResponses } from '../server/schemas.js';
import type { SignIn, UserSessionsService } from './user-sessions.service.js';

const Timestamp = Type.String({ format: 'date-time' });
const SignInFields = {
  id: Type.String({ description: 'The public id: a browser session\'s, or a token login\'s (its access tokens\' `sid`). Never derived from a cookie or token.' }),
  kind: Type.Union([Type.Literal('browser'), Type.Literal('token')]),
  created_at: Timestamp,
  last_seen_at: Type.String({ format: 'date-time', description: 'Browser: last request (written at most once a minute). Token: the latest refresh.' }),
  expires_at: Type.Union([Timestamp, Type.Null()], { description: 'When it ends if unused' }),
  ip: Type.Union([Type.String(), Type.Null()]),
  user_agent: Type.Union([Type.String(), Type.Null()]),
};
const OwnSignIn = Type.Object({ ...SignInFields, current: Type.Boolean({ description: 'The sign-in this request came with' }) });
const AdminSignIn = Type.Object(SignInFields);
const SessionParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const UserParams = Type.Object({ id: Type.String({ description: 'User id (a positive integer)' }) });
const Revoked = Type.Object({ revoked: Type.Integer({ description: 'How many browser sessions and token logins ended' }) });

function signInJson(item: SignIn) {
  return {
    id: item.id,
    kind: item.kind,
    created_at: item.createdAt,
    last_seen_at: item.lastSeenAt,
    expires_at: item.expiresAt,
    ip: item.ip,
    user_agent: item.userAgent,
  };
}

/** The sign-in this request came with: its browser session, or the token login of its bearer token. */
function currentSignIn(request: FastifyRequest): string | null {
  const auth = request.auth;
  if (!auth) return null;
  return auth.via === 'session' ? auth.session.id : auth.sessionId;
}

export interface UserSessionsRoutesOptions {
  config: Pick<Config, 'cookieSecure'>;
  userSessions: UserSessionsService;
}

/** GET/DELETE /api/me/sessions (a user's own) and /api/admin/users/:id/sessions (an admin's view). */
export const userSessionsRoutes: RoutePlugin<UserSessionsRoutesOptions> = async (app, { config, userSessions }) => {
  const security: Array<Record<string, string[]>> = [{ bearer: [] }, { session: [] }];

  app.get(
    '/api/me/sessions',
    {
      schema: {
        summary: 'Where you are signed in: your browser sessions and token logins, newest first',
        tags: ['sessions'],
        security,
        response: { 200: Type.Object({ items: Type.Array(OwnSignIn) }), ...errorResponses(401) },
      },
    },
    async (request) => {
      const current = currentSignIn(request);
      const items = await userSessions.list(principal(request).id);
      return { items: items.map((item) => ({ ...signInJson(item), current: item.id === current })) };
    },
  );

  app.delete(
    '/api/me/sessions/:id',
    {
      schema: {
        summary: 'Sign out one of your sessions or token logins (your current one: a logout)',
        tags: ['sessions'],
        security,
        params: SessionParams,
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const ended = await userSessions.revoke(principal(request).id, id, { kind: 'self', meta: requestMeta(request) });
      if (!ended) throw new NotFoundError('No such session.');
      if (request.auth?.via === 'session' && request.auth.session.id === id) clearSessionCookies(request, reply, config);
      return reply.status(204).send(null);
    },
  );

  app.delete(
    '/api/me/sessions',
    {
      schema: {
        summary: 'Sign out everywhere else: every session and token login but the current one',
        tags: ['sessions'],
        security,
        response: { 200: Revoked, ...errorResponses(401, 403) },
      },
    },
    async (request) => ({ revoked: await userSessions.revokeAll(principal(request).id, currentSignIn(request), { kind: 'self', meta: requestMeta(request) }) }),
  );

  app.get(
    '/api/admin/users/:id/sessions',
    {
      config: { access: 'admin' },
      schema: {
        summary: "A user's browser sessions and token logins, newest first (admins only)",
        tags: ['admin'],
        security,
        params: UserParams,
        response: { 200: Type.Object({ items: Type.Array(AdminSignIn) }), ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => ({ items: (await userSessions.listForAdmin(resourceId(request.params.id))).map(signInJson) }),
  );

  app.delete(
    '/api/admin/users/:id/sessions',
    {
      config: { access: 'admin' },
      schema: {
        summary: "End every session and token login of a user, without disabling them (admins only)",
        tags: ['admin'],
        security,
        params: UserParams,
        response: { 200: Revoked, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const actor = { kind: 'admin' as const, adminId: principal(request).id, meta: requestMeta(request) };
      return { revoked: await userSessions.revokeAllForAdmin(resourceId(request.params.id), actor) };
    },
  );
};
