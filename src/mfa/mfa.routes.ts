import formbody from '@fastify/formbody';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { LoginService } from '../accounts/login.service.js';
import type { RecentAuthService } from '../accounts/recent-auth.service.js';
import { userJson } from '../accounts/user-json.js';
import type { Config } from '../config.js';
import { InvalidCredentialsError, ValidationError } from '../errors.js';
import { clearMfaCookie, ensureCsrfCookie, MFA_COOKIE, setSessionCookies } from '../server/cookies.js';
import { assertValidBody } from '../server/error-handler.js';
import type { RoutePlugin } from '../server/http.js';
import { sendHtml } from '../server/pages/html.js';
import { renderLoginMfaPage } from '../server/pages/mfa-pages.js';
import { safeNext } from '../server/pages/next-path.js';
import { isFormPost, principal } from '../server/plugins/auth.js';
import { ipRateLimit } from '../server/plugins/rate-limit.js';
import { RECENT_NOTE, recentDeleteSchema, recentDeleteStep, recentStep } from '../server/recent-auth.js';
import { requestMeta } from '../server/request-meta.js';
import { errorResponses, UserRef } from '../server/schemas.js';
import { resourceId } from '../server/path-id.js';
import type { MfaService } from './mfa.service.js';
import { SECOND_STEP_REFUSED } from './mfa.service.js';

const Codes = Type.Object({ recovery_codes: Type.Array(Type.String(), { description: 'Ten single-use codes: shown this once, stored only as hashes' }) });
const RecentBody = Type.Optional(Type.Object({ current_password: Type.Optional(Type.String({ maxLength: 1024 })) }));
const LoginMfaBody = Type.Object({
  mfa_token: Type.Optional(Type.String({ maxLength: 256, description: 'From POST /login; a form sends none (the token is in its HttpOnly cookie)' })),
  code: Type.Optional(Type.String({ maxLength: 64 })),
  recovery_code: Type.Optional(Type.String({ maxLength: 64 })),
  remember: Type.Optional(Type.Union([Type.Boolean(), Type.Literal('on'), Type.Literal('true'), Type.Literal('false')])),
  next: Type.Optional(Type.String({ maxLength: 2048 })),
  csrf_token: Type.Optional(Type.String({ maxLength: 256 })),
});

export interface MfaRoutesOptions {
  config: Pick<Config, 'bodyLimit' | 'cookieSecure' | 'sessionMaxAge' | 'rateLimits' | 'rateLimitPerIp' | 'forwardAuthHosts'>;
  mfa: MfaService;
  logins: LoginService;
  recentAuth: RecentAuthService;
  /** The session cookie's name: the one a login replaces. */
  sessionCookieName: string;
}

