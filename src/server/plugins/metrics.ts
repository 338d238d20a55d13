import { createServer } from 'node:http';
import type { Server } from 'node:http';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PasswordHasher } from '../../accounts/password.js';
import type { LimitStore } from '../../limits/store.js';
import type { MailStats } from '../../mail/mailer.js';
import { UnauthenticatedError } from '../../errors.js';
import { countActiveSessions } from '../../sessions/sessions.repo.js';
import { constantTimeEqual, sha256Hex } from '../../sessions/tokens.js';
import type { Storage } from '../../storage/database.js';

/** What the metrics read: the hash queue, the database (active sessions, pool), the limit store and the mail queue. */
export interface MetricsSources {
  hasher: Pick<PasswordHasher, 'queueDepth' | 'inFlight'>;
  storage: Storage;
  limitStore: LimitStore;
  mailer: { readonly stats: MailStats };
  clock: () => number;
}

const MAIL_OUTCOMES = ['sent', 'failed', 'dropped', 'capped'] as const;

declare module 'fastify' {
  interface FastifyInstance {
    /** This instance's Prometheus registry: what GET /metrics and the METRICS_PORT listener serve. */
    metrics: Registry;
  }
}

/** The active-session count is a query; scrapes every few seconds from several Prometheus servers share one. */
const ACTIVE_SESSIONS_CACHE_MS = 5_000;
const LOGIN_ROUTES = new Map([
  ['/login', 'session'],
  ['/api/token', 'token'],
]);

/** What a login answer means, from its status alone (JSON and form posts answer with the same statuses). */
function loginOutcome(status: number): string {
  if (status === 200 || status === 303) return 'success';
  if (status === 401) return 'invalid_credentials';
  if (status === 429) return 'throttled';
  if (status >= 500) return 'unavailable';
  return 'invalid_request';
}

function bearerToken(request: FastifyRequest): string | null {
  const match = /^Bearer +(\S+) *$/i.exec(request.headers.authorization ?? '');
  return match?.[1] ?? null;
}

