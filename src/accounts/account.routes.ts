import { Type } from 'typebox';
import type { Config } from '../config.js';
import { ValidationError } from '../errors.js';
import { clearSessionCookies, setSessionCookies } from '../server/cookies.js';
import type { RoutePlugin } from '../server/http.js';
import { resourceId } from '../server/path-id.js';
import { principal } from '../server/plugins/auth.js';
import { RECENT_NOTE, rawField, recentDeleteSchema, recentDeleteStep, recentStep, signInOf } from '../server/recent-auth.js';
import { requestMeta } from '../server/request-meta.js';
import { errorResponses, UserRef } from '../server/schemas.js';
import type { AccountService } from './accounts.service.js';
import type { EmailService } from './email.service.js';
import type { RecentAuthService } from './recent-auth.service.js';
import { userJson } from './user-json.js';
import { AuthenticationResponseSchema } from '../passkeys/webauthn-json.js';

const Text = (max: number) => Type.String({ maxLength: max });

const ReauthenticateBody = Type.Object({
  password: Type.Optional(Text(1024)),
  code: Type.Optional(Text(64)),
  recovery_code: Type.Optional(Text(64)),
  passkey: Type.Optional(AuthenticationResponseSchema),
});
const EmailChangeBody = Type.Object({
  email: Type.Union([Text(1024), Type.Null()], { description: 'The new address (confirmed by a link mailed to it), or null to remove the address at once' }),
  current_password: Type.Optional(Text(1024)),
});
const PasswordChangeBody = Type.Object({
  current_password: Text(1024),
  password: Text(1024),
  password_confirmation: Type.Optional(Text(1024)),
});

export interface AccountRoutesOptions {
  config: Pick<Config, 'cookieSecure' | 'sessionMaxAge'>;
  accounts: AccountService;
  email: EmailService;
  recentAuth: RecentAuthService;
}

/** The account itself: re-authentication, the password change, the address, and deleting an account (one's own, or an admin deleting a user). */
export const accountRoutes: RoutePlugin<AccountRoutesOptions> = async (app, { config, accounts, email, recentAuth }) => {
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
      const { reauthenticatedUntil } = await recentAuth.reauthenticate(principal(request).id, signInOf(request), request.body, requestMeta(request));
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

  const requireRecent = recentStep(recentAuth);
  const requireRecentDelete = recentDeleteStep(recentAuth);
  const recentNote = RECENT_NOTE;

  app.post(
    '/api/me/email/verification',
    {
      schema: {
        summary: 'Mail a new verification link to your address (it voids the one before)',
        description: '422 fields.email when the account has no address; 202 and no mail when it is verified already, or past EMAILS_PER_ADDRESS_PER_HOUR.',
        tags: ['account'],
        security,
        response: { 202: Type.Object({}), ...errorResponses(400, 401, 403, 413, 415, 422, 503) },
      },
    },
    async (request, reply) => {
      await email.requestVerification(principal(request).id, requestMeta(request));
      return reply.status(202).send({});
    },
  );

  app.post(
    '/api/me/email',
    {
      preValidation: requireRecent,
      schema: {
        summary: 'Change your email address (confirmed by a link mailed to the new one), or remove it with null',
        description: `${recentNote} An address: 202 {pending_email}, a notice to the old address, 409 email_taken. null: 200 with the user, the address removed at once (422 while REQUIRE_EMAIL_VERIFICATION is on).`,
        tags: ['account'],
        security,
        body: EmailChangeBody,
        response: { 200: UserRef, 202: Type.Object({ pending_email: Type.String() }), ...errorResponses(400, 401, 403, 409, 413, 415, 422, 429, 503) },
      },
    },
    async (request, reply) => {
      const me = principal(request);
      const meta = requestMeta(request);
      if (request.body.email === null) return userJson(await email.removeEmail(me.id, meta));
      const { pendingEmail } = await email.requestChange(me.id, request.body.email, meta);
      return reply.status(202).send({ pending_email: pendingEmail });
    },
  );

  app.delete(
    '/api/me',
    {
      preValidation: requireRecentDelete,
      schema: {
        summary: 'Delete your account: everything you own goes; the audit log keeps its rows',
        description: `${recentNote} The last active admin cannot (409 last_admin). Cookies are cleared.`,
        tags: ['account'],
        security,
        ...recentDeleteSchema,
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 409, 413, 415, 422, 429) },
      },
    },
    async (request, reply) => {
      const me = principal(request);
      await accounts.deleteAccount(me.id, { id: me.id, meta: requestMeta(request) });
      clearSessionCookies(request, reply, config);
      return reply.status(204).send(null);
    },
  );

  app.delete(
    '/api/admin/users/:id',
    {
      config: { access: 'admin' },
      preValidation: requireRecentDelete,
      schema: {
        summary: 'Delete a user (admins only)',
        description: `${recentNote} Unknown id: 404; the last active admin: 409 last_admin. An admin deleting themself is signed out as with DELETE /api/me.`,
        tags: ['admin'],
        security,
        params: Type.Object({ id: Type.String({ description: 'User id (a positive integer)' }) }),
        ...recentDeleteSchema,
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422, 429) },
      },
    },
    async (request, reply) => {
      const admin = principal(request);
      const userId = resourceId(request.params.id);
      await accounts.deleteAccount(userId, { id: admin.id, meta: requestMeta(request) });
      if (userId === admin.id) clearSessionCookies(request, reply, config);
      return reply.status(204).send(null);
    },
  );
};
