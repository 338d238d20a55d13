import type {} from '@fastify/cookie';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Role } from '../../accounts/accounts.table.js';
import type { AppContext } from '../../context.js';
import { CsrfError, ForbiddenError, InvalidTokenError, OriginRefusedError, UnauthenticatedError } from '../../errors.js';
import type { ValidSession } from '../../sessions/sessions.service.js';
import { constantTimeEqual } from '../../sessions/tokens.js';
import { CSRF_COOKIE, sessionCookieName } from '../cookies.js';

/**
 * Who may call a route. Routes are locked down unless they say otherwise:
 * no `access` means `user`. `public` routes are listed in test/http/lockdown.test.ts.
 */
export type AccessPolicy = 'public' | 'user' | 'admin';

/** The signed-in person as every handler sees them, however they authenticated. */
export interface Principal {
  id: number;
  username: string;
  email: string | null;
  role: Role;
  createdAt: string;
}

export type Authentication =
  | { via: 'session'; principal: Principal; session: ValidSession }
  | { via: 'bearer'; principal: Principal; sessionId: string; tokenId: string };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: AccessPolicy;
  }
  interface FastifyRequest {
    auth: Authentication | null;
    /** The CSRF token this response set or the request carried, for rendering forms. */
    csrfToken: string | undefined;
    /** A cookie-authenticated form post whose CSRF token is in the body, checked once it is parsed. */
    csrfFromBody: boolean;
  }
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Login CSRF and signup CSRF: these are guarded by the Origin rule even without a session. */
const ORIGIN_GUARDED_PATHS = new Set(['/signup', '/login', '/logout']);

export function isUnsafe(request: FastifyRequest): boolean {
  return UNSAFE_METHODS.has(request.method);
}

function isFormPost(request: FastifyRequest): boolean {
  return (request.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
}

/** Whether the route's plugin scope registered a urlencoded parser (only the HTML form routes do). */
function acceptsForms(request: FastifyRequest): boolean {
  return request.server.hasContentTypeParser('application/x-www-form-urlencoded');
}

export function principalOf(user: Principal): Principal {
  return { id: user.id, username: user.username, email: user.email, role: user.role, createdAt: user.createdAt };
}

/** The contract's Origin rule: cross-site unsafe requests that carry our session (or log in) are refused. */
export function originAllowed(request: FastifyRequest, ownOrigin: string): boolean {
  if (request.headers['sec-fetch-site'] === 'cross-site') return false;
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  return origin === ownOrigin || origin === `${request.protocol}://${request.host}`;
}

/** Compare the CSRF value a request sent with its cookie and with the session it is bound to. */
export function csrfValid(ctx: AppContext, request: FastifyRequest, session: ValidSession, sent: unknown): boolean {
  const cookie = request.cookies[CSRF_COOKIE];
  return typeof sent === 'string' && typeof cookie === 'string' && constantTimeEqual(sent, cookie) && ctx.sessions.csrfMatches(session, sent);
}

/** Resolve the session cookie alone, as /check_session, the logout routes and the pages do. */
export function sessionFromCookie(ctx: AppContext, request: FastifyRequest): Promise<ValidSession | null> {
  const token = request.cookies[sessionCookieName(ctx.config)];
  return token ? ctx.sessions.validate(token) : Promise.resolve(null);
}

async function authenticate(ctx: AppContext, request: FastifyRequest): Promise<Authentication> {
  const authorization = request.headers.authorization;
  if (authorization !== undefined) {
    // When present, the Authorization header is the only credential considered.
    const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(authorization);
    const verified = match?.[1] ? await ctx.tokens.verifyAccessToken(match[1]) : null;
    if (!verified) throw new InvalidTokenError();
    return { via: 'bearer', principal: verified.principal, sessionId: verified.sessionId, tokenId: verified.tokenId };
  }
  const session = await sessionFromCookie(ctx, request);
  if (!session) throw new UnauthenticatedError();
  if (isUnsafe(request)) {
    const header = request.headers['x-csrf-token'];
    // Only a route that can read a form may take the token from its body (checked once parsed);
    // anywhere else a form post without the header fails here, before its body is read.
    if (header === undefined && isFormPost(request) && acceptsForms(request)) request.csrfFromBody = true;
    else if (!csrfValid(ctx, request, session, header)) throw new CsrfError();
  }
  return { via: 'session', principal: principalOf(session.user), session };
}

/**
 * One authentication layer for every route, run before the body is read so the contract's order
 * holds: Origin (403) → authentication (401) → CSRF (403) → body (400/413/415) → validation (422).
 */
export const authPlugin = fp(
  async (app: FastifyInstance, { ctx }: { ctx: AppContext }) => {
    const ownOrigin = new URL(ctx.config.publicUrl).origin;
    const sessionCookie = sessionCookieName(ctx.config);
    app.decorateRequest('auth', null);
    app.decorateRequest('csrfToken', undefined);
    app.decorateRequest('csrfFromBody', false);

    // Callback-style, not async: public routes (such as /check_session) then cost no promise.
    app.addHook('onRequest', (request: FastifyRequest, _reply, done) => {
      // Unknown routes are 404 before any other check.
      if (request.is404) return done();
      // Fastify builds this object anew on every access: read it once.
      const route = request.routeOptions;
      // The matched route, not the raw URL: "/%6Cogin" reaches /login too and must not slip past.
      if (isUnsafe(request) && (request.cookies[sessionCookie] !== undefined || ORIGIN_GUARDED_PATHS.has(route.url ?? '')) && !originAllowed(request, ownOrigin)) {
        return done(new OriginRefusedError());
      }
      const access = route.config.access ?? 'user';
      if (access === 'public') return done();
      authenticate(ctx, request).then((auth) => {
        request.auth = auth;
        done(access === 'admin' && auth.principal.role !== 'admin' ? new ForbiddenError() : undefined);
      }, done);
    });

    app.addHook('preValidation', async (request: FastifyRequest) => {
      if (!request.csrfFromBody || request.auth?.via !== 'session') return;
      const sent = (request.body as Record<string, unknown> | null | undefined)?.csrf_token;
      if (!csrfValid(ctx, request, request.auth.session, sent)) throw new CsrfError();
    });
  },
  { name: 'gatehouse-auth', dependencies: ['@fastify/cookie'] },
);

/** The authenticated principal; only call from routes whose access is not `public`. */
export function principal(request: FastifyRequest): Principal {
  if (!request.auth) throw new UnauthenticatedError();
  return request.auth.principal;
}

