import formbody from '@fastify/formbody';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { LoginService } from '../accounts/login.service.js';
import { principalOf } from '../accounts/principal.js';
import { userJson } from '../accounts/user-json.js';
import type { Config } from '../config.js';
import { InvalidCredentialsError } from '../errors.js';
import { clearSessionCookies, ensureCsrfCookie, setMfaCookie, setSessionCookies } from '../server/cookies.js';
import { assertValidBody } from '../server/error-handler.js';
import type { RoutePlugin } from '../server/http.js';
import { renderLogoutPage } from '../server/pages/auth-pages.js';
import { renderCheckYourMailPage } from '../server/pages/email-pages.js';
import { safeNext } from '../server/pages/next-path.js';
import { sendHtml } from '../server/pages/html.js';
import type { Authenticator } from '../server/plugins/auth.js';
import { isFormPost, principal } from '../server/plugins/auth.js';
import { ipRateLimit } from '../server/plugins/rate-limit.js';
import { requestMeta } from '../server/request-meta.js';
import { errorResponses, MfaRequiredRef, mfaRequiredJson, UserRef } from '../server/schemas.js';

const Text = (max: number) => Type.String({ maxLength: max });

const SignupBody = Type.Object({
  username: Text(1024),
  email: Type.Optional(Type.Union([Text(1024), Type.Null()])),
  password: Text(1024),
  password_confirmation: Type.Optional(Text(1024)),
  /** Form posts only: where to go after success (a same-origin path, or a FORWARD_AUTH_HOSTS URL). */
  next: Type.Optional(Text(2048)),
  csrf_token: Type.Optional(Text(256)),
});

/** POST /logout: the form's CSRF field (JSON clients may send the X-CSRF-Token header instead). */
const LogoutBody = Type.Object({
  csrf_token: Type.Optional(Text(256)),
});

const LoginBody = Type.Object({
  username: Text(1024),
  password: Text(1024),
  remember: Type.Optional(Type.Union([Type.Boolean(), Type.Literal('on'), Type.Literal('true'), Type.Literal('false')])),
  next: Type.Optional(Text(2048)),
  csrf_token: Type.Optional(Text(256)),
});

export interface SessionRoutesOptions {
  /** `forwardAuthHosts`: where a form login's `next` may also point (safeNext). */
  config: Pick<Config, 'bodyLimit' | 'cookieSecure' | 'sessionMaxAge' | 'rateLimits' | 'rateLimitPerIp' | 'forwardAuthHosts'>;
  logins: LoginService;
  authenticator: Authenticator;
}

