// @requires postgres, redis
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RedisLimitStore } from '../../src/limits/redis-store.js';
import { fakeClock, GOOD_PASSWORD, uniqueName } from '../helpers/app.js';
import type { FakeClock } from '../helpers/app.js';
import { deployment, REDIS_URL, sameBrowser } from './instances.js';
import type { Deployment, Instance, LogLines } from './instances.js';
import { TcpProxy } from './tcp-proxy.js';

const WARN = 40;
/** Reconnection is ioredis's, in real time (backoff up to 2 s); wait for it, never for a fixed time. */
const RECONNECT_DEADLINE_MS = 15_000;
/** Generous next to the 1 s Redis command timeout: anything slower would be a hang. */
const NO_HANG_MS = 8_000;

async function until(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + RECONNECT_DEADLINE_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Wait until a revocation published on `from` reaches `to` through Redis. */
async function untilHeard(from: Instance, to: Instance): Promise<void> {
  const heard = new Set<string>();
  to.services.bus.subscribe((event) => {
    if (event.kind === 'session') heard.add(event.tokenHash);
  });
  let n = 0;
  await until('revocations travel between the instances', async () => {
    const probe = `probe-${process.pid}-${(n += 1)}`;
    await from.services.bus.publish({ kind: 'session', tokenHash: probe });
    await new Promise((resolve) => setTimeout(resolve, 20));
    return heard.has(probe);
  });
}

describe('Redis down: per-instance limits and local revocations, never a 500; then back', () => {
  let deploy: Deployment;
  let proxy: TcpProxy;
  let a: Instance;
  let b: Instance;
  let clock: FakeClock;
  const logsA: LogLines = [];

  before(async () => {
    const redis = new URL(REDIS_URL);
    proxy = new TcpProxy(redis.hostname, Number(redis.port || 6379));
    await proxy.start();
    redis.host = `127.0.0.1:${proxy.port}`;
    deploy = await deployment({ REDIS_URL: redis.toString(), LOGIN_FAILURES_PER_ACCOUNT: '2' });
    clock = fakeClock();
    a = await deploy.start({}, { clock, logs: logsA });
    b = await deploy.start({}, { clock });
  });
  after(async () => {
    await proxy.stop();
    await deploy.close();
  });

  async function signUp() {
    const username = uniqueName('redis');
    const browser = a.client();
    const res = await browser.post<{ id: number }>('/signup', { username, password: GOOD_PASSWORD });
    assert.equal(res.status, 201);
    return { username, userId: res.body.id, browser };
  }

  it('shares counts while Redis is up', async () => {
    const { username } = await signUp();
    assert.equal((await a.client().post('/login', { username, password: 'wrong password one' })).status, 401);
    assert.equal((await b.client().post('/login', { username, password: 'wrong password two' })).status, 401);
    assert.equal((await b.client().post('/login', { username, password: GOOD_PASSWORD })).status, 429);
  });

  it('keeps answering (no 500) when Redis goes away, counting per instance, with a warning', async () => {
    await proxy.stop();
    const { username } = await signUp();
    for (const instance of [a, b]) {
      const res = await instance.client().post('/login', { username, password: 'wrong password' });
      assert.equal(res.status, 401, 'a failed login is still a failed login');
    }
    // Each instance has seen one failure only: the account is not blocked yet on either.
    assert.equal((await a.client().post('/login', { username, password: GOOD_PASSWORD })).status, 200);
    assert.equal((await a.client().post('/login', { username, password: 'wrong again' })).status, 401);
    assert.equal((await a.client().post('/login', { username, password: 'and again' })).status, 401);
    assert.equal((await a.client().post('/login', { username, password: GOOD_PASSWORD })).status, 429, 'A still throttles on its own');
    assert.equal((await b.client().post('/login', { username, password: GOOD_PASSWORD })).status, 200, 'B counts apart from A');
    assert.ok((a.services.limitStore as RedisLimitStore).degraded);
    assert.ok(
      logsA.some((line) => line.level === WARN && /Redis unavailable/.test(line.msg)),
      'the fallback is logged as a warning',
    );
    for (const path of ['/api/token/refresh', '/api/token/revoke']) {
      const res = await b.client().post(path, { refresh_token: 'x', token: 'x' });
      assert.ok(res.status < 500, `${path} answered ${res.status}`);
    }
  });

  it('still ends a disabled user on every instance within the 1 s cache bound', async () => {
    const { username, userId, browser } = await signUp();
    const onB = sameBrowser(browser, b);
    const token = await a.client().post<{ access_token: string }>('/api/token', { username, password: GOOD_PASSWORD });
    const bearer = { headers: { authorization: `Bearer ${token.body.access_token}` } };
    assert.equal((await b.client().get('/api/me', bearer)).status, 200);
    assert.equal((await onB.get('/api/me')).status, 200);

    await a.services.accounts.updateAccount(userId, { disabled: true }, { id: null });
    assert.equal((await a.client().get('/api/me', bearer)).status, 401, 'the instance that disabled knows at once');
    clock.advance(1_000);
    assert.equal((await b.client().get('/api/me', bearer)).status, 401, 'B, told nothing, refuses after 1 s');
    assert.equal((await onB.get('/api/me')).status, 401);
  });

  it('shares counts again once Redis is back, without a restart', async () => {
    await proxy.start();
    await until('A counts in Redis again', async () => {
      await a.services.limitStore.get('probe');
      return !(a.services.limitStore as RedisLimitStore).degraded;
    });
    await until('B counts in Redis again', async () => {
      await b.services.limitStore.get('probe');
      return !(b.services.limitStore as RedisLimitStore).degraded;
    });
    assert.ok(logsA.some((line) => /Redis answers again/.test(line.msg)));
    const { username } = await signUp();
    assert.equal((await a.client().post('/login', { username, password: 'wrong password one' })).status, 401);
    assert.equal((await b.client().post('/login', { username, password: 'wrong password two' })).status, 401);
    assert.equal((await a.client().post('/login', { username, password: GOOD_PASSWORD })).status, 429);
  });

  it('broadcasts revocations again once the subscriber is back', async () => {
    const { userId, browser } = await signUp();
    const onB = sameBrowser(browser, b);
    assert.equal((await onB.get('/api/me')).status, 200, 'B has the session cached');
    // The subscriber reconnects on its own schedule; wait until B hears A again.
    await untilHeard(a, b);
    await a.services.accounts.updateAccount(userId, { disabled: true }, { id: null });
    assert.equal((await onB.get('/api/me')).status, 401, 'with time standing still, only the broadcast can have told B');
  });

  it('answers promptly, never 500, when Redis hangs instead of refusing; then recovers', async () => {
    proxy.blackhole();
    const { username } = await signUp();
    const started = Date.now();
    for (const instance of [a, b, a]) {
      const res = await instance.client().post('/login', { username, password: 'wrong password' });
      assert.equal(res.status, 401);
    }
    assert.ok(Date.now() - started < NO_HANG_MS, 'a hung Redis costs a command timeout, not a hang');
    assert.ok((a.services.limitStore as RedisLimitStore).degraded);
    proxy.heal();
    await until('A counts in Redis again', async () => {
      await a.services.limitStore.get('probe');
      return !(a.services.limitStore as RedisLimitStore).degraded;
    });
  });
});

describe('instances started while Redis is down', () => {
  let deploy: Deployment;
  let proxy: TcpProxy;
  let a: Instance;
  let b: Instance;

  before(async () => {
    const redis = new URL(REDIS_URL);
    proxy = new TcpProxy(redis.hostname, Number(redis.port || 6379));
    await proxy.start();
    redis.host = `127.0.0.1:${proxy.port}`;
    await proxy.refuse();
    deploy = await deployment({ REDIS_URL: redis.toString(), LOGIN_FAILURES_PER_ACCOUNT: '2' });
    const clock = fakeClock();
    [a, b] = await Promise.all([deploy.start({}, { clock }), deploy.start({}, { clock })]);
  });
  after(async () => {
    await proxy.stop();
    await deploy.close();
  });

  it('start and serve without it, then share limits and revocations once it is up', async () => {
    const username = uniqueName('late');
    const browser = a.client();
    assert.equal((await browser.post('/signup', { username, password: GOOD_PASSWORD })).status, 201);
    assert.equal((await b.client().post('/login', { username, password: 'wrong password' })).status, 401);

    // Down long enough for every connection (two per instance) to have retried a few times.
    await until('the clients have retried', async () => proxy.attempts >= 16);
    proxy.heal();
    for (const instance of [a, b]) {
      await until('the instance counts in Redis', async () => {
        await instance.services.limitStore.get('probe');
        return !(instance.services.limitStore as RedisLimitStore).degraded;
      });
    }
    await untilHeard(a, b);
    const probeOnB = sameBrowser(browser, b);
    assert.equal((await probeOnB.get('/api/me')).status, 200);
    assert.equal((await browser.send('DELETE', '/logout')).status, 204);
    assert.equal((await probeOnB.get('/api/me')).status, 401, 'a logout on A reaches B at once');
  });
});
