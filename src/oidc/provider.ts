import { hkdfSync } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import type * as OidcProviderModule from 'oidc-provider';
import type { AccountLookupToken, ClientInstance, Configuration, GrantInstance, KoaContext, SessionInstance } from 'oidc-provider';
import type { JWK } from 'jose';
import { findUserById } from '../accounts/accounts.repo.js';
import type { Config } from '../config.js';
import { UnavailableError } from '../errors.js';
import type { RequestMeta } from '../audit/request-meta.js';
import type { SessionService, ValidSession } from '../sessions/sessions.service.js';
import { constantTimeEqual, sha256Hex } from '../sessions/tokens.js';
import type { Db } from '../storage/database.js';
import type { KeyRing } from '../tokens/keys.js';
import { findConsent } from './oidc-clients.repo.js';
import { bindProviderSession, OidcStorageAdapter } from './oidc-payloads.repo.js';

/** Where the provider's endpoints live under PUBLIC_URL (discovery is also at the root). */
export const OIDC_MOUNT = '/oidc';
/** The scopes Gatehouse serves, in the order a consent page lists them. */
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;
/**
 * A query parameter the provider ignores: the authorization request it marks has come back once
 * after the provider's session was started from the Gatehouse one (see syncWithGatehouseLogin).
 */
const SYNCED_MARK = 'gatehouse_synced';

let library: Promise<typeof OidcProviderModule> | null = null;

/**
 * oidc-provider, imported when first needed: the import costs most of a second, which a CLI
 * command or a server with OIDC_ENABLED=false should not pay.
 */
export function oidcProviderLibrary(): Promise<typeof OidcProviderModule> {
  library ??= import('oidc-provider');
  return library;
}

/** The Gatehouse pages the provider itself renders: error, RP-initiated logout, logged out. */
export interface OidcPages {
  /** The logout confirmation: a form posting `csrf_token`, `xsrf` and `logout=yes` (or not) to `action`. */
  logout(state: { clientName: string | undefined; xsrf: string; csrfToken: string; action: string }): string;
  /** After an RP-initiated logout without a post_logout_redirect_uri. */
  loggedOut(state: { clientName: string | undefined }): string;
  /** An error where redirecting back to the client is unsafe (unknown client, redirect_uri not registered, …). */
  error(state: { status: number; error: string; description: string | undefined }): string;
  /** The page CSP with `form-action` also allowing these URIs' origins: forms whose answer redirects to a client. */
  csp(formTargets: readonly string[]): string;
}

export interface OidcLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error?(details: object, message: string): void;
}

/** What the HTTP edge gives the provider it serves: its pages, and the Gatehouse cookies it reads. */
export interface OidcHttp {
  pages: OidcPages;
  /** The session cookie (the provider follows its login) and the CSRF cookie (the logout form's token). */
  cookieNames: { session: string; csrf: string };
}

export interface OidcProviderDeps {
  db: Db;
  clock: () => number;
  config: Pick<Config, 'publicUrl' | 'accessTokenTtl' | 'refreshTokenTtl' | 'sessionMaxAge'>;
  /** The ring of `oidc` keys (RS256). */
  keys: KeyRing;
  sessions: Pick<SessionService, 'validate'>;
  /** Remembers what a first-party app was given (consent is never asked of the user). */
  rememberConsent(userId: number, clientId: string, scopes: readonly string[], meta: RequestMeta): Promise<void>;
  log: OidcLog;
}

/** How long a rotated-out ID token key keeps verifying (an RP's id_token_hint at logout may be as old as a session). */
export function oidcKeyOverlapSeconds(config: Pick<Config, 'sessionMaxAge' | 'accessTokenTtl'>): number {
  return Math.max(config.sessionMaxAge, config.accessTokenTtl + 60);
}

/** A Gatehouse login's time as the provider counts it (seconds). */
export function authTimeOf(login: Pick<ValidSession, 'authenticatedAt'>): number {
  return Math.floor(Date.parse(login.authenticatedAt) / 1000);
}

/**
 * The provider's cookies are signed with keys derived from its live private keys (signing key
 * first): every instance has them, they survive restarts, and they rotate with the keys.
 */
function cookieKeys(jwks: readonly JWK[]): string[] {
  return jwks.map((jwk) => Buffer.from(hkdfSync('sha256', String(jwk.d), 'gatehouse', 'oidc-cookie-signing', 32)).toString('base64url'));
}

