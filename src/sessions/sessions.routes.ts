import formbody from '@fastify/formbody';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Static } from 'typebox';
import { signUp, verifyCredentials } from '../accounts/accounts.service.js';
import type { LoginSubject } from '../accounts/login-subject.js';
import { userJson } from '../accounts/user-json.js';
import { recordAudit } from '../audit/audit.repo.js';
import type { AppContext } from '../context.js';
import { CsrfError, ValidationError } from '../errors.js';
import type { GatehouseApp } from '../server/app.js';
import { clearSessionCookies, ensureCsrfCookie, sessionCookieName, setSessionCookies } from '../server/cookies.js';
import { fieldsFromValidation } from '../server/error-handler.js';
import { renderLogoutPage } from '../server/pages/auth-pages.js';
import { safeNextPath } from '../server/pages/next-path.js';
import { sendHtml } from '../server/pages/pages.routes.js';
import { csrfValid, principal, principalOf, sessionFromCookie } from '../server/plugins/auth.js';
import { ipRateLimit } from '../server/plugins/rate-limit.js';
import { requestMeta } from '../server/request-meta.js';
import { errorResponses, UserRef } from '../server/schemas.js';
import { isoNow } from '../storage/database.js';
import type { ValidSession } from './sessions.service.js';

const Text = (max: number) => Type.String({ maxLength: max });

