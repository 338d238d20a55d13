import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server/start.js';
import type { GatehouseApp } from '../../src/server/app.js';
import { fakeClock, GOOD_PASSWORD, signUpClient, startTestServer, TEST_OUTPUT, uniqueName } from '../helpers/app.js';
import type { FakeClock, TestServer } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/database.js';
import type { TestDatabase } from '../helpers/database.js';

const TOKEN = 'metrics-token-for-tests-0123456789';

/** The value of one sample line, e.g. `name{a="b"} 3`; undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const open = line.indexOf('{');
    const labelText = open === -1 || open > name.length ? '' : line.slice(open + 1, line.lastIndexOf('}'));
    const found = Object.fromEntries([...labelText.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}

describe('GET /metrics', () => {
  let server: TestServer;
  let clock: FakeClock;
  const auth = { headers: { authorization: `Bearer ${TOKEN}` } };

  before(async () => {
    clock = fakeClock();
    server = await startTestServer({ METRICS_TOKEN: TOKEN, LOGIN_FAILURES_PER_ACCOUNT: '2' }, { clock });
  });
  after(async () => server.close());

  async function scrape(): Promise<string> {
    const res = await server.client().get<string>('/metrics', auth);
    assert.equal(res.status, 200);
    return res.text;
  }

  it('is not served without a token, nor with a wrong one', async () => {
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer wrong-token-wrong-token' }, { authorization: `Bearer ${TOKEN}x` }, { authorization: TOKEN }]) {
      const res = await server.client().get<{ error: { code: string } }>('/metrics', { headers });
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.equal(res.body.error.code, 'unauthenticated');
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
      assert.doesNotMatch(res.text, /gatehouse_/);
    }
  });

  it('serves the Prometheus text format with the bearer token', async () => {
    const res = await server.client().get<string>('/metrics', auth);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.match(res.text, /^# HELP gatehouse_http_request_duration_seconds /m);
    assert.match(res.text, /^# TYPE gatehouse_http_request_duration_seconds histogram$/m);
    assert.match(res.text, /^process_cpu_seconds_total /m, 'process metrics too');
  });

  it('counts requests by route and status, with latency buckets', async () => {
    const before = sample(await scrape(), 'gatehouse_http_request_duration_seconds_count', { method: 'GET', route: '/healthz', status: '200' }) ?? 0;
    for (let i = 0; i < 3; i += 1) assert.equal((await server.client().get('/healthz')).status, 200);
    const text = await scrape();
    assert.equal(sample(text, 'gatehouse_http_request_duration_seconds_count', { method: 'GET', route: '/healthz', status: '200' }), before + 3);
    assert.ok((sample(text, 'gatehouse_http_request_duration_seconds_bucket', { method: 'GET', route: '/healthz', status: '200', le: '+Inf' }) ?? 0) >= 3);
    assert.equal((await server.client().get('/api/me')).status, 401);
    assert.ok((sample(await scrape(), 'gatehouse_http_request_duration_seconds_count', { method: 'GET', route: '/api/me', status: '401' }) ?? 0) >= 1);
  });

  it('labels unknown paths as one route, so junk URLs cannot blow up the series count', async () => {
    await server.client().get('/no/such/path/one');
    await server.client().get('/no/such/path/two');
    const text = await scrape();
    assert.ok((sample(text, 'gatehouse_http_request_duration_seconds_count', { method: 'GET', route: '(unmatched)', status: '404' }) ?? 0) >= 2);
    assert.doesNotMatch(text, /no\/such\/path/);
  });

  it('counts login outcomes: success, invalid credentials, throttled, for sessions and tokens', async () => {
    const username = uniqueName('metric');
    await signUpClient(server, username);
    assert.equal((await server.client().post('/login', { username, password: GOOD_PASSWORD })).status, 200);
    assert.equal((await server.client().post('/api/token', { username, password: GOOD_PASSWORD })).status, 200);
    assert.equal((await server.client().post('/login', { username: uniqueName('nobody'), password: GOOD_PASSWORD })).status, 401);
    assert.equal((await server.client().post('/login', { username, password: 'wrong password' })).status, 401);
    assert.equal((await server.client().post('/api/token', { username, password: 'wrong password' })).status, 401);
    assert.equal((await server.client().post('/login', { username, password: GOOD_PASSWORD })).status, 429);
    const text = await scrape();
    assert.equal(sample(text, 'gatehouse_logins_total', { via: 'session', outcome: 'success' }), 1);
    assert.equal(sample(text, 'gatehouse_logins_total', { via: 'token', outcome: 'success' }), 1);
    assert.equal(sample(text, 'gatehouse_logins_total', { via: 'session', outcome: 'invalid_credentials' }), 2);
    assert.equal(sample(text, 'gatehouse_logins_total', { via: 'token', outcome: 'invalid_credentials' }), 1);
    assert.equal(sample(text, 'gatehouse_logins_total', { via: 'session', outcome: 'throttled' }), 1);
  });

  it('reports the password hash pool, active sessions and (on PostgreSQL) the connection pool', async () => {
    clock.advance(5_000);
    const counted = sample(await scrape(), 'gatehouse_active_sessions') ?? -1;
    assert.ok(counted >= 2, 'the sessions of the earlier tests');
    await signUpClient(server);
    await signUpClient(server);
    assert.equal(sample(await scrape(), 'gatehouse_active_sessions'), counted, 'the count is cached for a few seconds');
    clock.advance(5_000);
    const text = await scrape();
    assert.equal(sample(text, 'gatehouse_password_hash_queue_depth'), 0);
    assert.equal(sample(text, 'gatehouse_password_hash_in_flight'), 0);
    assert.equal(sample(text, 'gatehouse_active_sessions'), counted + 2);
    const busy = sample(text, 'gatehouse_db_pool_connections', { state: 'busy' });
    if (server.storage.dialect === 'postgres') {
      assert.equal(sample(text, 'gatehouse_db_pool_connections', { state: 'max' }), server.config.dbPoolSize);
      assert.ok(busy !== undefined && busy >= 0);
    } else {
      assert.equal(busy, undefined, 'SQLite has no pool');
    }
  });
});

describe('metrics configuration', () => {
  it('has no /metrics on the main port without METRICS_TOKEN', async () => {
    const server = await startTestServer();
    try {
      const res = await server.client().get<{ error: { code: string } }>('/metrics');
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'not_found');
    } finally {
      await server.close();
    }
  });

  it('refuses a METRICS_TOKEN shorter than 16 characters, and METRICS_PORT equal to PORT', () => {
    assert.throws(() => loadConfig({ METRICS_TOKEN: 'short' }), /METRICS_TOKEN/);
    assert.throws(() => loadConfig({ PORT: '8080', METRICS_PORT: '8080' }), /METRICS_PORT/);
  });

  describe('METRICS_PORT', () => {
    let database: TestDatabase;
    let app: GatehouseApp;
    let metricsUrl: string;
    let mainUrl: string;

    before(async () => {
      database = await createTestDatabase(process.env.TEST_DATABASE_URL, TEST_OUTPUT);
      const port = await freePort();
      const config = loadConfig({ NODE_ENV: 'test', BCRYPT_COST: '4', LOG_LEVEL: 'silent', PORT: '0', DATABASE_URL: database.url, METRICS_PORT: String(port) });
      ({ app } = await startServer(config));
      const address = app.server.address();
      mainUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
      metricsUrl = `http://127.0.0.1:${port}`;
    });
    after(async () => {
      await app.close();
      await database.drop();
    });

    it('serves the metrics on their own port without a token, and only there', async () => {
      assert.equal((await fetch(`${mainUrl}/healthz`)).status, 200);
      const res = await fetch(`${metricsUrl}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      assert.ok((sample(text, 'gatehouse_http_request_duration_seconds_count', { method: 'GET', route: '/healthz', status: '200' }) ?? 0) >= 1);
      assert.equal((await fetch(`${metricsUrl}/api/me`)).status, 404, 'nothing but /metrics there');
      assert.equal((await fetch(`${mainUrl}/metrics`)).status, 404, 'not on the main port without METRICS_TOKEN');
    });

    it('closes the metrics listener with the app', async () => {
      await app.close();
      await assert.rejects(fetch(`${metricsUrl}/metrics`));
    });
  });
});
