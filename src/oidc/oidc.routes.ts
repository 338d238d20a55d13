import type { IncomingMessage } from 'node:http';
import formbody from '@fastify/formbody';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { InteractionDetails, InteractionResults } from 'oidc-provider';
import type Provider from 'oidc-provider';
import { Type } from 'typebox';
import type { LoginService } from '../accounts/login.service.js';
import type { Config } from '../config.js';
import { GatehouseError, InvalidCredentialsError, ValidationError } from '../errors.js';
import { clearSessionCookies, CSRF_COOKIE, ensureCsrfCookie, setSessionCookies } from '../server/cookies.js';
import { assertValidBody, toErrorResponse } from '../server/error-handler.js';
import type { RoutePlugin } from '../server/http.js';
import { sendHtml } from '../server/pages/html.js';
import { oidcProviderPages, renderConsentPage, renderOidcErrorPage, renderOidcLoginPage, renderOidcLogoutPage, renderOidcMfaPage } from '../server/pages/oidc-pages.js';
import type { Authenticator } from '../server/plugins/auth.js';
import { ipRateLimit } from '../server/plugins/rate-limit.js';
import { pageCspAllowingFormTargets } from '../server/plugins/security-headers.js';
import { requestMeta } from '../server/request-meta.js';
import type { NewSession, SessionService, ValidSession } from '../sessions/sessions.service.js';
import { oidcAdminRoutes } from './oidc-admin.routes.js';
import type { OidcClientRecord } from './oidc-clients.repo.js';
import type { OidcService } from './oidc.service.js';
import { authTimeOf, OIDC_MOUNT, OIDC_SCOPES, oidcProviderLibrary } from './provider.js';

export interface OidcRoutesOptions {
  config: Pick<Config, 'oidcEnabled' | 'publicUrl' | 'bodyLimit' | 'cookieSecure' | 'cookieDomain' | 'sessionMaxAge' | 'rateLimits' | 'rateLimitPerIp'>;
  oidc: OidcService;
  logins: LoginService;
  sessions: Pick<SessionService, 'validate'>;
  authenticator: Authenticator;
}

/** Forwarding headers the provider reads; each request to it gets Gatehouse's values instead of the client's. */
const FORWARDING = ['x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-for', 'x-forwarded-port', 'forwarded'] as const;
/** Marks the hand-over from Gatehouse's logout confirmation to the provider's (so it is not sent back to it). */
const CONFIRMED = 'gatehouse_confirmed';

const Uid = Type.Object({ uid: Type.String({ maxLength: 64 }) });
const Text = (max: number) => Type.String({ maxLength: max });
const LoginBody = Type.Object({
  username: Text(1024),
  password: Text(1024),
  remember: Type.Optional(Type.Union([Type.Literal('on'), Type.Literal('true'), Type.Literal('false')])),
  csrf_token: Type.Optional(Text(256)),
});
const MfaBody = Type.Object({
  mfa_token: Text(256),
  code: Type.Optional(Text(64)),
  recovery_code: Type.Optional(Text(64)),
  csrf_token: Type.Optional(Text(256)),
});
const ConsentBody = Type.Object({
  decision: Type.Union([Type.Literal('allow'), Type.Literal('deny')]),
  csrf_token: Type.Optional(Text(256)),
});
const LogoutBody = Type.Object({
  csrf_token: Type.Optional(Text(256)),
  xsrf: Type.Optional(Text(256)),
  logout: Type.Optional(Text(16)),
});

interface Interaction {
  provider: Provider;
  details: InteractionDetails;
  client: OidcClientRecord;
}

/** The `sub` of an id_token_hint (its signature was checked by the provider at the authorization request). */
function hintSubject(hint: string | undefined): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(hint?.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: unknown };
    return typeof payload.sub === 'string' ? payload.sub : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether this sign-in must ask for the password although the browser has a Gatehouse login:
 * the app asked for a fresh login (prompt=login), a login newer than max_age, or another user.
 */
function freshLoginNeeded(details: InteractionDetails, login: ValidSession, nowSeconds: number): boolean {
  const { reasons } = details.prompt;
  if (reasons.includes('login_prompt')) return true;
  if (reasons.includes('max_age') && !(nowSeconds - authTimeOf(login) <= Number(details.params.max_age))) return true;
  if (reasons.includes('id_token_hint') && hintSubject(details.params.id_token_hint) !== String(login.userId)) return true;
  return false;
}

