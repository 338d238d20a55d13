import type {} from '@fastify/cookie';
import fp from 'fastify-plugin';
import type { FastifyContextConfig, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../accounts/principal.js';
import { principalOf } from '../../accounts/principal.js';
import { CsrfError, ForbiddenError, InvalidTokenError, OriginRefusedError, UnauthenticatedError } from '../../errors.js';
import type { SessionService, ValidSession } from '../../sessions/sessions.service.js';
import { constantTimeEqual } from '../../sessions/tokens.js';
import type { TokenService } from '../../tokens/tokens.service.js';
import { CSRF_COOKIE } from '../cookies.js';
import '../http.js';

export type Authentication =
  | { via: 'session'; principal: Principal; session: ValidSession }
  | { via: 'bearer'; principal: Principal; sessionId: string; tokenId: string; authenticatedAt: string };

declare module 'fastify' {
  interface FastifyRequest {
    auth: Authentication | null;
    /** The CSRF token this response set or the request carried, for rendering forms. */
    csrfToken: string | undefined;
    /** A cookie-authenticated form post whose CSRF token is in the body, checked once it is parsed. */
    csrfFromBody: boolean;
  }
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;

export function isUnsafe(request: FastifyRequest): boolean {
  return UNSAFE_METHODS.has(request.method);
}

export function isFormPost(request: FastifyRequest): boolean {
  return (request.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
}

/** Whether the route's plugin scope registered a urlencoded parser (only the HTML form routes do). */
function acceptsForms(request: FastifyRequest): boolean {
  return request.server.hasContentTypeParser('application/x-www-form-urlencoded');
}

/**
 * Who a request comes from, for the API and the pages alike: a bearer token (when an
 * Authorization header is present it is the only credential considered) or the session cookie.
 */
export class Authenticator {
  readonly #ownOrigin: string;

  constructor(
    private readonly sessions: Pick<SessionService, 'validate' | 'csrfMatches'>,
    private readonly tokens: Pick<TokenService, 'verifyAccessToken'>,
    /** The session cookie's name (see cookies.ts: `__Host-` when cookies are always Secure). */
    readonly cookieName: string,
    publicUrl: string,
  ) {
    this.#ownOrigin = new URL(publicUrl).origin;
  }

  /** The session behind the cookie alone, as /check_session, the logout routes and the pages read it. */
  sessionFromCookie(request: FastifyRequest): Promise<ValidSession | null> {
    const token = request.cookies[this.cookieName];
    return token ? this.sessions.validate(token) : Promise.resolve(null);
  }

  /**
   * The request's credential: the bearer token when an Authorization header is present, else the
   * session cookie. Throws 401 (`invalid_token` with the reason in the log, or `unauthenticated`).
   */
  async authenticate(request: FastifyRequest): Promise<Authentication> {
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const token = BEARER.exec(authorization)?.[1];
      const verified = token ? await this.tokens.verifyAccessToken(token) : { refused: 'malformed' as const };
      if ('refused' in verified) throw new InvalidTokenError(undefined, verified.detail ? `${verified.refused}: ${verified.detail}` : verified.refused);
      return { via: 'bearer', principal: verified.principal, sessionId: verified.sessionId, tokenId: verified.tokenId, authenticatedAt: verified.authenticatedAt };
    }
    const session = await this.sessionFromCookie(request);
    if (!session) throw new UnauthenticatedError();
    return { via: 'session', principal: principalOf(session.user), session };
  }

  /** Who is signed in, for a page: like `authenticate`, but null instead of a 401 (the page redirects). */
  async identify(request: FastifyRequest): Promise<Principal | null> {
    try {
      return (await this.authenticate(request)).principal;
    } catch (error) {
      if (error instanceof UnauthenticatedError || error instanceof InvalidTokenError) return null;
      throw error;
    }
  }

  /** The contract's Origin rule: cross-site unsafe requests that carry our session (or log in) are refused. */
  originAllowed(request: FastifyRequest): boolean {
    if (request.headers['sec-fetch-site'] === 'cross-site') return false;
    const origin = request.headers.origin;
    if (origin === undefined) return true;
    return this.isOwnOrigin(request, origin);
  }

  /** PUBLIC_URL's origin, or the request's own scheme and Host. */
  isOwnOrigin(request: FastifyRequest, origin: string): boolean {
    return origin === this.#ownOrigin || origin === `${request.protocol}://${request.host}`;
  }

  /** The CSRF value a request sent must equal its cookie and be the one bound to its session. */
  csrfValid(request: FastifyRequest, session: ValidSession, sent: unknown): boolean {
    const cookie = request.cookies[CSRF_COOKIE];
    return typeof sent === 'string' && typeof cookie === 'string' && constantTimeEqual(sent, cookie) && this.sessions.csrfMatches(session, sent);
  }

  /**
   * CSRF for an unsafe request on a live session: the X-CSRF-Token header, checked now (before the
   * body is read), or — only where the route reads forms — the `csrf_token` field, checked once the
   * form is parsed (the preValidation hook below).
   */
  checkCsrf(request: FastifyRequest, session: ValidSession): void {
    const header = request.headers['x-csrf-token'];
    if (header === undefined && isFormPost(request) && acceptsForms(request)) request.csrfFromBody = true;
    else if (!this.csrfValid(request, session, header)) throw new CsrfError();
  }
}

type Hook = (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => void;

function asArray<T>(value: T | readonly T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? [...(value as readonly T[])] : [value as T];
}

/**
 * The Origin rule, authentication and the CSRF header for one route. Its config is read at the
 * first request, once every onRoute hook has had its say (a scope may mark its routes public).
 */
function authenticationHook(authenticator: Authenticator, routeConfig: () => FastifyContextConfig): Hook {
  let config: FastifyContextConfig | undefined;
  return (request, _reply, done) => {
    config ??= routeConfig();
    const access = config.access ?? 'user';
    const unsafe = isUnsafe(request);
    if (unsafe && (config.originRule || request.cookies[authenticator.cookieName] !== undefined) && !authenticator.originAllowed(request)) {
      return done(new OriginRefusedError());
    }
    if (access === 'public') {
      if (!(unsafe && config.csrf === 'if-session')) return done();
      // Nothing to protect without a live session; with one, the route acts on it, so CSRF applies.
      authenticator
        .sessionFromCookie(request)
        .then((session) => {
          if (!session) return;
          request.auth = { via: 'session', principal: principalOf(session.user), session };
          authenticator.checkCsrf(request, session);
        })
        .then(() => done(), done);
      return;
    }
    authenticator
      .authenticate(request)
      .then((auth) => {
        request.auth = auth;
        if (unsafe && auth.via === 'session') authenticator.checkCsrf(request, auth.session);
        return access === 'admin' && auth.principal.role !== 'admin' ? new ForbiddenError() : undefined;
      })
      .then(done, done);
  };
}

/** The CSRF token of a cookie-authenticated form post, checked once the form is parsed. */
function csrfFromBodyHook(authenticator: Authenticator): Hook {
  return (request, _reply, done) => {
    if (!request.csrfFromBody || request.auth?.via !== 'session') return done();
    const sent = (request.body as Record<string, unknown> | null | undefined)?.csrf_token;
    done(authenticator.csrfValid(request, request.auth.session, sent) ? undefined : new CsrfError());
  };
}

/**
 * One authentication layer for every route, run before the body is read so the contract's order
 * holds: Origin (403) → authentication (401) → CSRF (403) → body (400/413/415) → validation (422).
 * Each route says what it needs in its config: `access`, `originRule`, `csrf` (see http.ts).
 */
export const authPlugin = fp(
  async (app: FastifyInstance, { authenticator }: { authenticator: Authenticator }) => {
    app.decorateRequest('auth', null);
    app.decorateRequest('csrfToken', undefined);
    app.decorateRequest('csrfFromBody', false);

    // Each route gets the hooks its config asks for, built once when it is added: a route that needs
    // none (a safe public one, such as /check_session) runs none, and no request reads
    // `request.routeOptions`, which Fastify builds anew on every access. Callback-style, not
    // async: an async hook costs a promise on every request.
    app.addHook('onRoute', (route) => {
      const declared: FastifyContextConfig = route.config ?? {};
      // The OpenID Connect provider's endpoints: its clients authenticate themselves (or are public).
      if (declared.oauth) return;
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const unsafe = methods.some((method) => UNSAFE_METHODS.has(method));
      // First among the route's own hooks (a rate limit's among them): Origin and authentication
      // answer before anything counts the request. New arrays: a GET's options are copied for its HEAD route.
      if (declared.access !== 'public' || unsafe) route.onRequest = [authenticationHook(authenticator, () => route.config ?? {}), ...asArray(route.onRequest)];
      if (unsafe) route.preValidation = [csrfFromBodyHook(authenticator), ...asArray(route.preValidation)];
    });
  },
  { name: 'gatehouse-auth', dependencies: ['@fastify/cookie'] },
);

/** The authenticated principal; only call from routes whose access is not `public`. */
export function principal(request: FastifyRequest): Principal {
  if (!request.auth) throw new UnauthenticatedError();
  return request.auth.principal;
}