function createRegistry(app: FastifyInstance, sources: MetricsSources): { registry: Registry; onResponse: (request: FastifyRequest, reply: FastifyReply) => void } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const duration = new Histogram({
    name: 'gatehouse_http_request_duration_seconds',
    help: 'HTTP requests by method, route and status: count and latency (seconds, until the response was sent).',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const logins = new Counter({
    name: 'gatehouse_logins_total',
    help: 'Login attempts (POST /login and POST /api/token) by outcome: success, invalid_credentials (unknown user, wrong password or disabled), throttled, invalid_request, unavailable.',
    labelNames: ['via', 'outcome'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'gatehouse_password_hash_queue_depth',
    help: 'Password hashes waiting for a hashing slot (HASH_QUEUE_MAX sheds beyond this with 503).',
    registers: [registry],
    collect() {
      this.set(sources.hasher.queueDepth);
    },
  });
  new Gauge({
    name: 'gatehouse_password_hash_in_flight',
    help: 'Password hashes running now (at most HASH_CONCURRENCY).',
    registers: [registry],
    collect() {
      this.set(sources.hasher.inFlight);
    },
  });

  let sessions = { value: 0, at: 0, loading: null as Promise<void> | null };
  new Gauge({
    name: 'gatehouse_active_sessions',
    help: `Browser sessions neither expired nor idle, in the whole database (counted at most every ${ACTIVE_SESSIONS_CACHE_MS / 1000} s).`,
    registers: [registry],
    // Every instance counts the same table: across cluster workers take one value, never the sum.
    aggregator: 'max',
    async collect() {
      const now = sources.clock();
      if (now - sessions.at >= ACTIVE_SESSIONS_CACHE_MS) {
        sessions.loading ??= countActiveSessions(sources.storage.db, new Date(now).toISOString())
          .then((value) => {
            sessions = { value, at: now, loading: null };
          })
          // A scrape while the database is down keeps the last count rather than failing.
          .catch((error: unknown) => {
            app.log.warn({ err: error }, 'metrics: could not count active sessions');
            sessions.loading = null;
          });
        await sessions.loading;
      }
      this.set(sessions.value);
    },
  });

  if (sources.storage.poolStats() !== null) {
    new Gauge({
      name: 'gatehouse_db_pool_connections',
      help: 'Database pool: open connections by state (busy, idle), queries waiting for one, and the pool size (DB_POOL_SIZE).',
      labelNames: ['state'] as const,
      registers: [registry],
      collect() {
        const stats = sources.storage.poolStats();
        if (!stats) return;
        this.set({ state: 'busy' }, stats.total - stats.idle);
        this.set({ state: 'idle' }, stats.idle);
        this.set({ state: 'waiting' }, stats.waiting);
        this.set({ state: 'max' }, stats.max);
      },
    });
  }

  // The mailer keeps plain counts; a scrape adds what changed since the last one.
  const mailsSeen: Record<(typeof MAIL_OUTCOMES)[number], number> = { sent: 0, failed: 0, dropped: 0, capped: 0 };
  const mails = new Counter({
    name: 'gatehouse_mails_total',
    help: 'Mails by outcome: sent (accepted by SMTP, or written to MAIL_DIR), failed (given up after three retries), dropped (the queue was full, or shutdown), capped (a link mail refused by EMAILS_PER_ADDRESS_PER_HOUR; no mail made).',
    labelNames: ['outcome'] as const,
    registers: [registry],
    collect() {
      const stats = sources.mailer.stats;
      for (const outcome of MAIL_OUTCOMES) {
        const added = stats[outcome] - mailsSeen[outcome];
        if (added > 0) this.inc({ outcome }, added);
        mailsSeen[outcome] = stats[outcome];
      }
    },
  });
  for (const outcome of MAIL_OUTCOMES) mails.inc({ outcome }, 0);
  new Gauge({
    name: 'gatehouse_mail_queue_length',
    help: 'Mails held by this process: waiting to be sent, being sent, or waiting for a retry (at most 1000; past that new mails are dropped).',
    registers: [registry],
    collect() {
      this.set(sources.mailer.stats.queued);
    },
  });

  const limitStore = sources.limitStore as { degraded?: boolean };
  if (typeof limitStore.degraded === 'boolean') {
    new Gauge({
      name: 'gatehouse_rate_limit_store_degraded',
      help: '1 while Redis is unavailable and rate limits count per instance, else 0.',
      registers: [registry],
      collect() {
        this.set(limitStore.degraded ? 1 : 0);
      },
    });
  }

  // The hot path: one Map lookup and one observe per request; labelled children are made once.
  type Child = ReturnType<typeof duration.labels>;
  const children = new Map<string, Child>();
  const onResponse = (request: FastifyRequest, reply: FastifyReply): void => {
    const route = request.routeOptions.url ?? '(unmatched)';
    const status = reply.statusCode;
    const key = `${request.method} ${status} ${route}`;
    let child = children.get(key);
    if (child === undefined) {
      child = duration.labels(request.method, route, String(status));
      children.set(key, child);
    }
    child.observe(reply.elapsedTime / 1000);
    if (request.method === 'POST') {
      const via = LOGIN_ROUTES.get(route);
      if (via !== undefined) logins.inc({ via, outcome: loginOutcome(status) });
    }
  };
  return { registry, onResponse };
}

/**
 * Prometheus metrics for this instance: `app.metrics` (a prom-client Registry), and GET /metrics
 * on the main port only when METRICS_TOKEN is set, behind `Authorization: Bearer <METRICS_TOKEN>`.
 * METRICS_PORT (see startMetricsServer) serves the same text on a separate listener without a token.
 */
export const metricsPlugin = fp(
  async (app: FastifyInstance, { sources, metricsToken }: { sources: MetricsSources; metricsToken: string | null }) => {
    const { registry, onResponse } = createRegistry(app, sources);
    app.decorate('metrics', registry);
    app.addHook('onResponse', (request, reply, done) => {
      onResponse(request, reply);
      done();
    });

    const token = metricsToken;
    if (token === null) return;
    const expected = sha256Hex(token);
    app.get(
      '/metrics',
      // Public to the session/bearer layer: the metrics token is its own credential, checked here.
      { config: { access: 'public' }, schema: { hide: true } },
      async (request, reply) => {
        const sent = bearerToken(request);
        // Hashes compared, so neither the length nor a prefix of the token leaks through timing.
        if (sent === null || !constantTimeEqual(sha256Hex(sent), expected)) {
          reply.header('WWW-Authenticate', 'Bearer realm="metrics"');
          throw new UnauthenticatedError('A valid metrics token is required.');
        }
        reply.header('Cache-Control', 'no-store');
        return reply.type(registry.contentType).send(await registry.metrics());
      },
    );
  },
  { name: 'gatehouse-metrics' },
);

/**
 * A plain HTTP listener for METRICS_PORT: GET /metrics → the text `render` returns; anything else 404.
 * It carries no credentials and no user data, so it needs no token; keep the port off the internet.
 * `host` is METRICS_HOST (loopback unless set), never HOST: a main port opened to every interface
 * must not open this one too.
 *
 * @example const metrics = await startMetricsServer(config.metricsPort, config.metricsHost, render);
 */
export async function startMetricsServer(
  port: number,
  host: string,
  render: () => Promise<{ contentType: string; body: string }>,
): Promise<{ server: Server; close: () => Promise<void> }> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || (request.url ?? '').split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'application/json; charset=utf-8' }).end('{"error":{"code":"not_found","message":"Not found."}}');
      return;
    }
    render().then(
      ({ contentType, body }) => response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' }).end(body),
      () => response.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '5' }).end('{"error":{"code":"unavailable","message":"Metrics are unavailable. Try again shortly."}}'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