const SignupBody = Type.Object({
  username: Text(1024),
  email: Type.Optional(Type.Union([Text(1024), Type.Null()])),
  password: Text(1024),
  password_confirmation: Type.Optional(Text(1024)),
  /** Form posts only: where to go after success (a same-origin path). */
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

function isFormPost(request: FastifyRequest): boolean {
  return (request.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
}

/** Form routes read validation errors themselves, so a bad form re-renders instead of answering JSON. */
function assertValid(request: FastifyRequest): void {
  const error = request.validationError as (Error & { validation?: unknown[] }) | undefined;
  if (error) throw new ValidationError(fieldsFromValidation((error.validation ?? []) as never[]));
}

async function startSession(ctx: AppContext, request: FastifyRequest, reply: FastifyReply, user: LoginSubject, remember: boolean): Promise<void> {
  // A fresh id and CSRF token on every login: a cookie planted before login is worth nothing after.
  const previous = request.cookies[sessionCookieName(ctx.config)];
  if (previous) await ctx.sessions.revoke(previous);
  const session = await ctx.sessions.create(user, { remember, ...requestMeta(request) });
  setSessionCookies(request, reply, ctx.config, session);
}

/** POST /signup, POST /login, logout, /check_session and /api/me: the browser-session surface. */
export async function sessionRoutes(app: GatehouseApp, { ctx }: { ctx: AppContext }): Promise<void> {
  // Only the auth forms (and token revocation) accept urlencoded bodies; elsewhere it is a 415.
  await app.register(async (forms) => {
    await forms.register(formbody, { bodyLimit: ctx.config.bodyLimit });

    forms.post(
      '/signup',
      {
        config: { access: 'public', formPage: 'signup', rateLimit: ipRateLimit(ctx.config) },
        attachValidation: true,
        schema: {
          summary: 'Create an account and start a browser session',
          tags: ['session'],
          body: SignupBody,
          response: { 201: UserRef, ...errorResponses(400, 403, 409, 413, 415, 422, 429, 503) },
        },
      },
      async (request, reply) => {
        assertValid(request);
        const body = request.body as Static<typeof SignupBody>;
        const user = await signUp(ctx, body, requestMeta(request));
        await startSession(ctx, request, reply, user, false);
        if (isFormPost(request)) return reply.redirect(safeNextPath(body.next), 303);
        return reply.status(201).send(userJson(user));
      },
    );

    forms.post(
      '/login',
      {
        config: { access: 'public', formPage: 'login', rateLimit: ipRateLimit(ctx.config) },
        attachValidation: true,
        schema: {
          summary: 'Log in with username (or email) and password; starts a browser session',
          tags: ['session'],
          body: LoginBody,
          response: { 200: UserRef, ...errorResponses(400, 401, 403, 413, 415, 422, 429, 503) },
        },
      },
      async (request, reply) => {
        assertValid(request);
        const body = request.body as Static<typeof LoginBody>;
        const meta = requestMeta(request);
        const user = await verifyCredentials(ctx, body.username, body.password, meta);
        const remember = body.remember === true || body.remember === 'on' || body.remember === 'true';
        await startSession(ctx, request, reply, user, remember);
        await recordAudit(ctx.db, { event: 'login_succeeded', userId: user.id, username: user.username, detail: { via: 'session' }, ...meta }, isoNow(ctx.clock));
        if (isFormPost(request)) return reply.redirect(safeNextPath(body.next), 303);
        return userJson(user);
      },
    );
  });

  /**
   * DELETE /logout's CSRF check, as a route onRequest hook so it runs before the body is read
   * (CSRF beats body errors). A cookie that is no live session needs no token: there is nothing to end.
   */
  async function logoutCsrf(request: FastifyRequest): Promise<void> {
    const session = await sessionFromCookie(ctx, request);
    if (session && !csrfValid(ctx, request, session, request.headers['x-csrf-token'])) throw new CsrfError();
  }

  async function endSession(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const token = request.cookies[sessionCookieName(ctx.config)];
    if (token) {
      const session = await ctx.sessions.validate(token);
      const revoked = await ctx.sessions.revoke(token);
      if (revoked) {
        await recordAudit(ctx.db, { event: 'logout', userId: revoked.userId, username: session?.user.username ?? null, ...requestMeta(request) }, isoNow(ctx.clock));
      }
    }
    clearSessionCookies(request, reply, ctx.config);
  }

  app.delete(
    '/logout',
    {
      config: { access: 'public' },
      onRequest: logoutCsrf,
      schema: { summary: 'End the browser session (needs X-CSRF-Token)', tags: ['session'], response: { 204: Type.Null(), ...errorResponses(403) } },
    },
    async (request, reply) => {
      await endSession(request, reply);
      return reply.status(204).send();
    },
  );

  const ownOrigin = new URL(ctx.config.publicUrl).origin;
  /** Our origin as the Origin rule knows it: PUBLIC_URL's, or the request's own scheme and Host. */
  const isOwnOrigin = (request: FastifyRequest, origin: string) => origin === ownOrigin || origin === `${request.protocol}://${request.host}`;

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
    if (origin !== undefined && !isOwnOrigin(request, origin)) return false;
    const referer = request.headers.referer;
    if (referer === undefined) return true;
    try {
      return isOwnOrigin(request, new URL(referer).origin);
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
        return sendHtml(reply, 200, renderLogoutPage({ csrfToken: ensureCsrfCookie(request, reply, ctx.config) }));
      }
      await endSession(request, reply);
      return reply.redirect('/login', 303);
    },
  );

  /**
   * POST /logout: the logout page's button. The Origin rule guards it (auth.ts); with a live
   * session it needs the CSRF token: the X-CSRF-Token header, checked before the body is read, or
   * for an HTML form the `csrf_token` field, checked once the form is parsed.
   */
  await app.register(async (logoutForm) => {
    await logoutForm.register(formbody, { bodyLimit: ctx.config.bodyLimit });
    const formCsrfPending = new WeakMap<FastifyRequest, ValidSession>();

    logoutForm.post(
      '/logout',
      {
        config: { access: 'public', formPage: 'logout' },
        // Nothing in the body is needed without a session, so its schema only documents the field.
        attachValidation: true,
        onRequest: async (request) => {
          const session = await sessionFromCookie(ctx, request);
          if (!session) return;
          const header = request.headers['x-csrf-token'];
          if (header === undefined && isFormPost(request)) formCsrfPending.set(request, session);
          else if (!csrfValid(ctx, request, session, header)) throw new CsrfError();
        },
        preValidation: async (request) => {
          const session = formCsrfPending.get(request);
          if (session && !csrfValid(ctx, request, session, (request.body as Record<string, unknown> | null | undefined)?.csrf_token)) throw new CsrfError();
        },
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
      const session = await sessionFromCookie(ctx, request);
      if (!session) {
        ensureCsrfCookie(request, reply, ctx.config);
        return reply.status(204).send();
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
}