function sameList(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return (a ?? []).length === b.length && b.every((value, i) => a?.[i] === value);
}

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * The oidc-provider instance, built from the live `oidc` keys and rebuilt when they change (a
 * rotation here or on another instance is seen within the key ring's reload interval): the
 * provider then signs with the new key without a restart. Everything it stores is in the database,
 * so a rebuild loses nothing.
 */
export class OidcProviderHost {
  #current: { version: string; provider: Provider; handler: Handler } | null = null;
  #building: Promise<{ version: string; provider: Provider; handler: Handler }> | null = null;
  #initialized: Promise<void> | null = null;
  #http: OidcHttp | null = null;

  constructor(private readonly deps: OidcProviderDeps) {}

  /**
   * Serve the provider over HTTP (the server's routes call this once): its pages and the cookies
   * it reads. Without it (the CLI) the provider is only used to validate clients.
   */
  serveOver(http: OidcHttp): void {
    this.#http = http;
    this.#current = null;
  }

  /**
   * Make the first RS256 key if there is none and open the signing one (a wrong
   * KEY_ENCRYPTION_SECRET stops the start). The provider itself is built on first use.
   */
  async initKeys(): Promise<void> {
    this.#initialized ??= this.deps.keys.init('RS256', oidcKeyOverlapSeconds(this.deps.config)).catch((error: unknown) => {
      this.#initialized = null;
      throw error;
    });
    await this.#initialized;
  }

  /** The current provider (the one to hand requests to). */
  async provider(): Promise<Provider> {
    return (await this.#ensure()).provider;
  }

  /** The provider's Node request handler. */
  async handler(): Promise<Handler> {
    return (await this.#ensure()).handler;
  }

  async #ensure(): Promise<{ version: string; provider: Provider; handler: Handler }> {
    await this.initKeys();
    const version = await this.deps.keys.keySetVersion();
    if (this.#current?.version === version) return this.#current;
    this.#building ??= this.#build(version).finally(() => {
      this.#building = null;
    });
    return this.#building;
  }

  async #build(version: string): Promise<{ version: string; provider: Provider; handler: Handler }> {
    const jwks = await this.deps.keys.privateJwks();
    const provider = createProvider((await oidcProviderLibrary()).default, this.deps, this.#http, jwks);
    this.#current = { version, provider, handler: provider.callback() };
    return this.#current;
  }
}

/**
 * One oidc-provider instance. Its protocol is entirely the library's; Gatehouse supplies the
 * storage, the accounts, the keys, the pages, and the link to its own login (see the doc comments
 * below and docs/oidc.md).
 */
