import formbody from '@fastify/formbody';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Config } from '../config.js';
import { ValidationError } from '../errors.js';
import { ensureCsrfCookie } from '../server/cookies.js';
import { assertValidBody } from '../server/error-handler.js';
import type { RoutePlugin } from '../server/http.js';
import { renderForgotPasswordPage, renderForgotPasswordSentPage, renderInvalidLinkPage, renderLinkPage } from '../server/pages/email-pages.js';
import type { LinkPageKind } from '../server/pages/email-pages.js';
import { sendHtml } from '../server/pages/html.js';
import { isFormPost } from '../server/plugins/auth.js';
import { ipRateLimit } from '../server/plugins/rate-limit.js';
import { requestMeta } from '../server/request-meta.js';
import { errorResponses, UserRef } from '../server/schemas.js';
import type { EmailService } from './email.service.js';
import type { PasswordResetService } from './password-reset.service.js';
import { userJson } from './user-json.js';

const Text = (max: number) => Type.String({ maxLength: max });
const CsrfField = { csrf_token: Type.Optional(Text(256)) };

const TokenBody = Type.Object({ token: Type.Optional(Text(256)), ...CsrfField });
const ForgotBody = Type.Object({ email: Text(1024), ...CsrfField });
const ResetBody = Type.Object({ token: Type.Optional(Text(256)), password: Text(1024), password_confirmation: Type.Optional(Text(1024)), ...CsrfField });
const TokenQuery = Type.Object({ token: Type.Optional(Type.String({ maxLength: 256 })) });

/** The token of a link POST: missing or empty is a 422 on `token` (the contract), anything else is looked up. */
function tokenOf(body: { token?: string | undefined }): string {
  if (!body.token) throw new ValidationError({ token: 'The link has no token: open the link from the mail again.' });
  return body.token;
}

/**
 * A link page: the token is in its address, so it sends no referrer beyond our origin
 * (`strict-origin`, not `no-referrer`: under that browsers post the button with `Origin: null`,
 * which the Origin rule refuses) and is never cached.
 */
export function sendLinkPage(reply: FastifyReply, status: number, html: string): FastifyReply {
  return sendHtml(reply.header('Referrer-Policy', 'strict-origin'), status, html);
}

export interface LinkPageRoutesOptions {
  config: Pick<Config, 'bodyLimit' | 'cookieSecure' | 'rateLimits' | 'rateLimitPerIp'>;
  email: EmailService;
  passwordReset: PasswordResetService;
}

/**
 * The routes a mailed link leads to, and a forgotten password: pre-session, under the Origin rule
 * and RATE_LIMIT_PER_IP like /login, JSON or HTML forms alike. A GET shows a page and never acts.
 */
