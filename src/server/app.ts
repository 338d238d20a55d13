import { hostname } from 'node:os';
import type { Duplex } from 'node:stream';
import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import Ajv from 'ajv';
import type { AnySchema } from 'ajv';
import addFormats from 'ajv-formats';
import Fastify, { LogController } from 'fastify';
import { pino } from 'pino';
import type { DestinationStream } from 'pino';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions, RouteOptions } from 'fastify';
import type { Redis } from 'ioredis';
import { PasswordHasher } from '../accounts/password.js';
import { adminRoutes } from '../admin/admin.routes.js';
import { bucketlistRoutes } from '../bucketlists/bucketlists.routes.js';
import type { Config } from '../config.js';
import type { AppContext } from '../context.js';
import { NotFoundError, OverloadedError } from '../errors.js';
import { LocalRevocationBus } from '../events.js';
import type { RevocationBus } from '../events.js';
import { RedisRevocationBus } from '../events-redis.js';
import { rateLimitStore } from '../limits/fastify-store.js';
import { LoginThrottle } from '../limits/login-throttle.js';
import { MemoryLimitStore } from '../limits/store.js';
import type { LimitStore } from '../limits/store.js';
import { RedisLimitStore } from '../limits/redis-store.js';
import { SessionService } from '../sessions/sessions.service.js';
import { sessionRoutes } from '../sessions/sessions.routes.js';
import type { Storage } from '../storage/database.js';
import { KeyRing, KeyVault } from '../tokens/keys.js';
import { TokenService } from '../tokens/tokens.service.js';
import { tokenRoutes } from '../tokens/tokens.routes.js';
import { ensureCsrfCookie, sessionCookieName } from './cookies.js';
import { docsRoutes } from './docs.routes.js';
import { errorHandler, toErrorResponse } from './error-handler.js';
import { healthRoutes } from './health.routes.js';
import { renderAuthPage } from './pages/auth-pages.js';
import type { AuthPageKind } from './pages/auth-pages.js';
import { pageRoutes, renderNotFoundPage, sendHtml } from './pages/pages.routes.js';
import { lazyChildLogger } from './request-logger.js';
import { authPlugin } from './plugins/auth.js';
import { hostCheckPlugin } from './plugins/host-check.js';
import { securityHeadersPlugin } from './plugins/security-headers.js';
import { metricsPlugin } from './plugins/metrics.js';
import { AdminUserSchema, ErrorSchema, UserSchema } from './schemas.js';

export type GatehouseApp = FastifyInstance;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A form page whose errors re-render the form instead of answering JSON. */
    formPage?: AuthPageKind;
  }
  interface FastifyInstance {
    ctx: AppContext;
    /** Every route as registered, read after start-up (the lock-down test walks it). */
    routeTable: readonly RouteOptions[];
  }
}

export interface AppDependencies {
  storage: Storage;
  /** Injectable clock (ms since epoch) for tests that move time. */
  clock?: () => number;
  limitStore?: LimitStore;
  bus?: RevocationBus;
  /**
   * REDIS_URL's client (runtime.ts creates and closes it). With it, and unless limitStore/bus are
   * given, rate limits are counted in Redis and revocations broadcast to every instance.
   */
  redis?: Redis;
  /** Fastify logger options, or false to silence. Defaults to pino at LOG_LEVEL with secrets redacted. */
  logger?: FastifyServerOptions['logger'];
  /** The web app's build (`vite build` output); web/dist by default. */
  webDistDir?: string;
}

/** Everything a log line must never show. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.password_confirmation',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.csrf_token',
];

/** Logs go to stdout without blocking the event loop on each line; pino flushes them at exit. */
function logDestination(): DestinationStream {
  return pino.destination({ dest: 1, sync: false });
}

function loggerOptions(config: Config, stream: DestinationStream): FastifyServerOptions['logger'] {
  return {
    level: config.logLevel,
    stream,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: {
      // The path only: a query string may carry credentials someone sent by mistake.
      req: (request: FastifyRequest) => ({ method: request.method, url: request.url.split('?')[0], remoteAddress: request.ip }),
    },
  };
}

/**
 * One access-log line per request, when it completes, written by a logger of its own: its fields
 * are fixed and free of secrets by construction (the path without the query string), so it skips
 * the redaction pass that the application log runs on every object — most of a logged check's cost.
 */
