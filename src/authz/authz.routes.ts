import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Principal } from '../accounts/principal.js';
import { principalOf } from '../accounts/principal.js';
import type { Config } from '../config.js';
import { ForbiddenError, InvalidTokenError, UnauthenticatedError } from '../errors.js';
import type { RoutePlugin } from '../server/http.js';
import type { Authenticator } from '../server/plugins/auth.js';
import { errorResponses } from '../server/schemas.js';
import { ForwardAuthPolicy } from './forward-auth.service.js';
import type { ProtectedHost } from './forward-auth.service.js';
import { normalizedHostname } from './host-patterns.js';

export interface AuthzRoutesOptions {
  config: Pick<Config, 'publicUrl' | 'forwardAuthHosts' | 'forwardAuthRules'>;
  authenticator: Authenticator;
}

const IDENTITY_HEADERS = ['remote-user', 'remote-email', 'remote-groups', 'remote-user-id'] as const;
const BROWSER_METHODS = new Set(['GET', 'HEAD']);
const HOST_REFUSED = 'This host is not one Gatehouse protects (FORWARD_AUTH_HOSTS), or the proxy did not say which host it is.';
const ROLE_REFUSED = 'Your account may not use this application.';

/** A header as one string: Node joins a repeated one with ", ", which then parses as no host. */
function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** Whether an Accept header names text/html (with a q above 0); `*\/*` alone does not. */
function namesHtml(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  for (const range of accept.split(',')) {
    const [type = '', ...parameters] = range.split(';');
    if (type.trim().toLowerCase() !== 'text/html') continue;
    const q = parameters.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('q='));
    if (q !== undefined && !(Number(q.slice(2)) > 0)) continue;
    return true;
  }
  return false;
}

