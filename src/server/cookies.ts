import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import type { NewSession } from '../sessions/sessions.service.js';
import { randomToken } from '../sessions/tokens.js';

/** The session cookie's name when cookies may travel over plain HTTP (development, COOKIE_SECURE=auto/false). */
const SESSION_COOKIE_BASE = 'gatehouse_session';
/**
 * Its name when cookies are always Secure. Browsers accept a `__Host-` cookie only with Secure,
 * Path=/ and no Domain, so a sibling subdomain cannot plant (toss) one of its own beside ours.
 */
const SESSION_COOKIE_HOST_ONLY = `__Host-${SESSION_COOKIE_BASE}`;
/**
 * Its name when cookies are always Secure and COOKIE_DOMAIN is set. A `__Host-` cookie must have
 * no Domain, so browsers would drop ours; `__Secure-` still forbids a plain-HTTP page from setting
 * it, but not a sibling host on HTTPS: that is the price of sharing the cookie (docs/forward-auth.md).
 */
const SESSION_COOKIE_SHARED = `__Secure-${SESSION_COOKIE_BASE}`;
/** Readable by the page's script, which echoes it in X-CSRF-Token. */
export const CSRF_COOKIE = 'csrf_token';

/**
 * The cookie settings these helpers read. COOKIE_DOMAIN is optional in the type so that route
 * plugins keep their narrow `Pick<Config, 'cookieSecure'>`: app.ts hands every one of them the
 * whole config, so it is there at run time; absent means host-only cookies.
 */
type CookieConfig = Pick<Config, 'cookieSecure'> & Partial<Pick<Config, 'cookieDomain'>>;

/**
 * The session cookie's one fixed name for this configuration: every reader and writer asks here.
 * `__Host-` needs Secure on every answer, which only COOKIE_SECURE=true (set, or `auto` in
 * production with an https PUBLIC_URL) guarantees; `auto` in development also answers plain HTTP.
 * The cookies are host-only (no Domain attribute), as the prefix also requires, unless
 * COOKIE_DOMAIN is set: then `__Secure-`, the strongest prefix a cookie with a Domain may carry.
 */
export function sessionCookieName(config: CookieConfig): string {
  if (config.cookieSecure !== 'true') return SESSION_COOKIE_BASE;
  return config.cookieDomain ? SESSION_COOKIE_SHARED : SESSION_COOKIE_HOST_ONLY;
}

function secure(request: FastifyRequest, config: CookieConfig): boolean {
  return config.cookieSecure === 'true' || (config.cookieSecure === 'auto' && request.protocol === 'https');
}

function baseOptions(request: FastifyRequest, config: CookieConfig, maxAge?: number) {
  return {
    path: '/',
    sameSite: 'lax' as const,
    secure: secure(request, config),
    ...(config.cookieDomain ? { domain: config.cookieDomain } : {}),
    ...(maxAge !== undefined ? { maxAge } : {}),
  };
}

/**
 * With COOKIE_DOMAIN, a host-only cookie of the same name left from before it was set would be
 * sent first and shadow the shared one (a stale session that signs the user out on every login):
 * expire those alongside.
 */
function clearHostOnlyTwins(request: FastifyRequest, reply: FastifyReply, config: CookieConfig): void {
  if (!config.cookieDomain) return;
  const hostOnly = { ...baseOptions(request, config), domain: undefined };
  if (config.cookieSecure !== 'true') reply.clearCookie(SESSION_COOKIE_BASE, { ...hostOnly, httpOnly: true });
  reply.clearCookie(CSRF_COOKIE, hostOnly);
}

/** Session and CSRF cookies share path, SameSite, Secure and lifetime; only the session one is HttpOnly. */
export function setSessionCookies(
  request: FastifyRequest,
  reply: FastifyReply,
  config: CookieConfig & Pick<Config, 'sessionMaxAge'>,
  session: NewSession,
): void {
  const maxAge = session.persistent ? config.sessionMaxAge : undefined;
  clearHostOnlyTwins(request, reply, config);
  reply.setCookie(sessionCookieName(config), session.token, { ...baseOptions(request, config, maxAge), httpOnly: true });
  reply.setCookie(CSRF_COOKIE, session.csrfToken, { ...baseOptions(request, config, maxAge), httpOnly: false });
  request.csrfToken = session.csrfToken;
}

export function clearSessionCookies(request: FastifyRequest, reply: FastifyReply, config: CookieConfig): void {
  clearHostOnlyTwins(request, reply, config);
  reply.clearCookie(sessionCookieName(config), { ...baseOptions(request, config), httpOnly: true });
  reply.clearCookie(CSRF_COOKIE, baseOptions(request, config));
}

/** A visitor without a session still needs a CSRF token for the login and signup forms. */
export function ensureCsrfCookie(request: FastifyRequest, reply: FastifyReply, config: CookieConfig): string {
  const existing = request.csrfToken ?? request.cookies[CSRF_COOKIE];
  if (existing && /^[A-Za-z0-9_-]{16,128}$/.test(existing)) return existing;
  const token = randomToken();
  reply.setCookie(CSRF_COOKIE, token, { ...baseOptions(request, config), httpOnly: false });
  request.csrfToken = token;
  return token;
}

/** The form login's second step: its mfa_token, HttpOnly, sent only to /login/mfa. */
export const MFA_COOKIE = 'gatehouse_mfa';

export function setMfaCookie(request: FastifyRequest, reply: FastifyReply, config: CookieConfig, token: string, maxAge: number): void {
  // Gatehouse's own page alone reads it: host-only whatever COOKIE_DOMAIN says.
  reply.setCookie(MFA_COOKIE, token, { ...baseOptions(request, config, maxAge), domain: undefined, path: '/login/mfa', httpOnly: true });
}

export function clearMfaCookie(request: FastifyRequest, reply: FastifyReply, config: CookieConfig): void {
  reply.clearCookie(MFA_COOKIE, { ...baseOptions(request, config), domain: undefined, path: '/login/mfa', httpOnly: true });
}