class AccessLog extends LogController {
  constructor(
    private readonly enabled: boolean,
    private readonly access: pino.Logger | null,
  ) {
    super();
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    if (error) {
      reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
      return;
    }
    if (!this.enabled) return;
    if (!this.access) {
      reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
      return;
    }
    if (!this.access.isLevelEnabled('info')) return;
    this.access.info(
      { reqId: request.id, method: request.method, url: request.url.split('?')[0], statusCode: reply.statusCode, remoteAddress: request.ip, responseTime: reply.elapsedTime },
      'request completed',
    );
  }
}

function createContext(config: Readonly<Config>, deps: AppDependencies, log: FastifyInstance['log']): AppContext {
  const clock = deps.clock ?? Date.now;
  const { redis } = deps;
  const bus = deps.bus ?? (redis ? new RedisRevocationBus(redis, `${config.redisPrefix}revocations`, log) : new LocalRevocationBus());
  const limitStore = deps.limitStore ?? (redis ? new RedisLimitStore(redis, `${config.redisPrefix}limit:`, log, clock, config.limitStoreMaxKeys) : new MemoryLimitStore(clock, config.limitStoreMaxKeys));
  const db = deps.storage.db;
  const keys = new KeyRing(db, new KeyVault(config.keyEncryptionSecret), clock, log);
  return {
    config,
    storage: deps.storage,
    db,
    clock,
    hasher: new PasswordHasher(config.bcryptCost, config.hashConcurrency, config.hashQueueMax, config.hashNiceness),
    limitStore,
    loginThrottle: new LoginThrottle(limitStore, config.loginFailuresPerAccount, config.loginFailureWindowSeconds * 1000, config.rateLimits, clock),
    bus,
    sessions: new SessionService(db, config, clock, bus),
    tokens: new TokenService(db, config, clock, keys, bus),
    log,
  };
}

/** Query strings and path params are coerced from text; JSON bodies are not (a number is not a username). */
function validatorCompiler() {
  const options = { allErrors: true, useDefaults: true, strict: false, removeAdditional: false } as const;
  const bodyAjv = new Ajv.default({ ...options, coerceTypes: false });
  const textAjv = new Ajv.default({ ...options, coerceTypes: 'array' });
  addFormats.default(bodyAjv);
  addFormats.default(textAjv);
  return ({ schema, httpPart }: { schema: AnySchema; httpPart?: string }) => (httpPart === 'body' ? bodyAjv : textAjv).compile(schema);
}

function trustHops(hops: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < hops;
}

function isFormPost(request: FastifyRequest): boolean {
  return (request.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
}

function wantsHtml(request: FastifyRequest): boolean {
  return request.method === 'GET' && !request.url.startsWith('/api/') && (request.headers.accept ?? '').includes('text/html');
}

/** A failed form post shows the form again with the status the JSON route would give. */
function renderFormError(ctx: AppContext, page: AuthPageKind, error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, body, retryAfter } = toErrorResponse(error, request);
  if (status >= 500) request.log.error({ err: error }, 'form request failed');
  if (retryAfter !== undefined) reply.header('Retry-After', String(retryAfter));
  const form = (request.body ?? {}) as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const fields = body.error.fields;
  return sendHtml(
    reply,
    status,
    renderAuthPage(page, {
      csrfToken: ensureCsrfCookie(request, reply, ctx.config),
      username: text(form.username),
      email: text(form.email),
      remember: form.remember === 'on',
      next: text(form.next),
      error: fields && body.error.code === 'validation_failed' ? undefined : body.error.message,
      fields,
    }),
  );
}

/**
 * Errors Node's HTTP parser raises before Fastify sees a request (malformed request line, headers
 * too large, headers or body too slow): the contract's JSON shape instead of Fastify's default.
 * These answers never pass the security-headers onSend hook, so they carry its non-HTML set here
 * (test/http/client-errors.test.ts keeps the two equal).
 */
