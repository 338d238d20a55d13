import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config.js';
import { ensureCsrfCookie } from '../cookies.js';
import { toErrorResponse } from '../error-handler.js';
import { renderAuthPage } from './auth-pages.js';
import type { AuthPageKind } from './auth-pages.js';
import { renderForgotPasswordPage, renderInvalidLinkPage, renderLinkPage } from './email-pages.js';
import type { EmailPageKind } from './email-pages.js';
import { sendHtml } from './html.js';
import { renderLoginMfaPage } from './mfa-pages.js';
import { safeNext } from './next-path.js';

/** A failed form post shows the form again with the status the JSON route would give. */
export function renderFormError(config: Pick<Config, 'cookieSecure' | 'forwardAuthHosts'>, page: AuthPageKind | EmailPageKind | 'login-mfa', error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, body, retryAfter } = toErrorResponse(error, request);
  if (status >= 500) request.log.error({ err: error }, 'form request failed');
  if (retryAfter !== undefined) reply.header('Retry-After', String(retryAfter));
  const form = (request.body ?? {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const next = typeof form.next === 'string' ? safeNext(form.next, config.forwardAuthHosts) : undefined;
  const fields = body.error.fields;
  const state = {
    csrfToken: ensureCsrfCookie(request, reply, config),
    error: fields && body.error.code === 'validation_failed' ? undefined : body.error.message,
    fields,
  };
  if (page === 'login-mfa') return sendHtml(reply, status, renderLoginMfaPage({ ...state, next }));
  if (page === 'forgot-password') return sendHtml(reply, status, renderForgotPasswordPage({ ...state, email: text(form.email) }));
  if (page === 'verify-email' || page === 'confirm-email' || page === 'reset-password') {
    // The page of a link carries its token: the same headers as the page the link opened.
    reply.header('Referrer-Policy', 'strict-origin');
    const token = text(form.token);
    if (!token || body.error.code === 'invalid_token') return sendHtml(reply, status, renderInvalidLinkPage(page));
    return sendHtml(reply, status, renderLinkPage(page, { ...state, token }));
  }
  return sendHtml(
    reply,
    status,
    renderAuthPage(page, { ...state, username: text(form.username), email: text(form.email), remember: form.remember === 'on', next }),
  );
}