function createProvider(ProviderClass: typeof Provider, deps: OidcProviderDeps, http: OidcHttp | null, jwks: readonly JWK[]): Provider {
  const { db, config } = deps;
  const issuer = config.publicUrl;
  const sessionTtl = config.sessionMaxAge;

  /** Accounts are Gatehouse users; a disabled or deleted one, or one whose tokens were ended since this login, is none. */
  async function findAccount(_ctx: KoaContext, sub: string, token?: AccountLookupToken) {
    if (!/^[1-9][0-9]{0,9}$/.test(sub)) return undefined;
    const user = await findUserById(db, Number(sub));
    if (!user || user.disabled) return undefined;
    const since = token?.authTime ?? token?.iat;
    if (user.tokensValidAfter !== null && since !== undefined && since < Math.floor(Date.parse(user.tokensValidAfter) / 1000)) return undefined;
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          preferred_username: user.username,
          ...(user.email !== null ? { email: user.email, email_verified: user.emailVerified } : {}),
        };
      },
    };
  }

  /**
   * The grant an authorization request is decided with. Consent is Gatehouse's, stored per user
   * and client (it outlives the provider's sessions and grants): a grant is made just in time with
   * the scopes the user already allowed — for a first-party app, with whatever it asks (and that is
   * remembered, so the app is listed among the user's apps). The provider asks for consent only
   * for what is still missing.
   */
  async function loadExistingGrant(ctx: KoaContext): Promise<GrantInstance | undefined> {
    const { client, session } = ctx.oidc;
    const accountId = session.accountId;
    if (!client || !accountId) return undefined;
    const { Grant } = ctx.oidc.provider;
    const grantId = ctx.oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
    let grant = grantId ? await Grant.find(grantId) : undefined;
    if (grant && (grant.accountId !== accountId || grant.clientId !== client.clientId)) grant = undefined;
    const userId = Number(accountId);
    let allowed: string[];
    if (client.first_party === true) {
      allowed = [...ctx.oidc.requestParamOIDCScopes];
      await deps.rememberConsent(userId, client.clientId, allowed, { ip: ctx.ip || null, userAgent: ctx.get('user-agent').slice(0, 512) || null });
    } else {
      allowed = (await findConsent(db, userId, client.clientId)) ?? [];
    }
    if (!grant && allowed.length === 0) return undefined;
    grant ??= new Grant({ accountId, clientId: client.clientId });
    const granted = new Set(grant.getOIDCScope().split(' '));
    const missing = allowed.filter((scope) => !granted.has(scope));
    if (missing.length > 0) grant.addOIDCScope(missing.join(' '));
    if (missing.length > 0 || !grant.jti) await grant.save();
    return grant;
  }

  const configuration: Configuration = {
    adapter: (model: string) => new OidcStorageAdapter(model, db, deps.clock),
    findAccount,
    jwks: { keys: jwks },
    cookies: {
      keys: cookieKeys(jwks),
      names: { session: 'gatehouse_oidc_session', interaction: 'gatehouse_oidc_interaction', resume: 'gatehouse_oidc_resume' },
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        ...(http ? pageSources(http) : {}),
      },
      introspection: { enabled: false },
      registration: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      resourceIndicators: { enabled: false },
      claimsParameter: { enabled: false },
    },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    responseTypes: ['code'],
    pkce: { methods: ['S256'], required: () => true },
    scopes: [...OIDC_SCOPES],
    claims: {
      openid: ['sub', 'auth_time', 'amr'],
      profile: ['preferred_username'],
      email: ['email', 'email_verified'],
    },
    // Profile and email claims in the ID token too (as most identity providers do), not only at userinfo.
    conformIdTokenClaims: false,
    enabledJWA: { idTokenSigningAlgValues: ['RS256'], userinfoSigningAlgValues: ['RS256'] },
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      id_token_signed_response_alg: 'RS256',
      token_endpoint_auth_method: 'client_secret_basic',
    },
    extraClientMetadata: { properties: ['first_party'] },
    allowOmittingSingleRegisteredRedirectUri: false,
    // A browser app may call the token, userinfo and revocation endpoints from the origin of one of its redirect URIs.
    clientBasedCORS: (_ctx: KoaContext, origin: string, client: ClientInstance) =>
      client.redirectUris.some((uri) => {
        try {
          return new URL(uri).origin === origin;
        } catch {
          return false;
        }
      }),
    // Every use of a refresh token replaces it; a used one presented again revokes the grant (no grace).
    rotateRefreshToken: true,
    ttl: {
      AccessToken: config.accessTokenTtl,
      IdToken: config.accessTokenTtl,
      AuthorizationCode: 60,
      Interaction: 3600,
      Session: sessionTtl,
      Grant: config.refreshTokenTtl,
      RefreshToken: config.refreshTokenTtl,
    },
    interactions: { url: async (_ctx: KoaContext, interaction: { uid: string }) => `${OIDC_MOUNT}/interaction/${interaction.uid}` },
    loadExistingGrant,
    ...(http
      ? {
          renderError: async (ctx: KoaContext, out: { error: string; error_description?: string }) => {
            ctx.type = 'html';
            ctx.body = http.pages.error({ status: ctx.status, error: out.error, description: out.error_description });
          },
        }
      : {}),
    routes: {
      authorization: '/auth',
      end_session: '/session/end',
      jwks: '/jwks',
      revocation: '/token/revocation',
      token: '/token',
      userinfo: '/userinfo',
    },
  };

  const provider = new ProviderClass(issuer, configuration);
  // The provider reads its scheme, host and client address from X-Forwarded-*; the HTTP edge
  // replaces whatever the client sent there with PUBLIC_URL and Fastify's TRUST_PROXY-aware
  // address before every request (oidc.routes.ts), so nothing a client sends is believed.
  provider.proxy = true;
  // Client secrets are stored as SHA-256; what a client sends is hashed before the comparison.
  provider.Client.prototype.compareClientSecret = function compareHashedSecret(this: ClientInstance, actual: string) {
    return typeof actual === 'string' && typeof this.clientSecret === 'string' && constantTimeEqual(sha256Hex(actual), this.clientSecret);
  };
  const logError = (error: unknown) => (deps.log.error ?? deps.log.warn).call(deps.log, { err: error }, 'OpenID Connect provider error');
  if (http) provider.use(async (ctx, next) => {
    try {
      await syncWithGatehouseLogin(deps, http, provider, sessionTtl, ctx, next);
    } catch (error) {
      // The provider answers its own errors; this is Gatehouse's part failing (the database, most likely).
      logError(error);
      const unavailable = error instanceof UnavailableError;
      ctx.status = unavailable ? 503 : 500;
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { error: unavailable ? 'temporarily_unavailable' : 'server_error', error_description: unavailable ? 'Try again shortly.' : 'Something went wrong.' };
    }
  });
  provider.on('server_error', (_ctx: unknown, error: unknown) => logError(error));
  // Anything else koa itself catches is logged here rather than on the console.
  provider.app.on('error', (error: unknown) => logError(error));
  return provider;
}