/**
 * Whether the browser's login was made after the sign-in request began: a login on the request's
 * own page (the passkey button) is the fresh one prompt=login and max_age ask for. The request's
 * start is known to the second only, so a login must come in a later second (a login just before
 * the request never counts as made after it).
 */
function loggedInSince(details: Pick<InteractionDetails, 'iat'>, login: ValidSession): boolean {
  return details.iat !== undefined && Date.parse(login.authenticatedAt) >= (details.iat + 1) * 1000;
}

function requestedScopes(details: InteractionDetails): string[] {
  const asked = new Set((details.params.scope ?? '').split(' '));
  return OIDC_SCOPES.filter((scope) => asked.has(scope));
}

/**
 * The OpenID Connect provider under Fastify: its endpoints under /oidc (and discovery at
 * /.well-known/openid-configuration) handed to oidc-provider, and the Gatehouse pages it sends
 * browsers to — signing in (the /login form and its second step, through LoginService), consent,
 * and the confirmation of a logout an app asked for. With OIDC_ENABLED=false none of it exists.
 */
export const oidcRoutes: RoutePlugin<OidcRoutesOptions> = async (app, { config, oidc, logins, sessions, authenticator }) => {
  if (!config.oidcEnabled) return;
  // The ID token key at start; the provider itself on first use (importing oidc-provider costs most of a second).
  app.addHook('onReady', async () => oidc.init());
  oidc.serveOver({ pages: oidcProviderPages, cookieNames: { session: authenticator.cookieName, csrf: CSRF_COOKIE } });
  await app.register(oidcAdminRoutes, { config, oidc });

  const publicUrl = new URL(config.publicUrl);
  const https = publicUrl.protocol === 'https:';
  /** What the provider's answers start with (it may replace them): the JSON answers' protective headers, with a CSP its few HTML pages work under. */
  const baseline: Record<string, string> = {
    'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'same-origin',
    ...(https ? { 'strict-transport-security': 'max-age=31536000; includeSubDomains' } : {}),
  };

  /**
   * Hand a request to oidc-provider. The reply is hijacked after Fastify's own checks ran (host,
   * shutdown, limits) and its response listeners were set (access log, metrics). The provider sees
   * the path below the mount, PUBLIC_URL's scheme and host and Fastify's client address (TRUST_PROXY
   * applied) as its X-Forwarded-* — never what the client sent — so every URL it writes is on
   * PUBLIC_URL, whatever Host the request used.
   */
  async function handOver(request: FastifyRequest, reply: FastifyReply, path: string): Promise<void> {
    const handler = await oidc.host.handler();
    const raw = request.raw as IncomingMessage & { originalUrl?: string };
    const headers = raw.headers as Record<string, string | string[] | undefined>;
    const ip = request.ip;
    const url = raw.url;
    const saved = FORWARDING.map((name) => [name, headers[name]] as const);
    for (const name of FORWARDING) delete headers[name];
    headers['x-forwarded-proto'] = publicUrl.protocol.slice(0, -1);
    headers['x-forwarded-host'] = publicUrl.host;
    headers['x-forwarded-for'] = ip;
    raw.originalUrl = `${OIDC_MOUNT}${path}`;
    raw.url = path;
    reply.hijack();
    for (const [name, value] of Object.entries(baseline)) reply.raw.setHeader(name, value);
    try {
      await handler(raw, reply.raw);
    } catch (error) {
      request.log.error({ err: error }, 'the OpenID Connect provider failed');
      if (reply.raw.headersSent) reply.raw.destroy();
      else reply.raw.writeHead(500, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(JSON.stringify({ error: 'server_error', error_description: 'Something went wrong.' }));
    } finally {
      raw.url = url;
      delete raw.originalUrl;
      for (const [name, value] of saved) {
        if (value === undefined) delete headers[name];
        else headers[name] = value;
      }
    }
  }

  // The provider's endpoints: its own routing, body parsing (the body is left unread here) and errors.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
    const options = { config: { access: 'public' as const, oauth: true as const } };
    scope.route({
      method: ['GET', 'POST', 'OPTIONS'],
      url: `${OIDC_MOUNT}/*`,
      ...options,
      schema: { hide: true },
      handler: async (request, reply) => {
        const path = request.url.slice(OIDC_MOUNT.length);
        // The provider's logout confirmation, posted by its own page without Gatehouse's CSRF token
        // (when its session had no user): with a Gatehouse session, ask on Gatehouse's page first.
        if (request.method === 'POST' && path.split('?')[0] === '/session/end/confirm' && !path.includes(`${CONFIRMED}=`) && (await authenticator.sessionFromCookie(request))) {
          return reply.redirect(`${OIDC_MOUNT}/logout`, 307);
        }
        return handOver(request, reply, path);
      },
    });
    scope.route({
      method: ['GET', 'OPTIONS'],
      url: '/.well-known/openid-configuration',
      ...options,
      // The provider's own document (docs/oidc.md), like its endpoints: not part of Gatehouse's API description.
      schema: { hide: true },
      handler: async (request, reply) => handOver(request, reply, request.url),
    });
  });

  // The pages the provider sends browsers to.
  const pagePath = (uid: string) => `${OIDC_MOUNT}/interaction/${encodeURIComponent(uid)}`;

  /** The interaction this browser is in, if it is the one in the path and has not expired. */
  async function interactionOf(request: FastifyRequest, reply: FastifyReply, uid: string): Promise<Interaction | null> {
    const provider = await oidc.host.provider();
    let details: InteractionDetails;
    try {
      details = await provider.interactionDetails(request.raw, reply.raw);
    } catch (error) {
      if (error instanceof (await oidcProviderLibrary()).errors.SessionNotFound) return null;
      throw error;
    }
    const client = details.uid === uid && details.params.client_id ? await oidc.clients.find(details.params.client_id) : null;
    return client ? { provider, details, client } : null;
  }

  /**
   * The sign-in request of this browser's interaction cookie, when the interaction outlived the
   * provider session it began in (a passkey sign-in on its page replaced the Gatehouse session,
   * and the provider session ended with it): enough to start the request again.
   */
  async function orphanedRequest(request: FastifyRequest, reply: FastifyReply, uid: string): Promise<Pick<InteractionDetails, 'params' | 'iat'> | null> {
    const provider = await oidc.host.provider();
    const cookie = provider.app.createContext(request.raw, reply.raw).cookies.get(provider.cookieName('interaction'), { signed: true });
    if (cookie !== uid) return null;
    const stored = await provider.Interaction.find(uid);
    return stored?.params.client_id ? { params: stored.params, iat: stored.iat } : null;
  }

  function expired(reply: FastifyReply): FastifyReply {
    return sendHtml(reply, 400, renderOidcErrorPage({ status: 400, error: 'invalid_request', description: 'This sign-in request has expired or was not found.' }));
  }

  /** An interaction page: its forms are answered by redirects that end at the client, which the CSP must allow. */
  function sendPage(reply: FastifyReply, status: number, client: OidcClientRecord, html: string): FastifyReply {
    reply.header('content-security-policy', pageCspAllowingFormTargets(client.redirectUris));
    return sendHtml(reply, status, html);
  }

  /** What a sign-in form shows for an error: its status (Retry-After set), the summary line, the field errors. */
  function formFailure(request: FastifyRequest, reply: FastifyReply, error: GatehouseError | undefined) {
    const failure = error ? toErrorResponse(error as never, request) : undefined;
    if (failure?.retryAfter !== undefined) reply.header('Retry-After', String(failure.retryAfter));
    const fields = failure?.body.error.fields;
    return { status: failure?.status ?? 200, error: fields && failure?.body.error.code === 'validation_failed' ? undefined : failure?.body.error.message, fields };
  }

  function loginPage(request: FastifyRequest, reply: FastifyReply, uid: string, client: OidcClientRecord, state: { status?: number; username?: string | undefined; remember?: boolean; error?: GatehouseError; notice?: string }): FastifyReply {
    const { status, error, fields } = formFailure(request, reply, state.error);
    return sendPage(
      reply,
      status,
      client,
      renderOidcLoginPage({
        csrfToken: ensureCsrfCookie(request, reply, config),
        action: `${pagePath(uid)}/login`,
        resume: pagePath(uid),
        clientName: client.clientName,
        username: state.username,
        remember: state.remember,
        notice: state.notice,
        error,
        fields,
      }),
    );
  }

  function mfaPage(request: FastifyRequest, reply: FastifyReply, uid: string, client: OidcClientRecord, mfaToken: string, failed?: GatehouseError): FastifyReply {
    const { status, error, fields } = formFailure(request, reply, failed);
    return sendPage(
      reply,
      status,
      client,
      renderOidcMfaPage({
        csrfToken: ensureCsrfCookie(request, reply, config),
        action: `${pagePath(uid)}/mfa`,
        mfaToken,
        clientName: client.clientName,
        restart: pagePath(uid),
        error,
        fields,
      }),
    );
  }

  /**
   * Start the authorization request again: the browser's Gatehouse login is not the one this
   * request began with (another user logged in meanwhile). After a fresh login, the login the app
   * asked for has just happened: prompt=login and max_age are not asked again.
   */
  function restart(reply: FastifyReply, { details }: { details: Pick<InteractionDetails, 'params'> }, freshLogin: boolean): FastifyReply {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(details.params)) if (typeof value === 'string') params.set(name, value);
    if (freshLogin) {
      const prompts = (params.get('prompt') ?? '').split(' ').filter((p) => p !== '' && p !== 'login');
      if (prompts.length > 0) params.set('prompt', prompts.join(' '));
      else params.delete('prompt');
      params.delete('max_age');
    }
    return reply.redirect(`${OIDC_MOUNT}/auth?${params}`, 303);
  }

  /**
   * Resolve the interaction and send the browser back to the provider. A new Gatehouse login ends
   * the provider session this request began in (it ended with the session the login replaced):
   * then the request starts again, under the new login.
   */
  async function finish(request: FastifyRequest, reply: FastifyReply, interaction: Interaction, result: InteractionResults, merge: boolean, freshLogin = false): Promise<FastifyReply> {
    let to: string;
    try {
      to = await interaction.provider.interactionResult(request.raw, reply.raw, result, { mergeWithLastSubmission: merge });
    } catch (error) {
      if (error instanceof (await oidcProviderLibrary()).errors.SessionNotFound) return restart(reply, interaction, freshLogin);
      throw error;
    }
    return reply.header('cache-control', 'no-store').redirect(to, 303);
  }

  /** The login prompt resolved with the browser's Gatehouse login: its user, auth_time and amr. */
  async function finishLogin(request: FastifyRequest, reply: FastifyReply, interaction: Interaction, login: ValidSession, freshLogin: boolean): Promise<FastifyReply> {
    const accountId = String(login.userId);
    const previous = interaction.details.session?.accountId;
    if (previous !== undefined && previous !== accountId) return restart(reply, interaction, freshLogin);
    return finish(request, reply, interaction, { login: { accountId, amr: [...login.amr], ts: authTimeOf(login), remember: login.persistent } }, false, freshLogin);
  }

  /** A new Gatehouse session from the sign-in form: its cookies, then the login prompt resolved with it. */
  async function signedIn(request: FastifyRequest, reply: FastifyReply, interaction: Interaction, session: NewSession): Promise<FastifyReply> {
    setSessionCookies(request, reply, config, session);
    const login = await sessions.validate(session.token);
    if (!login) throw new InvalidCredentialsError();
    return finishLogin(request, reply, interaction, login, true);
  }

  /** Consent given: the grant gets the scopes asked for, and they are remembered for this user and app. */
  async function allow(request: FastifyRequest, reply: FastifyReply, interaction: Interaction, login: ValidSession): Promise<FastifyReply> {
    const { provider, details, client } = interaction;
    const scopes = requestedScopes(details);
    const accountId = String(login.userId);
    let grant = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
    if (grant && (grant.accountId !== accountId || grant.clientId !== client.clientId)) grant = undefined;
    grant ??= new provider.Grant({ accountId, clientId: client.clientId });
    grant.addOIDCScope(scopes.join(' '));
    const grantId = await grant.save();
    await oidc.grants.remember(login.userId, client.clientId, scopes, requestMeta(request));
    return finish(request, reply, interaction, { consent: { grantId } }, true);
  }

  app.get(
    `${OIDC_MOUNT}/interaction/:uid`,
    { config: { access: 'public' }, schema: { hide: true, params: Uid } },
    async (request, reply) => {
      const { uid } = request.params;
      const interaction = await interactionOf(request, reply, uid);
      const login = await authenticator.sessionFromCookie(request);
      if (!interaction) {
        const orphan = await orphanedRequest(request, reply, uid);
        return orphan ? restart(reply, { details: orphan }, login !== null && loggedInSince(orphan, login)) : expired(reply);
      }
      const { details, client } = interaction;
      if (details.prompt.name === 'login') {
        // A login made after this request began (a passkey sign-in on its page) is the fresh login it asks for.
        if (login && loggedInSince(details, login)) return finishLogin(request, reply, interaction, login, true);
        if (login && !freshLoginNeeded(details, login, Math.floor(Date.now() / 1000))) return finishLogin(request, reply, interaction, login, false);
        return loginPage(request, reply, uid, client, { username: login?.user.username, notice: login ? `${client.clientName} asks you to log in again.` : undefined });
      }
      if (details.prompt.name === 'consent') {
        if (!login || details.session?.accountId !== String(login.userId)) return restart(reply, interaction, false);
        // First-party apps are never asked, prompt=consent included.
        if (client.firstParty) return allow(request, reply, interaction, login);
        const before = new Set(await oidc.grants.allowedScopes(login.userId, client.clientId));
        return sendPage(
          reply,
          200,
          client,
          renderConsentPage({
            csrfToken: ensureCsrfCookie(request, reply, config),
            action: `${pagePath(uid)}/consent`,
            clientName: client.clientName,
            username: login.user.username,
            scopes: requestedScopes(details).map((scope) => ({ scope, isNew: !before.has(scope) })),
          }),
        );
      }
      return sendHtml(reply, 400, renderOidcErrorPage({ status: 400, error: 'invalid_request', description: `Unsupported prompt ${details.prompt.name}.` }));
    },
  );

  await app.register(async (scope) => {
    const forms = scope.withTypeProvider<TypeBoxTypeProvider>();
    await forms.register(formbody, { bodyLimit: config.bodyLimit });

    forms.post(
      `${OIDC_MOUNT}/interaction/:uid/login`,
      { config: { access: 'public', originRule: true, rateLimit: ipRateLimit(config) }, attachValidation: true, schema: { hide: true, params: Uid, body: LoginBody } },
      async (request, reply) => {
        const { uid } = request.params;
        const interaction = await interactionOf(request, reply, uid);
        if (!interaction) return expired(reply);
        if (interaction.details.prompt.name !== 'login') return reply.redirect(pagePath(uid), 303);
        const body = request.body ?? ({} as Partial<typeof request.body>);
        const remember = body.remember === 'on' || body.remember === 'true';
        try {
          assertValidBody(request);
          const outcome = await logins.logIn({ identifier: body.username ?? '', password: body.password ?? '', remember }, requestMeta(request), request.cookies[authenticator.cookieName]);
          if (!outcome.ok && outcome.reason === 'mfa_required') return mfaPage(request, reply, uid, interaction.client, outcome.challenge.mfaToken);
          if (!outcome.ok) throw new InvalidCredentialsError();
          return await signedIn(request, reply, interaction, outcome.credential);
        } catch (error) {
          if (!(error instanceof GatehouseError) || error.statusCode >= 500) throw error;
          return loginPage(request, reply, uid, interaction.client, { username: typeof body.username === 'string' ? body.username : undefined, remember, error });
        }
      },
    );

    forms.post(
      `${OIDC_MOUNT}/interaction/:uid/mfa`,
      { config: { access: 'public', originRule: true, rateLimit: ipRateLimit(config) }, attachValidation: true, schema: { hide: true, params: Uid, body: MfaBody } },
      async (request, reply) => {
        const { uid } = request.params;
        const interaction = await interactionOf(request, reply, uid);
        if (!interaction) return expired(reply);
        if (interaction.details.prompt.name !== 'login') return reply.redirect(pagePath(uid), 303);
        const body = request.body ?? ({} as Partial<typeof request.body>);
        const mfaToken = typeof body.mfa_token === 'string' ? body.mfa_token : '';
        try {
          assertValidBody(request);
          // As at /login/mfa: a blank field is no code (422 when both are), never a wrong one that counts.
          const code = body.code?.trim() ? body.code : undefined;
          const recoveryCode = body.recovery_code?.trim() ? body.recovery_code : undefined;
          if (code === undefined && recoveryCode === undefined) throw new ValidationError({ code: 'Enter the code from your authenticator app, or a recovery code.' });
          const outcome = await logins.completeMfa(mfaToken, { code, recovery_code: recoveryCode }, requestMeta(request), request.cookies[authenticator.cookieName]);
          if (!outcome.ok) throw new InvalidCredentialsError();
          return await signedIn(request, reply, interaction, outcome.credential);
        } catch (error) {
          if (!(error instanceof GatehouseError) || error.statusCode >= 500) throw error;
          return mfaPage(request, reply, uid, interaction.client, mfaToken, error);
        }
      },
    );

    forms.post(
      `${OIDC_MOUNT}/interaction/:uid/consent`,
      { config: { access: 'public', originRule: true, csrf: 'if-session' }, schema: { hide: true, params: Uid, body: ConsentBody } },
      async (request, reply) => {
        const { uid } = request.params;
        const interaction = await interactionOf(request, reply, uid);
        if (!interaction) return expired(reply);
        if (interaction.details.prompt.name !== 'consent') return reply.redirect(pagePath(uid), 303);
        const login = request.auth?.via === 'session' ? request.auth.session : null;
        if (!login || interaction.details.session?.accountId !== String(login.userId)) return restart(reply, interaction, false);
        if (request.body.decision === 'allow') return allow(request, reply, interaction, login);
        return finish(request, reply, interaction, { error: 'access_denied', error_description: 'The user denied the request.' }, false);
      },
    );

    /**
     * The logout confirmation's form (RP-initiated logout). With a Gatehouse session the CSRF token
     * must match, else the page is shown (again): only a click on it ends the session. Then the
     * provider's own confirmation takes the same form (307 keeps the method and body): it ends its
     * session and redirects to the app's post_logout_redirect_uri with its state.
     */
    forms.post(
      `${OIDC_MOUNT}/logout`,
      { config: { access: 'public', originRule: true }, schema: { hide: true, body: LogoutBody } },
      async (request, reply) => {
        const { body } = request;
        const login = await authenticator.sessionFromCookie(request);
        if (login && !authenticator.csrfValid(request, login, body.csrf_token)) {
          const provider = await oidc.host.provider();
          const state = await logoutState(provider, request, reply);
          reply.header('content-security-policy', pageCspAllowingFormTargets(state?.postLogoutRedirectUri ? [state.postLogoutRedirectUri] : []));
          return sendHtml(
            reply,
            200,
            renderOidcLogoutPage({ clientName: state?.clientName, xsrf: body.xsrf ?? '', csrfToken: ensureCsrfCookie(request, reply, config), action: `${OIDC_MOUNT}/logout` }),
          );
        }
        const token = request.cookies[authenticator.cookieName];
        if (login && token && body.logout === 'yes') {
          await oidc.releaseProviderSessions(login.id);
          await logins.logOut(token, requestMeta(request));
          clearSessionCookies(request, reply, config);
        }
        return reply.redirect(`${OIDC_MOUNT}/session/end/confirm?${CONFIRMED}=1`, 307);
      },
    );
  });

  /** The provider session's logout details (the app, where it returns), read from its cookie. */
  async function logoutState(provider: Provider, request: FastifyRequest, reply: FastifyReply): Promise<{ clientName: string | undefined; postLogoutRedirectUri: string | undefined } | null> {
    const jti = provider.app.createContext(request.raw, reply.raw).cookies.get(provider.cookieName('session'), { signed: true });
    const session = jti ? await provider.Session.find(jti) : undefined;
    if (!session?.state) return null;
    const client = session.state.clientId ? await oidc.clients.find(session.state.clientId) : null;
    return { clientName: client?.clientName, postLogoutRedirectUri: session.state.postLogoutRedirectUri };
  }
};
