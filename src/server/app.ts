import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { accountRoutes } from '../accounts/account.routes.js';
import { linkPageRoutes } from '../accounts/link-pages.routes.js';
import { mfaRoutes } from '../mfa/mfa.routes.js';
import { oidcRoutes } from '../oidc/oidc.routes.js';
import { passkeyRoutes } from '../passkeys/passkeys.routes.js';
import { twoStepPageRoutes } from '../mfa/two-step-pages.routes.js';
import { adminRoutes } from '../admin/admin.routes.js';
import { authzRoutes } from '../authz/authz.routes.js';
import { bucketlistRoutes } from '../bucketlists/bucketlists.routes.js';
import type { Services } from '../composition.js';
import type { Config } from '../config.js';
import { NotFoundError, OverloadedError } from '../errors.js';
import { rateLimitStore } from '../limits/fastify-store.js';
import { sessionRoutes } from '../sessions/sessions.routes.js';
import { userSessionsRoutes } from '../sessions/user-sessions.routes.js';
import { tokenRoutes } from '../tokens/tokens.routes.js';
import { answerClientError } from './client-errors.js';
import { sessionCookieName } from './cookies.js';
import { docsRoutes } from './docs.routes.js';
import { errorHandler, oauthErrorHandler } from './error-handler.js';
import { healthRoutes } from './health.routes.js';
import type { GatehouseApp } from './http.js';
import { AccessLog, createLoggers } from './logging.js';
import type { Loggers } from './logging.js';
import { renderFormError } from './pages/form-errors.js';
import { renderNotFoundPage, sendHtml } from './pages/html.js';
import { pageRoutes } from './pages/pages.routes.js';
import { Authenticator, authPlugin, isFormPost } from './plugins/auth.js';
import { hostCheckPlugin } from './plugins/host-check.js';
import { metricsPlugin } from './plugins/metrics.js';
import { securityHeadersPlugin } from './plugins/security-headers.js';
import { lazyChildLogger } from './request-logger.js';
import { buildSerializer, compileValidator } from './schema-compilers.js';
import { AdminUserSchema, ErrorSchema, ErrorStatusSchemas, MfaRequiredSchema, UserSchema } from './schemas.js';
import { OPTIONAL_BODY } from './recent-auth.js';

export type { GatehouseApp } from './http.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route as registered, read after start-up (the lock-down test walks it). */
    routeTable: readonly RouteOptions[];
  }
}

export interface AppOptions {
  /** The loggers to write to; by default pino at LOG_LEVEL on stdout (see logging.ts). */
  loggers?: Loggers;
  /** The web app's build (`vite build` output); web/dist by default. */
  webDistDir?: string;
}

/** A hop count as proxy-addr counts it: the first `hops` hops from this server are proxies (Fastify's types lack the number form). */
function trustHops(hops: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < hops;
}

function wantsHtml(request: FastifyRequest): boolean {
  return request.method === 'GET' && !request.url.startsWith('/api/') && (request.headers.accept ?? '').includes('text/html');
}

/**
 * Build the HTTP application over services built by the composition root. It never listens
 * (server/start.ts does; tests listen on port 0) and closing it closes the services (not the storage).
 *
 * @example const app = await buildApp(config, createServices(config, { storage, log })); await app.ready();
 */
/** @fastify/swagger marks every declared body required; a route that reads an absent body as `{}` says otherwise. */
function optionalBodies<T extends object>(document: T): T {
  const paths = (document as { paths?: Record<string, Record<string, Record<string, unknown>>> }).paths ?? {};
  for (const operations of Object.values(paths)) {
    for (const operation of Object.values(operations)) {
      if (operation[OPTIONAL_BODY] !== true) continue;
      delete operation[OPTIONAL_BODY];
      const body = operation.requestBody as { required?: boolean } | undefined;
      if (body) body.required = false;
    }
  }
  return document;
}