/** The RP-initiated logout pages: Gatehouse's confirmation (its form posts to POST /oidc/logout) and "logged out". */
function pageSources({ pages, cookieNames }: OidcHttp) {
  return {
    async logoutSource(ctx: KoaContext) {
      const state = ctx.oidc.session.state ?? {};
      ctx.set('Content-Security-Policy', pages.csp(state.postLogoutRedirectUri ? [state.postLogoutRedirectUri] : []));
      ctx.type = 'html';
      ctx.body = pages.logout({
        clientName: ctx.oidc.client?.clientName ?? ctx.oidc.client?.clientId,
        xsrf: state.secret ?? '',
        csrfToken: ctx.cookies.get(cookieNames.csrf, { signed: false }) ?? '',
        action: `${OIDC_MOUNT}/logout`,
      });
    },
    async postLogoutSuccessSource(ctx: KoaContext) {
      ctx.type = 'html';
      ctx.body = pages.loggedOut({ clientName: ctx.oidc.client?.clientName });
    },
  };
}

/**
 * The provider always acts for the user of the browser's Gatehouse session. Before an
 * authorization request its own session is made to follow that login: ended when there is no
 * Gatehouse login or another user's; brought up to date (auth_time, amr) for the same user; and,
 * for a Gatehouse login it has not seen, started — the browser is sent back once to the same URL
 * so the request runs with it (prompt=none then succeeds). After the request, the provider's
 * session is tied to the Gatehouse session it stands for, so it ends with it.
 */
async function syncWithGatehouseLogin(deps: OidcProviderDeps, http: OidcHttp, provider: Provider, sessionTtl: number, ctx: KoaContext, next: () => Promise<void>): Promise<void> {
  const authorization = ctx.path === '/auth' && (ctx.method === 'GET' || ctx.method === 'POST');
  const resume = !authorization && ctx.method === 'GET' && /^\/auth\/[^/]+$/.test(ctx.path);
  if (!authorization && !resume) return next();
  const token = ctx.cookies.get(http.cookieNames.session, { signed: false });
  const login = token ? await deps.sessions.validate(token) : null;
  if (authorization) {
    const cookieName = provider.cookieName('session');
    const jti = ctx.cookies.get(cookieName, { signed: true });
    const current: SessionInstance | undefined = jti ? await provider.Session.find(jti) : undefined;
    const account = login ? { accountId: String(login.userId), loginTs: authTimeOf(login), amr: [...login.amr], transient: !login.persistent } : null;
    if (current?.accountId) {
      if (!account || current.accountId !== account.accountId) {
        await current.destroy();
      } else {
        if (current.loginTs !== account.loginTs || !sameList(current.amr, account.amr)) {
          current.loginAccount(account);
          await current.persist();
        }
        return bindAfter(deps, ctx, login, next);
      }
    }
    if (account && login && ctx.method === 'GET' && ctx.query[SYNCED_MARK] === undefined) {
      const session = new provider.Session();
      session.loginAccount(account);
      await session.save(sessionTtl);
      await bindProviderSession(deps.db, session.jti, login.id);
      ctx.cookies.set(cookieName, session.jti, { signed: true, httpOnly: true, sameSite: 'lax', ...(account.transient ? {} : { maxAge: sessionTtl * 1000 }) });
      const again = new URL((ctx.req as IncomingMessage & { originalUrl?: string }).originalUrl ?? ctx.originalUrl, deps.config.publicUrl);
      again.searchParams.set(SYNCED_MARK, '1');
      ctx.status = 303;
      ctx.redirect(again.href);
      return;
    }
  }
  return bindAfter(deps, ctx, login, next);
}

async function bindAfter(deps: OidcProviderDeps, ctx: KoaContext, login: ValidSession | null, next: () => Promise<void>): Promise<void> {
  await next();
  const session = (ctx as Partial<KoaContext>).oidc?.session;
  if (!login || !session || session.destroyed || session.accountId !== String(login.userId)) return;
  try {
    await bindProviderSession(deps.db, session.jti, login.id);
  } catch (error) {
    // The Gatehouse session ended meanwhile (the binding's foreign key): the next request finds it gone.
    deps.log.warn({ err: error }, 'could not tie the OpenID Connect session to its Gatehouse session');
  }
}