/** POST /signup, POST /login, logout, /check_session and /api/me: the browser-session surface. */
export const sessionRoutes: RoutePlugin<SessionRoutesOptions> = async (app, { config, logins, authenticator }) => {
  /** The cookie the request came with: revoked at login so a planted cookie is worth nothing after. */
  const previousSession = (request: FastifyRequest) => request.cookies[authenticator.cookieName];
  // Only the auth forms (and token revocation) accept urlencoded bodies; elsewhere it is a 415.
  await app.register(async (scope) => {
    const forms = scope.withTypeProvider<TypeBoxTypeProvider>();
    await forms.register(formbody, { bodyLimit: config.bodyLimit });

    forms.post(
      '/signup',
      {
        config: { access: 'public', originRule: true, formPage: 'signup', rateLimit: ipRateLimit(config) },
        attachValidation: true,
        schema: {
          summary: 'Create an account and start a browser session',
          tags: ['session'],
          body: SignupBody,
          response: { 201: UserRef, 200: { description: 'A form post while REQUIRE_EMAIL_VERIFICATION is on: the "check your mail" page', content: { 'text/html': { schema: Type.String() } } }, ...errorResponses(400, 403, 409, 413, 415, 422, 429, 503) },
        },
      },
      async (request, reply) => {
        assertValidBody(request);
        const { body } = request;
        const { user, session, mustVerifyEmail } = await logins.signUp(body, requestMeta(request), previousSession(request));
        if (mustVerifyEmail) {
          // REQUIRE_EMAIL_VERIFICATION: no session until the address is proven.
          if (isFormPost(request)) return sendHtml(reply, 200, renderCheckYourMailPage());
          return reply.status(201).send(userJson(user));
        }
        if (!session) throw new InvalidCredentialsError();
        setSessionCookies(request, reply, config, session);
        if (isFormPost(request)) return reply.redirect(safeNext(body.next, config.forwardAuthHosts), 303);
        return reply.status(201).send(userJson(user));
      },
    );

    forms.post(
      '/login',
      {
        config: { access: 'public', originRule: true, formPage: 'login', rateLimit: ipRateLimit(config) },
        attachValidation: true,
        schema: {
          summary: 'Log in with username (or email) and password; starts a browser session',
          description: 'For a user with MFA the answer is `{mfa_required, mfa_token, methods, expires_in}` and no session: finish at POST /login/mfa (a form post goes 303 to /login/mfa).',
          tags: ['session'],
          body: LoginBody,
          response: { 200: Type.Union([UserRef, MfaRequiredRef]), ...errorResponses(400, 401, 403, 413, 415, 422, 429, 503) },
        },
      },
      async (request, reply) => {
        assertValidBody(request);
        const { body } = request;
        const remember = body.remember === true || body.remember === 'on' || body.remember === 'true';
        const login = { identifier: body.username, password: body.password, remember };
        const outcome = await logins.logIn(login, requestMeta(request), previousSession(request));
        if (!outcome.ok && outcome.reason === 'mfa_required') {
          const { challenge } = outcome;
          if (!isFormPost(request)) return mfaRequiredJson(challenge);
          // The form's second step: the token rides in an HttpOnly cookie to /login/mfa, never in a URL.
          setMfaCookie(request, reply, config, challenge.mfaToken, challenge.expiresIn);
          const next = safeNext(body.next, config.forwardAuthHosts);
          return reply.redirect(next === '/' ? '/login/mfa' : `/login/mfa?next=${encodeURIComponent(next)}`, 303);
        }
        if (!outcome.ok) throw new InvalidCredentialsError();
        setSessionCookies(request, reply, config, outcome.credential);
        if (isFormPost(request)) return reply.redirect(safeNext(body.next, config.forwardAuthHosts), 303);
        return userJson(outcome.user);
      },
    );
  });

  async function endSession(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const token = previousSession(request);
    if (token) await logins.logOut(token, requestMeta(request));
    clearSessionCookies(request, reply, config);
  }

  app.delete(
    '/logout',
    {
      config: { access: 'public', originRule: true, csrf: 'if-session' },
      schema: { summary: 'End the browser session (needs X-CSRF-Token)', tags: ['session'], response: { 204: Type.Null(), ...errorResponses(403) } },
    },
    async (request, reply) => {
      await endSession(request, reply);
      return reply.status(204).send(null);
    },
  );

  /**
   * Whether a GET /logout may act: only a navigation from our own pages, a typed address or a
   * bookmark (Sec-Fetch-Site same-origin or none), or a client that sends none of these headers.
   * SameSite=Lax sends the cookie on another site's top-level link, so such a GET must not act;
   * `same-site` is refused too: a sibling subdomain is another application.
   */
  function sameOriginNavigation(request: FastifyRequest): boolean {
    const site = request.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
    const origin = request.headers.origin;
    if (origin !== undefined && !authenticator.isOwnOrigin(request, origin)) return false;
    const referer = request.headers.referer;
    if (referer === undefined) return true;
    try {
      return authenticator.isOwnOrigin(request, new URL(referer).origin);
    } catch {
      return false;
    }
  }

  app.get(
    '/logout',
    {
      config: { access: 'public' },
      schema: {
        summary: 'End the browser session and go to /login; from another site, a page whose button logs out (POST /logout)',
        tags: ['session'],
        hide: false,
        response: {
          200: { description: 'From another site: the logout confirmation page; nothing ended', content: { 'text/html': { schema: Type.String() } } },
          303: Type.Null({ description: 'Logged out; Location: /login' }),
        },
      },
    },
    async (request, reply) => {
      // A top-level GET cannot carry a CSRF header, so where it came from decides whether it acts.
      if (!sameOriginNavigation(request)) {
        return sendHtml(reply, 200, renderLogoutPage({ csrfToken: ensureCsrfCookie(request, reply, config) }));
      }
      await endSession(request, reply);
      return reply.redirect('/login', 303);
    },
  );

  /**
   * POST /logout: the logout page's button. The Origin rule guards it; with a live session it
   * needs the CSRF token: the X-CSRF-Token header, checked before the body is read, or for an HTML
   * form the `csrf_token` field, checked once the form is parsed (plugins/auth.ts).
   */
  await app.register(async (scope) => {
    const logoutForm = scope.withTypeProvider<TypeBoxTypeProvider>();
    await logoutForm.register(formbody, { bodyLimit: config.bodyLimit });
    logoutForm.post(
      '/logout',
      {
        config: { access: 'public', originRule: true, csrf: 'if-session', formPage: 'logout' },
        // Nothing in the body is needed without a session, so its schema only documents the field.
        attachValidation: true,
        schema: {
          summary: 'End the browser session and go to /login (the logout page\'s form; needs the CSRF token with a session)',
          tags: ['session'],
          consumes: ['application/x-www-form-urlencoded', 'application/json'],
          body: LogoutBody,
          response: { 303: Type.Null({ description: 'Logged out; Location: /login' }), ...errorResponses(403, 413, 415) },
        },
      },
      async (request, reply) => {
        await endSession(request, reply);
        return reply.redirect('/login', 303);
      },
    );
  });

  app.get(
    '/check_session',
    {
      config: { access: 'public' },
      schema: { summary: 'The signed-in user, or 204 when there is no valid session', tags: ['session'], response: { 200: UserRef, 204: Type.Null() } },
    },
    async (request, reply) => {
      const session = await authenticator.sessionFromCookie(request);
      if (!session) {
        ensureCsrfCookie(request, reply, config);
        return reply.status(204).send(null);
      }
      return userJson(principalOf(session.user));
    },
  );

  app.get(
    '/api/me',
    {
      schema: {
        summary: 'The authenticated user (session cookie or bearer token)',
        tags: ['session'],
        security: [{ bearer: [] }, { session: [] }],
        response: { 200: UserRef, ...errorResponses(401) },
      },
    },
    async (request) => userJson(principal(request)),
  );
};
