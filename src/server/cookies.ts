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
/** Readable by the page's script, which echoes it in X-CSRF-Token. */
export const CSRF_COOKIE = 'csrf_token';

/**
 * The session cookie's one fixed name for this configuration: every reader and writer asks here.
 * `__Host-` needs Secure on every answer, which only COOKIE_SECURE=true (set, or `auto` in
 * production with an https PUBLIC_URL) guarantees; `auto` in development also answers plain HTTP.
 * The cookies are host-only (no Domain attribute), as the prefix also requires.
 */
export function sessionCookieName(config: Pick<Config, 'cookieSecure'>): string {
  return config.cookieSecure === 'true' ? SESSION_COOKIE_HOST_ONLY : SESSION_COOKIE_BASE;
}

function secure(request: FastifyRequest, config: Pick<Config, 'cookieSecure'>): boolean {
  return config.cookieSecure === 'true' || (config.cookieSecure === 'auto' && request.protocol === 'https');
}

function baseOptions(request: FastifyRequest, config: Pick<Config, 'cookieSecure'>, maxAge?: number) {
  return {
    path: '/',
    sameSite: 'lax' as const,
    secure: secure(request, config),
    ...(maxAge !== undefined ? { maxAge } : {}),
  };
}

/** Session and CSRF cookies share path, SameSite, Secure and lifetime; only the session one is HttpOnly. */
export function setSessionCookies(
  request: FastifyRequest,
  reply: FastifyReply,
  config: Pick<Config, 'cookieSecure' | 'sessionMaxAge'>,
  session: NewSession,
): void {
  const maxAge = session.persistent ? config.sessionMaxAge : undefined;
  reply.setCookie(sessionCookieName(config), session.token, { ...baseOptions(request, config, maxAge), httpOnly: true });
  reply.setCookie(CSRF_COOKIE, session.csrfToken, { ...baseOptions(request, config, maxAge), httpOnly: false });
  request.csrfToken = session.csrfToken;
}

export function clearSessionCookies(request: FastifyRequest, reply: FastifyReply, config: Pick<Config, 'cookieSecure'>): void {
  reply.clearCookie(sessionCookieName(config), { ...baseOptions(request, config), httpOnly: true });
  reply.clearCookie(CSRF_COOKIE, baseOptions(request, config));
}

/** A visitor without a session still needs a CSRF token for the login and signup forms. */
export function ensureCsrfCookie(request: FastifyRequest, reply: FastifyReply, config: Pick<Config, 'cookieSecure'>): string {
  const existing = request.csrfToken ?? request.cookies[CSRF_COOKIE];
  if (existing && /^[A-Za-z0-9_-]{16,128}$/.test(existing)) return existing;
  const token = randomToken();
  reply.setCookie(CSRF_COOKIE, token, { ...baseOptions(request, config), httpOnly: false });
  request.csrfToken = token;
  return token;
}

/** The form login's second step: its mfa_token, HttpOnly, sent only to /login/mfa. */
export const MFA_COOKIE = 'gatehouse_mfa';

export function setMfaCookie(request: FastifyRequest, reply: FastifyReply, config: Pick<Config, 'cookieSecure'>, token: string, maxAge: number): void {
  reply.setCookie(MFA_COOKIE, token, { ...baseOptions(request, config, maxAge), path: '/login/mfa', httpOnly: true });
}

export function clearMfaCookie(request: FastifyRequest, reply: FastifyReply, config: Pick<Config, 'cookieSecure'>): void {
  reply.clearCookie(MFA_COOKIE, { ...baseOptions(request, config), path: '/login/mfa', httpOnly: true });
}