export const linkPageRoutes: RoutePlugin<LinkPageRoutesOptions> = async (app, { config, email, passwordReset }) => {
  const preSession = { access: 'public', originRule: true, rateLimit: ipRateLimit(config) } as const;

  /** GET of a link: the page, or the 401 page for a token that is not live. Nothing is spent. */
  const linkPage = (kind: LinkPageKind, check: (token: string) => Promise<unknown>) => async (request: FastifyRequest<{ Querystring: { token?: string | undefined } }>, reply: FastifyReply) => {
    const token = request.query.token ?? '';
    try {
      await check(token);
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'invalid_token') throw error;
      return sendLinkPage(reply, 401, renderInvalidLinkPage(kind));
    }
    return sendLinkPage(reply, 200, renderLinkPage(kind, { csrfToken: ensureCsrfCookie(request, reply, config), token }));
  };
  const pageSchema = (summary: string) => ({ summary, tags: ['pages'], querystring: TokenQuery });

  app.get('/verify-email', { config: { access: 'public' }, schema: pageSchema('The link of a verification mail: a page whose button POSTs /email/verify (401 page for a bad token)') }, linkPage('verify-email', (token) => email.checkLink(token, 'verify-email')));
  app.get('/email/confirm', { config: { access: 'public' }, schema: pageSchema('The link of an email-change mail: a page whose button POSTs /email/confirm (401 page for a bad token)') }, linkPage('confirm-email', (token) => email.checkLink(token, 'email-change')));
  app.get('/password/reset', { config: { access: 'public' }, schema: pageSchema('The link of a reset mail: the new-password form (401 page for a bad token)') }, linkPage('reset-password', (token) => passwordReset.checkToken(token)));

  app.get('/password/forgot', { config: { access: 'public' }, schema: { summary: 'The forgot-password form (HTML)', tags: ['pages'] } }, async (request, reply) =>
    sendHtml(reply, 200, renderForgotPasswordPage({ csrfToken: ensureCsrfCookie(request, reply, config) })),
  );

  await app.register(async (scope) => {
    const forms = scope.withTypeProvider<TypeBoxTypeProvider>();
    await forms.register(formbody, { bodyLimit: config.bodyLimit });

    forms.post(
      '/email/verify',
      {
        config: { ...preSession, formPage: 'verify-email' },
        attachValidation: true,
        schema: {
          summary: 'Verify the address a verification link was sent to (form: 303 to /)',
          tags: ['account'],
          body: TokenBody,
          response: { 200: UserRef, ...errorResponses(400, 401, 403, 413, 415, 422, 429, 503) },
        },
      },
      async (request, reply) => {
        assertValidBody(request);
        const user = await email.verify(tokenOf(request.body), requestMeta(request));
        if (isFormPost(request)) return reply.redirect('/', 303);
        return userJson(user);
      },
    );

    forms.post(
      '/email/confirm',
      {
        config: { ...preSession, formPage: 'confirm-email' },
        attachValidation: true,
        schema: {
          summary: 'Confirm an email change: the new address becomes the account\'s, verified (form: 303 to /)',
          description: '409 email_taken when another account took the address meanwhile; the token is kept.',
          tags: ['account'],
          body: TokenBody,
          response: { 200: UserRef, ...errorResponses(400, 401, 403, 409, 413, 415, 422, 429, 503) },
        },
      },
      async (request, reply) => {
        assertValidBody(request);
        const user = await email.confirmChange(tokenOf(request.body), requestMeta(request));
        if (isFormPost(request)) return reply.redirect('/', 303);
        return userJson(user);
      },
    );

    forms.post(
      '/password/forgot',
      {
        config: { ...preSession, formPage: 'forgot-password' },
        attachValidation: true,
        schema: {
          summary: 'Ask for a password reset link: the same answer for every address (form: a page, 200)',
          description: 'Answered before the address is looked up; a user with that address who is not disabled gets a link to /password/reset.',
          tags: ['account'],
          body: ForgotBody,
          response: { 202: Type.Object({}), ...errorResponses(400, 403, 413, 415, 422, 429) },
        },
      },
      async (request, reply) => {
        assertValidBody(request);
        const address = request.body.email.trim();
        if (!address) throw new ValidationError({ email: 'Enter the email address of your account.' });
        passwordReset.requestReset(address, requestMeta(request));
        if (isFormPost(request)) return sendHtml(reply, 200, renderForgotPasswordSentPage());
        return reply.status(202).send({});
      },
    );

    forms.post(
      '/password/reset',
      {
        config: { ...preSession, formPage: 'reset-password' },
        attachValidation: true,
        schema: {
          summary: 'Set a new password with a reset link (form: 303 to /login)',
          description: 'Order: token (401 invalid_token) → password rules (422; the token is kept). Ends every session and token login of the user.',
          tags: ['account'],
          body: ResetBody,
          response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 413, 415, 422, 429, 503) },
        },
      },
      async (request, reply) => {
        const token = tokenOf(request.body ?? {});
        // The token first (401), then the body's other fields (422): the contract's order.
        await passwordReset.checkToken(token);
        assertValidBody(request);
        const { password, password_confirmation: confirmation } = request.body;
        await passwordReset.reset(token, password, confirmation, requestMeta(request));
        if (isFormPost(request)) return reply.redirect('/login', 303);
        return reply.status(204).send(null);
      },
    );
  });
};
