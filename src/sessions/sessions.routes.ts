import formbody from '@fastify/formbody';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Static } from 'typebox';
import { signUp, verifyCredentials } from '../accounts/accounts.service.js';
import { userJson } from '../accounts/user-json.js';
import { recordAudit } from '../audit/audit.repo.js';
import type { AppContext } from '../context.js';
import { CsrfError, ValidationError } from '../errors.js';
import type { GatehouseApp } from '../server/app.js';
import { clearSessionCookies, ensureCsrfCookie, SESSION_COOKIE, setSessionCookies } from '../server/cookies.js';
import { fieldsFromValidation } from '../server/error-handler.js';
import { safeNextPath } from '../server/pages/next-path.js';
import { csrfValid, principal, principalOf, sessionFromCookie } from '../server/plugins/auth.js';
import { ipRateLimit } from '../server/plugins/rate-limit.js';
import { requestMeta } from '../server/request-meta.js';
import { errorResponses, UserRef } from '../server/schemas.js';
import { isoNow } from '../storage/database.js';

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

async function startSession(ctx: AppContext, request: FastifyRequest, reply: FastifyReply, userId: number, remember: boolean): Promise<void> {
  // A fresh id and CSRF token on every login: a cookie planted before login is worth nothing after.
  const previous = request.cookies[SESSION_COOKIE];
  if (previous) await ctx.sessions.revoke(previous);
  const session = await ctx.sessions.create(userId, { remember, ...requestMeta(request) });
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
        await startSession(ctx, request, reply, user.id, false);
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
        await startSession(ctx, request, reply, user.id, remember);
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
    const token = request.cookies[SESSION_COOKIE];
    const session = token ? await ctx.sessions.validate(token) : null;
    if (session && !csrfValid(ctx, request, session, request.headers['x-csrf-token'])) throw new CsrfError();
  }

  async function endSession(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const token = request.cookies[SESSION_COOKIE];
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

  app.get(
    '/logout',
    { config: { access: 'public' }, schema: { summary: 'End the browser session and go to /login', tags: ['session'], hide: false } },
    async (request, reply) => {
      // A top-level GET cannot carry a CSRF header; SameSite=Lax keeps cross-site subresources from sending the cookie.
      await endSession(request, reply);
      return reply.redirect('/login', 303);
    },
  );

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