/** The original request's URL as Traefik and Caddy describe it, on the protected host it named. */
function forwardedUrl(request: FastifyRequest, authority: string, host: ProtectedHost, defaultScheme: string): string {
  const proto = header(request, 'x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
  const scheme = proto === 'http' || proto === 'https' ? proto : defaultScheme;
  const uri = header(request, 'x-forwarded-uri');
  // An origin-form path only; anything else (or a path that would move the URL to another host) means the host's root.
  const path = uri !== undefined && uri.startsWith('/') && !/[\s\\]/.test(uri) ? uri : '/';
  try {
    const url = new URL(`${scheme}://${authority}${path}`);
    if (normalizedHostname(url) === host.hostname) return url.href;
  } catch {
    // Falls through to the root.
  }
  return new URL(`${scheme}://${authority}/`).href;
}

/** X-Original-URL as an absolute http(s) URL without user info, or null (then 403). */
function originalUrl(value: string | undefined): URL | null {
  if (value === undefined || value.length > 8192 || !/^https?:\/\/[^/]/i.test(value)) return null;
  try {
    const url = new URL(value);
    return url.username === '' && url.password === '' ? url : null;
  } catch {
    return null;
  }
}

const FORWARD_AUTH_DESCRIPTION = `For Traefik ForwardAuth and Caddy forward_auth (docs/forward-auth.md). Reads X-Forwarded-Host (required: a host in FORWARD_AUTH_HOSTS, else 403), X-Forwarded-Proto, X-Forwarded-Uri and X-Forwarded-Method (default: PUBLIC_URL's scheme, / and GET), whatever TRUST_PROXY says. The credential is the session cookie or a bearer token. 200 with Remote-User, Remote-Email, Remote-Groups and Remote-User-Id; signed out: 302 to PUBLIC_URL/login?next=<original URL> for a GET or HEAD whose Accept names text/html and that has no Authorization, else 401; signed in without the role FORWARD_AUTH_RULES asks for the host: 403. Always Cache-Control: no-store; any failure is a denial.`;
const AUTH_REQUEST_DESCRIPTION = `For nginx auth_request (docs/forward-auth.md). Reads X-Original-URL (required: an absolute http(s) URL on a host in FORWARD_AUTH_HOSTS, else 403) and X-Original-Method, whatever TRUST_PROXY says. The credential is the session cookie or a bearer token. 200 with Remote-User, Remote-Email, Remote-Groups and Remote-User-Id; signed out: always 401 with X-Gatehouse-Redirect: PUBLIC_URL/login?next=<original URL>; signed in without the role FORWARD_AUTH_RULES asks for the host: 403. Always Cache-Control: no-store; any failure is a denial.`;

const identityHeaders = Object.fromEntries(IDENTITY_HEADERS.map((name) => [name, { schema: { type: 'string' } }]));

/**
 * GET /api/authz/forward-auth and GET /api/authz/auth-request: forward authentication for reverse
 * proxies, as the contract orders it — the host check first (403, no redirect), then the
 * credential, then FORWARD_AUTH_RULES. Public at the auth layer (they read the credential
 * themselves, and a signed-out answer is theirs to shape). They run on every proxied request:
 * a session or token check from the same caches, no database write beyond the session's
 * once-a-minute "last seen", and nothing else.
 *
 * Fail closed: the one 200 is sent after every check has passed; any exception goes to the error
 * handler (500 or 503), and this scope's onSend hook strips the identity headers from every
 * answer that is not that 200.
 */
export const authzRoutes: RoutePlugin<AuthzRoutesOptions> = async (app, { config, authenticator }) => {
  const policy = new ForwardAuthPolicy(config);
  const loginUrl = (next: string) => `${config.publicUrl}/login?next=${encodeURIComponent(next)}`;
  const publicScheme = new URL(config.publicUrl).protocol.slice(0, -1);

  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('cache-control', 'no-store');
    if (reply.statusCode !== 200) for (const name of IDENTITY_HEADERS) reply.removeHeader(name);
    done(null, payload);
  });

  /**
   * The principal behind the request's credential, or null. When an Authorization header is
   * present it is the only credential (v1.1); a disabled user's session or token counts as none.
   */
  async function principalOfRequest(request: FastifyRequest): Promise<{ principal: Principal | null; invalidToken: boolean }> {
    if (request.headers.authorization === undefined) {
      const session = await authenticator.sessionFromCookie(request);
      return { principal: session ? principalOf(session.user) : null, invalidToken: false };
    }
    try {
      return { principal: (await authenticator.authenticate(request)).principal, invalidToken: false };
    } catch (error) {
      if (error instanceof InvalidTokenError || error instanceof UnauthenticatedError) return { principal: null, invalidToken: true };
      throw error;
    }
  }

  /** The one 200: every check passed. */
  function allow(reply: FastifyReply, principal: Principal): FastifyReply {
    return reply.headers(policy.identityHeaders(principal)).code(200).send();
  }

  const signedOut = (invalidToken: boolean) => (invalidToken ? new InvalidTokenError() : new UnauthenticatedError());

  app.get(
    '/api/authz/forward-auth',
    {
      config: { access: 'public' },
      schema: {
        summary: 'Forward authentication for Traefik and Caddy',
        description: FORWARD_AUTH_DESCRIPTION,
        tags: ['forward-auth'],
        security: [{ bearer: [] }, { session: [] }],
        response: {
          200: Type.Null({ description: 'Allowed: the identity headers', headers: identityHeaders }),
          302: Type.Null({ description: 'Signed out, from a browser: Location is the login page, which returns to the original URL' }),
          ...errorResponses(401, 403, 500, 503),
        },
      },
    },
    async (request, reply) => {
      const authority = header(request, 'x-forwarded-host');
      const host = policy.hostFromAuthority(authority);
      if (host === null || authority === undefined) throw new ForbiddenError(HOST_REFUSED);
      const { principal, invalidToken } = await principalOfRequest(request);
      const verdict = policy.verdict(host, principal);
      if (verdict === 'allow' && principal !== null) return allow(reply, principal);
      if (verdict === 'role_refused') throw new ForbiddenError(ROLE_REFUSED);
      // Signed out. Only a browser's page load is sent to the login page; scripts and API clients get a 401.
      const method = header(request, 'x-forwarded-method')?.trim().toUpperCase() ?? 'GET';
      if (request.headers.authorization !== undefined || !BROWSER_METHODS.has(method) || !namesHtml(header(request, 'accept'))) throw signedOut(invalidToken);
      return reply.redirect(loginUrl(forwardedUrl(request, authority, host, publicScheme)), 302);
    },
  );

  app.get(
    '/api/authz/auth-request',
    {
      config: { access: 'public' },
      schema: {
        summary: 'Forward authentication for nginx auth_request',
        description: AUTH_REQUEST_DESCRIPTION,
        tags: ['forward-auth'],
        security: [{ bearer: [] }, { session: [] }],
        response: {
          200: Type.Null({ description: 'Allowed: the identity headers', headers: identityHeaders }),
          ...errorResponses(401, 403, 500, 503),
        },
      },
    },
    async (request, reply) => {
      const url = originalUrl(header(request, 'x-original-url'));
      const host = url === null ? null : policy.hostFromUrl(url);
      if (host === null || url === null) throw new ForbiddenError(HOST_REFUSED);
      // X-Original-Method changes nothing here: nginx turns the 401 into a redirect or not (docs/forward-auth.md).
      const { principal, invalidToken } = await principalOfRequest(request);
      const verdict = policy.verdict(host, principal);
      if (verdict === 'allow' && principal !== null) return allow(reply, principal);
      if (verdict === 'role_refused') throw new ForbiddenError(ROLE_REFUSED);
      reply.header('x-gatehouse-redirect', loginUrl(url.href));
      throw signedOut(invalidToken);
    },
  );
};