function answerClientError(https: boolean): (error: NodeJS.ErrnoException, socket: Duplex) => void {
  const headers = [
    'Content-Type: application/json; charset=utf-8',
    "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'; object-src 'none'",
    'X-Content-Type-Options: nosniff',
    'X-Frame-Options: DENY',
    'Referrer-Policy: same-origin',
    'Cross-Origin-Resource-Policy: same-origin',
    'Cache-Control: no-store',
    ...(https ? ['Strict-Transport-Security: max-age=31536000; includeSubDomains'] : []),
    'Connection: close',
  ].join('\r\n');
  return (error, socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const timeout = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    const body = JSON.stringify({
      error: { code: 'bad_request', message: timeout ? 'The request took too long to arrive.' : error.code === 'HPE_HEADER_OVERFLOW' ? 'The request headers are too large.' : 'The request could not be read.' },
    });
    const status = timeout ? '408 Request Timeout' : '400 Bad Request';
    if (socket.writable) socket.write(`HTTP/1.1 ${status}\r\n${headers}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    socket.destroy();
  };
}

/**
 * Build the whole HTTP application. Never listens: main.ts does, tests use `inject` or listen on port 0.
 *
 * @example const app = await buildApp(loadConfig(), { storage }); await app.ready();
 */
export async function buildApp(config: Readonly<Config>, deps: AppDependencies): Promise<GatehouseApp> {
  const compileValidator = validatorCompiler();
  // Our own destination only when we own the logger; tests pass `logger: false` or their own options.
  const destination = deps.logger === undefined ? logDestination() : null;
  const app = Fastify({
    // A factory, not setValidatorCompiler(): Fastify rebuilds the validator of any plugin that calls
    // addSchema from the factory, which would otherwise be its default (coercing) Ajv there.
    schemaController: { compilersFactory: { buildValidator: () => compileValidator } },
    logger: deps.logger ?? loggerOptions(config, destination as DestinationStream),
    bodyLimit: config.bodyLimit,
    // A hop count as proxy-addr counts it: the first `n` hops from this server are proxies, so the
    // client is the address the outermost trusted proxy saw (Fastify's types lack the number form).
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
    logController: new AccessLog(config.accessLog, destination ? pino({ level: config.logLevel, base: { pid: process.pid, hostname: hostname() } }, destination) : null),
    routerOptions: { maxParamLength: 200 },
    // A path that is not valid percent-encoding, or an over-long id, gets the contract's error shape.
    frameworkErrors: (error, request, reply) =>
      errorHandler(error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? (new NotFoundError() as unknown as FastifyError) : error, request, reply),
    clientErrorHandler: answerClientError(config.publicUrl.startsWith('https://')),
  });
  // JSON everywhere (and urlencoded where a form posts): Fastify's built-in text/plain parser would
  // turn a text body into a string and answer 422, where the contract says 415.
  app.removeContentTypeParser('text/plain');
  const ctx = createContext(config, deps, app.log);
  app.decorate('ctx', ctx);
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
    if (page && isFormPost(request)) return renderFormError(ctx, page, error, request, reply);
    return errorHandler(error, request, reply);
  });
  const notFound = (request: FastifyRequest, reply: FastifyReply) => {
    if (wantsHtml(request)) return sendHtml(reply, 404, renderNotFoundPage());
    return reply.status(404).send({ error: { code: 'not_found', message: 'Not found.' } });
  };
  app.setNotFoundHandler(notFound);

  app.addSchema(ErrorSchema);
  app.addSchema(UserSchema);
  app.addSchema(AdminUserSchema);

  await app.register(cookie);
  await app.register(securityHeadersPlugin, { https: config.publicUrl.startsWith('https://') });
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
  await app.register(rateLimit, { global: false, store: rateLimitStore(ctx.limitStore, ctx.clock) });
  await app.register(metricsPlugin, { ctx });
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
  await app.register(authPlugin, { ctx });

  await app.register(healthRoutes, { ctx });
  await app.register(sessionRoutes, { ctx });
  await app.register(tokenRoutes, { ctx });
  await app.register(bucketlistRoutes, { ctx });
  await app.register(adminRoutes, { ctx });
  await app.register(docsRoutes);
  await app.register(pageRoutes, { ctx, webDistDir: deps.webDistDir });

  app.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());

  // The dummy hash unknown usernames are compared with, made before the first login rather than
  // during it (which would make that one answer slower than a real user's). Only when serving: the CLI never needs it.
  app.addHook('onListen', async () => {
    ctx.hasher.dummyHash().catch((error: unknown) => app.log.warn({ err: error }, 'could not prepare the dummy password hash'));
  });
  app.addHook('onReady', async () => {
    await ctx.tokens.keys.init(config.jwtAlgorithm, config.accessTokenTtl + 60);
    if (deps.redis) {
      await deps.redis.ping().catch((error: unknown) => {
        app.log.warn({ err: error }, 'Redis is not reachable: rate limits count per instance and revocations stay local until it is');
      });
    }
  });
  const sweep = setInterval(() => {
    ctx.sessions.deleteExpired().catch((error: unknown) => app.log.warn({ err: error }, 'session sweep failed'));
    ctx.tokens.deleteExpired().catch((error: unknown) => app.log.warn({ err: error }, 'token sweep failed'));
  }, 3600_000);
  sweep.unref();
  app.addHook('onClose', async () => {
    clearInterval(sweep);
    await ctx.bus.close();
    await ctx.hasher.close();
  });
  return app;
}