/** TOTP and recovery codes under /api/me/mfa, the admin's lost-device reset, and the login's second step for browsers. */
export const mfaRoutes: RoutePlugin<MfaRoutesOptions> = async (app, { config, mfa, logins, recentAuth, sessionCookieName }) => {
  const security: Array<Record<string, string[]>> = [{ bearer: [] }, { session: [] }];
  const requireRecent = recentStep(recentAuth);
  const tags = ['mfa'];

  app.get(
    '/api/me/mfa',
    { schema: { summary: 'Your second factors', tags, security, response: { 200: Type.Object({ totp: Type.Boolean(), recovery_codes_left: Type.Integer(), passkeys: Type.Integer() }), ...errorResponses(401) } } },
    async (request) => {
      const status = await mfa.status(principal(request).id);
      return { totp: status.totp, recovery_codes_left: status.recoveryCodesLeft, passkeys: status.passkeys };
    },
  );

  app.post(
    '/api/me/mfa/totp',
    {
      preValidation: requireRecent,
      schema: {
        summary: 'Start setting up an authenticator app: a new secret, pending until confirmed',
        description: `${RECENT_NOTE} A second call replaces a pending secret; 409 conflict when TOTP is on.`,
        tags,
        security,
        body: RecentBody,
        response: { 201: Type.Object({ secret: Type.String({ description: 'base32, 160 bits' }), otpauth_uri: Type.String() }), ...errorResponses(400, 401, 403, 409, 413, 415, 422, 429) },
      },
    },
    async (request, reply) => {
      const { secret, otpauthUri } = await mfa.beginTotp(principal(request));
      return reply.status(201).header('Cache-Control', 'no-store').send({ secret, otpauth_uri: otpauthUri });
    },
  );

  app.post(
    '/api/me/mfa/totp/confirm',
    {
      schema: {
        summary: 'Confirm the authenticator app with its first code: TOTP is on, and the recovery codes are shown once',
        description: 'Wrong code: 422 fields.code. Nothing pending, or TOTP on already: 409 conflict.',
        tags,
        security,
        body: Type.Object({ code: Type.String({ maxLength: 64 }) }),
        response: { 200: Codes, ...errorResponses(400, 401, 403, 409, 413, 415, 422) },
      },
    },
    async (request, reply) => {
      const codes = await mfa.confirmTotp(principal(request), request.body.code, requestMeta(request));
      return reply.header('Cache-Control', 'no-store').send({ recovery_codes: codes });
    },
  );

  app.delete(
    '/api/me/mfa/totp',
    {
      preValidation: recentDeleteStep(recentAuth),
      schema: { summary: 'Turn the authenticator app off: TOTP and the recovery codes go', description: `${RECENT_NOTE} 409 conflict when TOTP is off.`, tags, security, ...recentDeleteSchema, response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 409, 413, 415, 422, 429) } },
    },
    async (request, reply) => {
      await mfa.disableTotp(principal(request), requestMeta(request));
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/api/me/mfa/recovery-codes',
    {
      preValidation: requireRecent,
      schema: {
        summary: 'New recovery codes (the old set stops working)',
        description: `${RECENT_NOTE} 409 conflict without TOTP.`,
        tags,
        security,
        body: RecentBody,
        response: { 200: Codes, ...errorResponses(400, 401, 403, 409, 413, 415, 422, 429) },
      },
    },
    async (request, reply) => {
      const codes = await mfa.regenerateRecoveryCodes(principal(request), requestMeta(request));
      return reply.header('Cache-Control', 'no-store').send({ recovery_codes: codes });
    },
  );

  app.delete(
    '/api/admin/users/:id/mfa',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Lost device: remove a user\'s TOTP, recovery codes and passkeys, and end all their sessions (admins only)',
        tags: ['admin'],
        security,
        params: Type.Object({ id: Type.String({ description: 'User id (a positive integer)' }) }),
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await mfa.resetFactors(resourceId(request.params.id), { id: principal(request).id, meta: requestMeta(request) });
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/login/mfa',
    { config: { access: 'public' }, schema: { summary: 'The form login\'s second step (HTML); 303 to /login without one under way', tags: ['pages'], querystring: Type.Object({ next: Type.Optional(Type.String({ maxLength: 2048 })) }) } },
    async (request, reply) => {
      if (!request.cookies[MFA_COOKIE]) return reply.redirect('/login', 303);
      return sendHtml(reply, 200, renderLoginMfaPage({ csrfToken: ensureCsrfCookie(request, reply, config), next: safeNext(request.query.next, config.forwardAuthHosts) }));
    },
  );

  await app.register(async (scope) => {
    const forms = scope.withTypeProvider<TypeBoxTypeProvider>();
    await forms.register(formbody, { bodyLimit: config.bodyLimit });
    forms.post(
      '/login/mfa',
      {
        config: { access: 'public', originRule: true, formPage: 'login-mfa', rateLimit: ipRateLimit(config) },
        attachValidation: true,
        schema: {
          summary: 'The second step of a browser login: the mfa_token from POST /login and a code (or recovery code); starts the session',
          description: 'Neither code: 422. Wrong code, spent or expired mfa_token: 401 invalid_credentials. MFA_FAILURES_PER_ACCOUNT wrong codes: 429 at this step. A form goes 303 to `next` (or /).',
          tags: ['session'],
          body: LoginMfaBody,
          response: { 200: UserRef, ...errorResponses(400, 401, 403, 413, 415, 422, 429, 503) },
        },
      },
      async (request, reply) => {
        assertValidBody(request);
        const { body } = request;
        const form = isFormPost(request);
        const mfaToken = body.mfa_token ?? (form ? request.cookies[MFA_COOKIE] : undefined);
        const code = body.code?.trim() ? body.code : undefined;
        const recoveryCode = body.recovery_code?.trim() ? body.recovery_code : undefined;
        if (code === undefined && recoveryCode === undefined) throw new ValidationError({ code: 'Enter the code from your authenticator app, or a recovery code.' });
        if (!mfaToken) throw new InvalidCredentialsError(SECOND_STEP_REFUSED);
        const remember = body.remember === undefined ? undefined : body.remember === true || body.remember === 'on' || body.remember === 'true';
        const outcome = await logins.completeMfa(mfaToken, { code, recovery_code: recoveryCode }, requestMeta(request), request.cookies[sessionCookieName], remember);
        if (!outcome.ok) throw new InvalidCredentialsError(SECOND_STEP_REFUSED);
        setSessionCookies(request, reply, config, outcome.credential);
        if (form) {
          clearMfaCookie(request, reply, config);
          return reply.redirect(safeNext(body.next, config.forwardAuthHosts), 303);
        }
        return userJson(outcome.user);
      },
    );
  });
};