export async function buildApp(config: Readonly<Config>, services: Services, options: AppOptions = {}): Promise<GatehouseApp> {
  const loggers = options.loggers ?? createLoggers(config);
  const app = Fastify({
    // A factory, not setValidatorCompiler(): Fastify rebuilds the validator of any plugin that calls
    // addSchema from the factory, which would otherwise be its default (coercing) Ajv there.
    schemaController: { compilersFactory: { buildValidator: () => compileValidator, buildSerializer } },
    loggerInstance: loggers.log as FastifyBaseLogger,
    bodyLimit: config.bodyLimit,
    trustProxy: typeof config.trustProxy === 'number' ? trustHops(config.trustProxy) : config.trustProxy,
    // Bounded work per connection: headers within 10 s, the whole request within 30 s, an idle
    // socket closed after 60 s, keep-alive 10 s; Node checks the first two every second.
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    keepAliveTimeout: 10_000,
    http: { headersTimeout: 10_000, connectionsCheckingInterval: 1_000 },
    // Our own 503 while closing (below): Fastify's has another shape than every other error.
    return503OnClosing: false,
    childLoggerFactory: lazyChildLogger,
    logController: new AccessLog(config.accessLog, loggers.access),
    routerOptions: { maxParamLength: 200 },
    // A path that is not valid percent-encoding, or an over-long id, gets the contract's error shape.
    frameworkErrors: (error, request, reply) =>
      errorHandler(error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? (new NotFoundError() as unknown as FastifyError) : error, request, reply),
    clientErrorHandler: answerClientError(config.publicUrl.startsWith('https://')),
  }).withTypeProvider<TypeBoxTypeProvider>();
  // JSON everywhere (and urlencoded where a form posts): Fastify's built-in text/plain parser would
  // turn a text body into a string and answer 422, where the contract says 415.
  app.removeContentTypeParser('text/plain');

  // Requests that still arrive on kept-alive connections during a graceful stop are shed with
  // 503 and Retry-After, so a load balancer retries them elsewhere; in-flight ones finish.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // Recorded first, before any plugin adds routes; the options objects are the ones later onRoute
  // hooks adjust, so `config.access` read from them after start-up is what the route enforces.
  const routeTable: RouteOptions[] = [];
  app.decorate('routeTable', routeTable);
  app.addHook('onRoute', (route) => {
    routeTable.push(route);
  });
  // Routes added by third-party plugins (CORS preflight, registered below) carry no `access`: they are public by nature.
  app.addHook('onRoute', (route) => {
    if (route.method === 'OPTIONS' || (Array.isArray(route.method) && route.method.every((m) => m === 'OPTIONS'))) {
      route.config = { ...(route.config ?? {}), access: 'public' };
    }
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const page = request.routeOptions.config?.formPage;
    if (page && isFormPost(request)) return renderFormError(config, page, error, request, reply);
    if (request.routeOptions.config?.oauth) return oauthErrorHandler(error, request, reply);
    return errorHandler(error, request, reply);
  });
  const notFound = (request: FastifyRequest, reply: FastifyReply) => {
    if (wantsHtml(request)) return sendHtml(reply, 404, renderNotFoundPage());
    return reply.status(404).send({ error: { code: 'not_found', message: 'Not found.' } });
  };
  app.setNotFoundHandler(notFound);

  app.addSchema(ErrorSchema);
  for (const schema of ErrorStatusSchemas) app.addSchema(schema);
  app.addSchema(UserSchema);
  app.addSchema(AdminUserSchema);
  app.addSchema(MfaRequiredSchema);

  await app.register(cookie);
  await app.register(securityHeadersPlugin, { https: config.publicUrl.startsWith('https://'), formActionHosts: config.forwardAuthHosts });
  await app.register(hostCheckPlugin, { config });
  if (config.corsOrigins.length > 0) {
    const allowed = new Set(config.corsOrigins);
    await app.register(cors, {
      delegator: (request, callback) => {
        const path = request.url.split('?')[0] ?? '';
        const bearerApi = path.startsWith('/api/token') || (path.startsWith('/api/') && (request.headers.authorization !== undefined || request.method === 'OPTIONS'));
        const origin = request.headers.origin;
        callback(null, {
          origin: bearerApi && origin !== undefined && allowed.has(origin) ? origin : false,
          credentials: false,
          methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
          allowedHeaders: ['Authorization', 'Content-Type'],
          maxAge: 600,
        });
      },
    });
  }
  // One counter store for the per-IP limit and the login throttle: Redis (shared) or memory.
  await app.register(rateLimit, { global: false, store: rateLimitStore(services.limitStore, services.clock) });
  await app.register(metricsPlugin, { sources: services, metricsToken: config.metricsToken });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Gatehouse', version: '0.1.0', description: 'Accounts, browser sessions, tokens and owned resources. See docs/errors.md for error codes.' },
      servers: [{ url: config.publicUrl }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          session: { type: 'apiKey', in: 'cookie', name: sessionCookieName(config) },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transformObject: (documentObject) => ('openapiObject' in documentObject ? optionalBodies(documentObject.openapiObject) : documentObject.swaggerObject),
  });
  // Callback-style, as every per-request hook here: an async hook costs a promise on every request.
  app.addHook('onRequest', (request, reply, done) => {
    if (closing) {
      reply.header('Connection', 'close');
      done(new OverloadedError(1));
    } else if (request.is404) {
      // An unknown route is 404 before any other check, including reading its body (else 413/415 would win).
      notFound(request, reply);
    } else {
      done();
    }
  });
  const authenticator = new Authenticator(services.sessions, services.tokens, sessionCookieName(config), config.publicUrl);
  await app.register(authPlugin, { authenticator });

  const { logins } = services;
  await app.register(healthRoutes, { storage: services.storage });
  await app.register(sessionRoutes, { config, logins, authenticator });
  await app.register(accountRoutes, { config, accounts: services.accounts, email: services.email, recentAuth: services.recentAuth });
  await app.register(mfaRoutes, { config, mfa: services.mfa, logins, recentAuth: services.recentAuth, sessionCookieName: sessionCookieName(config) });
  await app.register(twoStepPageRoutes, { config, mfa: services.mfa, recentAuth: services.recentAuth, authenticator });
  await app.register(passkeyRoutes, { config, passkeys: services.passkeys, logins, recentAuth: services.recentAuth, sessionCookieName: sessionCookieName(config) });
  await app.register(linkPageRoutes, { config, email: services.email, passwordReset: services.passwordReset });
  await app.register(userSessionsRoutes, { config, userSessions: services.userSessions });
  await app.register(tokenRoutes, { config, logins, tokens: services.tokens, keys: services.keys });
  await app.register(authzRoutes, { config, authenticator });
  await app.register(bucketlistRoutes, { bucketlists: services.bucketlists });
  await app.register(adminRoutes, { admin: services.admin });
  await app.register(oidcRoutes, { config, oidc: services.oidc, logins, sessions: services.sessions, authenticator });
  await app.register(docsRoutes);
  await app.register(pageRoutes, { config, authenticator, webDistDir: options.webDistDir });

  app.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());

  // The dummy hash unknown usernames are compared with, made before the first login rather than
  // during it (which would make that one answer slower than a real user's).
  app.addHook('onListen', async () => {
    services.hasher.dummyHash().catch((error: unknown) => app.log.warn({ err: error }, 'could not prepare the dummy password hash'));
  });
  app.addHook('onReady', async () => {
    await services.keys.init(config.jwtAlgorithm, config.accessTokenTtl + 60);
  });
  app.addHook('onClose', async () => {
    await services.close();
  });
  return app;
}
