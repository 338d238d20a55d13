import formbody from '@fastify/formbody';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import { Type } from 'typebox';
import type { RecentAuthService } from '../accounts/recent-auth.service.js';
import type { Config } from '../config.js';
import { GatehouseError } from '../errors.js';
import { ensureCsrfCookie } from '../server/cookies.js';
import { toErrorResponse } from '../server/error-handler.js';
import type { RoutePlugin } from '../server/http.js';
import { sendHtml } from '../server/pages/html.js';
import { renderRecoveryCodesPage, renderTwoStepPage, renderTwoStepSetupPage } from '../server/pages/two-step-pages.js';
import type { Authenticator } from '../server/plugins/auth.js';
import { principal } from '../server/plugins/auth.js';
import { signInOf } from '../server/recent-auth.js';
import { requestMeta } from '../server/request-meta.js';
import type { MfaService } from './mfa.service.js';

const FormBody = Type.Object({
  csrf_token: Type.Optional(Type.String({ maxLength: 256 })),
  current_password: Type.Optional(Type.String({ maxLength: 1024 })),
  code: Type.Optional(Type.String({ maxLength: 64 })),
});

export interface TwoStepPageRoutesOptions {
  config: Pick<Config, 'bodyLimit' | 'cookieSecure'>;
  mfa: MfaService;
  recentAuth: RecentAuthService;
  authenticator: Authenticator;
}

/**
 * /account/two-step: TOTP set-up, new recovery codes and turning it off, as server pages that work
 * without JavaScript (the React account page uses the JSON routes). Same services, same rules: the
 * password is asked as a one-time re-authentication, forms carry the CSRF field.
 */
export const twoStepPageRoutes: RoutePlugin<TwoStepPageRoutesOptions> = async (app, { config, mfa, recentAuth, authenticator }) => {
  const hidden = { hide: true, tags: ['pages'] };

  async function mainPage(request: FastifyRequest, reply: FastifyReply, status = 200, failure?: GatehouseError): Promise<FastifyReply> {
    const me = principal(request);
    const { totp, recoveryCodesLeft } = await mfa.status(me.id);
    const body = failure ? toErrorResponse(failure, request).body.error : undefined;
    return sendHtml(reply, status, renderTwoStepPage({ csrfToken: ensureCsrfCookie(request, reply, config), username: me.username, totp, recoveryCodesLeft, error: body?.fields ? undefined : body?.message, fields: body?.fields }));
  }

  async function setupPage(request: FastifyRequest, reply: FastifyReply, secret: { secret: string; otpauthUri: string }, status = 200, fields?: Record<string, string>): Promise<FastifyReply> {
    const qrSvg = await QRCode.toString(secret.otpauthUri, { type: 'svg', margin: 2 });
    return sendHtml(reply, status, renderTwoStepSetupPage({ csrfToken: ensureCsrfCookie(request, reply, config), secret: secret.secret, qrSvg, fields }));
  }

  /** The password as a one-time re-authentication, as the JSON routes' *recent* step takes it. */
  async function reauthenticate(request: FastifyRequest, currentPassword: string | undefined): Promise<void> {
    await recentAuth.requireRecent(principal(request).id, signInOf(request), currentPassword ?? '', requestMeta(request));
  }

  app.get('/account/two-step', { config: { access: 'public' }, schema: { ...hidden, summary: 'Two-step verification without JavaScript (HTML)' } }, async (request, reply) => {
    const session = await authenticator.sessionFromCookie(request);
    if (!session) return reply.redirect('/login?next=%2Faccount%2Ftwo-step', 303);
    request.auth = { via: 'session', principal: { id: session.user.id, username: session.user.username, email: session.user.email, emailVerified: session.user.emailVerified, role: session.user.role, createdAt: session.user.createdAt }, session };
    return mainPage(request, reply);
  });

  await app.register(async (scope) => {
    const forms = scope.withTypeProvider<TypeBoxTypeProvider>();
    await forms.register(formbody, { bodyLimit: config.bodyLimit });
    // A failure shows the page again with the status the JSON route would give.
    const recover = (render: (request: FastifyRequest, reply: FastifyReply, error: GatehouseError) => Promise<FastifyReply>) =>
      async (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
        if (!(error instanceof GatehouseError) || error.statusCode >= 500) throw error;
        return render(request, reply, error);
      };
    const options = { schema: { ...hidden, body: FormBody } } as const;

    forms.post('/account/two-step/setup', options, async (request, reply) => {
      try {
        await reauthenticate(request, request.body.current_password);
        return await setupPage(request, reply, await mfa.beginTotp(principal(request)));
      } catch (error) {
        return recover((req, rep, failure) => mainPage(req, rep, failure.statusCode, failure))(error, request, reply);
      }
    });

    forms.post('/account/two-step/confirm', options, async (request, reply) => {
      const me = principal(request);
      try {
        const codes = await mfa.confirmTotp(me, request.body.code ?? '', requestMeta(request));
        return sendHtml(reply.header('Cache-Control', 'no-store'), 200, renderRecoveryCodesPage(codes));
      } catch (error) {
        const pending = await mfa.pendingTotp(me);
        if (pending && error instanceof GatehouseError && error.statusCode === 422) return setupPage(request, reply, pending, 422, toErrorResponse(error, request).body.error.fields);
        return recover((req, rep, failure) => mainPage(req, rep, failure.statusCode, failure))(error, request, reply);
      }
    });

    forms.post('/account/two-step/recovery-codes', options, async (request, reply) => {
      try {
        await reauthenticate(request, request.body.current_password);
        const codes = await mfa.regenerateRecoveryCodes(principal(request), requestMeta(request));
        return sendHtml(reply, 200, renderRecoveryCodesPage(codes));
      } catch (error) {
        return recover((req, rep, failure) => mainPage(req, rep, failure.statusCode, failure))(error, request, reply);
      }
    });

    forms.post('/account/two-step/disable', options, async (request, reply) => {
      try {
        await reauthenticate(request, request.body.current_password);
        await mfa.disableTotp(principal(request), requestMeta(request));
        return reply.redirect('/account/two-step', 303);
      } catch (error) {
        return recover((req, rep, failure) => mainPage(req, rep, failure.statusCode, failure))(error, request, reply);
      }
    });
  });
};
