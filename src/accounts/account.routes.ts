import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Config } from '../config.js';
import { UnauthenticatedError, ValidationError } from '../errors.js';
import { setSessionCookies } from '../server/cookies.js';
import type { RoutePlugin } from '../server/http.js';
import { principal } from '../server/plugins/auth.js';
import { requestMeta } from '../server/request-meta.js';
import { errorResponses, UserRef } from '../server/schemas.js';
import type { AccountService } from './accounts.service.js';
import type { RecentAuthService, SignInRef } from './recent-auth.service.js';
import { userJson } from './user-json.js';

const Text = (max: number) => Type.String({ maxLength: max });

const ReauthenticateBody = Type.Object({
  password: Type.Optional(Text(1024)),
});
const PasswordChangeBody = Type.Object({
  current_password: Text(1024),
  password: Text(1024),
  password_confirmation: Type.Optional(Text(1024)),
});

/** The sign-in a request came with, and when it last proved its user. */
function signInOf(request: FastifyRequest): SignInRef {
  const auth = request.auth;
  if (!auth) throw new UnauthenticatedError();
  return auth.via === 'session'
    ? { kind: 'browser', id: auth.session.id, authenticatedAt: auth.session.authenticatedAt }
    : { kind: 'token', id: auth.sessionId, authenticatedAt: auth.authenticatedAt };
}

/** The body as parsed, before validation: what the recent-authentication step reads. */
function rawField(request: FastifyRequest, name: string): unknown {
  const body = request.body;
  return body !== null && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
}

export interface AccountRoutesOptions {
  config: Pick<Config, 'cookieSecure' | 'sessionMaxAge'>;
  accounts: AccountService;
  recentAuth: RecentAuthService;
}

/** The signed-in user's own account: re-authentication and the password change. */
export const accountRoutes: RoutePlugin<AccountRoutesOptions> = async (app, { config, accounts, recentAuth }) => {
  const security: Array<Record<string, string[]>> = [{ bearer: [] }, { session: [] }];

  app.post(
    '/api/me/reauthenticate',
    {
      schema: {
        summary: 'Prove it is you again: this session or token login may then change the account for REAUTH_MAX_AGE',
        tags: ['account'],
        security,
        body: ReauthenticateBody,
        response: { 200: Type.Object({ reauthenticated_until: Type.String({ format: 'date-time' }) }), ...errorResponses(400, 401, 403, 413, 415, 422, 429, 503) },
      },
    },
    async (request) => {
      const { reauthenticatedUntil } = await recentAuth.reauthenticate(principal(request).id, signInOf(request), request.body.password, requestMeta(request));
      return { reauthenticated_until: reauthenticatedUntil };
    },
  );

  app.post(
    '/api/me/password',
    {
      // The contract's order: current_password is checked at the recent-authentication step,
      // after the body is read and before the new password's rules (validation).
      preValidation: async (request) => {
        const current = rawField(request, 'current_password');
        if (current === undefined) throw new ValidationError({ current_password: 'Enter your current password.' });
        await recentAuth.requireRecent(principal(request).id, signInOf(request), current, requestMeta(request));
      },
      schema: {
        summary: 'Change your password: every other session and token login ends, yours stays',
        description: 'A browser session gets a new id and CSRF token (new cookies; the old cookie stops working).',
        tags: ['account'],
        security,
        body: PasswordChangeBody,
        response: { 200: UserRef, ...errorResponses(400, 401, 403, 413, 415, 422, 429, 503) },
      },
    },
    async (request, reply) => {
      const { password, password_confirmation: confirmation } = request.body;
      if (confirmation !== undefined && confirmation !== password) throw new ValidationError({ password_confirmation: 'Passwords do not match.' });
      const signIn = signInOf(request);
      const persistent = request.auth?.via === 'session' ? request.auth.session.persistent : false;
      const { user, session } = await accounts.changePassword(principal(request).id, password, { kind: signIn.kind, id: signIn.id, persistent }, requestMeta(request));
      if (session) setSessionCookies(request, reply, config, session);
      return userJson(user);
    },
  );
};
