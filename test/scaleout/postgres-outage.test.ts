// @requires postgres
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fakeClock, GOOD_PASSWORD, uniqueName } from '../helpers/app.js';
import type { FakeClock } from '../helpers/app.js';
import type { TestClient, TestResponse } from '../helpers/http.js';
import { deployment } from './instances.js';
import type { Deployment, Instance } from './instances.js';
import { TcpProxy } from './tcp-proxy.js';

/** Generous next to DB_STATEMENT_TIMEOUT_MS=1000: an answer this late would be a hang, not a timeout. */
const NO_HANG_MS = 8_000;
/** Longer than every per-instance cache, so each request below really asks the database. */
const PAST_CACHES_MS = 2_000;
const POOL_SIZE = 3;

type ErrorBody = { error: { code: string; message: string; fields?: unknown } };

async function within<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${NO_HANG_MS} ms`)), NO_HANG_MS);
  });
  try {
    return await Promise.race([work, hang]);
  } finally {
    clearTimeout(timer);
  }
}

function assertUnavailable(res: TestResponse<unknown>, what: string): void {
  assert.equal(res.status, 503, what);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/, what);
  const body = res.body as ErrorBody;
  assert.deepEqual(Object.keys(body), ['error'], what);
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message'], what);
  assert.equal(body.error.code, 'unavailable', what);
  assert.ok(Number(res.headers.get('retry-after')) > 0, `${what}: Retry-After`);
  assert.doesNotMatch(res.text, /at .*\.(ts|js):\d+|ECONNREFUSED|postgres|select|timeout exceeded/i, `${what}: no internals`);
}

describe('PostgreSQL down or unreachable, then back', () => {
  let deploy: Deployment;
  let proxy: TcpProxy;
  let server: Instance;
  let clock: FakeClock;
  let username: string;
  let browser: TestClient;
  let accessToken: string;

  before(async () => {
    deploy = await deployment({ REDIS_URL: '', DB_STATEMENT_TIMEOUT_MS: '1000', DB_POOL_SIZE: String(POOL_SIZE) });
    const direct = new URL(deploy.database.url);
    proxy = new TcpProxy(direct.hostname, Number(direct.port || 5432));
    await proxy.start();
    direct.host = `127.0.0.1:${proxy.port}`;
    clock = fakeClock();
    server = await deploy.start({ DATABASE_URL: direct.toString() }, { clock });
    username = uniqueName('outage');
    browser = server.client();
    assert.equal((await browser.post('/signup', { username, password: GOOD_PASSWORD })).status, 201);
    const token = await server.client().post<{ access_token: string }>('/api/token', { username, password: GOOD_PASSWORD });
    accessToken = token.body.access_token;
  });
  after(async () => {
    await proxy.stop();
    await deploy.close();
  });

  async function everythingWorks(): Promise<void> {
    assert.equal((await server.client().get('/readyz')).status, 200);
    assert.equal((await server.client().post('/login', { username, password: GOOD_PASSWORD })).status, 200);
    assert.equal((await browser.get('/api/me')).status, 200);
    assert.equal((await server.client().get('/api/me', { headers: { authorization: `Bearer ${accessToken}` } })).status, 200);
  }

  async function everythingAnswers503(): Promise<void> {
    clock.advance(PAST_CACHES_MS);
    const ready = await within(server.client().get('/readyz'));
    assertUnavailable(ready, '/readyz');
    assertUnavailable(await within(server.client().post('/login', { username, password: GOOD_PASSWORD })), 'POST /login');
    assertUnavailable(await within(server.client().post('/signup', { username: uniqueName('late'), password: GOOD_PASSWORD })), 'POST /signup');
    assertUnavailable(await within(browser.get('/api/me')), 'GET /api/me with a session cookie');
    assertUnavailable(await within(server.client().get('/api/me', { headers: { authorization: `Bearer ${accessToken}` } })), 'GET /api/me with a bearer token');
    // The process lives on and says so.
    assert.equal((await server.client().get('/healthz')).status, 200);
  }

  it('works through the proxy to begin with', async () => {
    await everythingWorks();
  });

  it('answers 503 unavailable, promptly, when PostgreSQL refuses connections', async () => {
    await proxy.stop();
    await everythingAnswers503();
  });

  it('recovers without a restart when PostgreSQL is back', async () => {
    await proxy.start();
    await everythingWorks();
  });

  it('answers 503 within the statement timeout when the network swallows every packet', async () => {
    clock.advance(PAST_CACHES_MS);
    proxy.blackhole();
    await everythingAnswers503();
  });

  it('recovers again once the network heals', async () => {
    proxy.heal();
    await everythingWorks();
  });

  it('recovers after a failover that leaves the old connections silent forever', async () => {
    // Fill the pool with open connections, then move the server: each old connection is found dead
    // (one statement timeout) at most once and dropped, never reused.
    await Promise.all(Array.from({ length: POOL_SIZE * 2 }, () => server.client().get('/readyz')));
    proxy.failover();
    clock.advance(PAST_CACHES_MS);
    let failures = 0;
    while ((await within(server.client().get('/readyz'))).status !== 200) {
      failures += 1;
      assert.ok(failures <= POOL_SIZE, `a dead connection was used again (${failures} failures with a pool of ${POOL_SIZE})`);
    }
    for (let i = 0; i < 3; i += 1) {
      clock.advance(PAST_CACHES_MS);
      await everythingWorks();
    }
  });
});
