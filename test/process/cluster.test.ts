import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GOOD_PASSWORD, TEST_OUTPUT, uniqueName } from '../helpers/app.js';
import { TestClient } from '../helpers/http.js';
import type { RequestOptions } from '../helpers/http.js';

const METRICS_TOKEN = 'cluster-metrics-token-0123456789';
const START_DEADLINE_MS = 30_000;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}

/** Every request on a new connection: the cluster hands connections to workers in turn. */
class RoundRobinClient extends TestClient {
  override request<T = unknown>(method: string, path: string, options: RequestOptions = {}) {
    return super.request<T>(method, path, { ...options, headers: { connection: 'close', ...(options.headers ?? {}) } });
  }
}

function sample(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('gatehouse serve --workers 2 on SQLite, without Redis', () => {
  let child: ChildProcess;
  let dir: string;
  let url: string;
  let metricsUrl: string;
  let stderr = '';
  let exited: Promise<number | null>;

  before(async () => {
    dir = join(TEST_OUTPUT, 'cluster', randomUUID());
    mkdirSync(dir, { recursive: true });
    const [port, metricsPort] = [await freePort(), await freePort()];
    url = `http://127.0.0.1:${port}`;
    metricsUrl = `http://127.0.0.1:${metricsPort}`;
    child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--workers', '2'], {
      env: {
        ...process.env,
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        BCRYPT_COST: '4',
        PORT: String(port),
        METRICS_PORT: String(metricsPort),
        METRICS_TOKEN,
        DATABASE_URL: `sqlite:${join(dir, 'gatehouse.db')}`,
        LOGIN_FAILURES_PER_ACCOUNT: '4',
        REDIS_URL: '',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + START_DEADLINE_MS;
    for (;;) {
      const ready = await fetch(`${url}/readyz`, { headers: { connection: 'close' } }).then((r) => r.status, () => 0);
      // Both workers listening: two ready answers in a row, one from each.
      if (ready === 200 && (await fetch(`${url}/readyz`, { headers: { connection: 'close' } }).then((r) => r.status, () => 0)) === 200) break;
      assert.ok(Date.now() < deadline, `the cluster did not start: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
  after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('spreads requests over both workers, and METRICS_PORT adds their metrics up', async () => {
    const client = new RoundRobinClient(url);
    const before = sample(await (await fetch(`${metricsUrl}/metrics`)).text(), 'gatehouse_http_request_duration_seconds_count', { route: '/healthz', status: '200' });
    for (let i = 0; i < 10; i += 1) assert.equal((await client.get('/healthz')).status, 200);
    const total = sample(await (await fetch(`${metricsUrl}/metrics`)).text(), 'gatehouse_http_request_duration_seconds_count', { route: '/healthz', status: '200' });
    assert.equal(total - before, 10, 'the sum over workers');
    // Each worker's own /metrics (main port, token) shows its share: both served some.
    const auth = { headers: { authorization: `Bearer ${METRICS_TOKEN}` } };
    const shares = [];
    for (let i = 0; i < 2; i += 1) shares.push(sample((await client.get<string>('/metrics', auth)).text, 'gatehouse_http_request_duration_seconds_count', { route: '/healthz', status: '200' }));
    assert.ok(shares.every((share) => share > 0), `per-worker counts ${shares.join(', ')}`);
    assert.equal(shares[0]! + shares[1]!, total);
  });

  it('counts failed logins across workers as one process would (counters in the primary)', async () => {
    const client = new RoundRobinClient(url);
    const username = uniqueName('cluster');
    assert.equal((await client.post('/signup', { username, password: GOOD_PASSWORD })).status, 201);
    for (let i = 0; i < 4; i += 1) assert.equal((await client.post('/login', { username, password: `wrong password ${i}` })).status, 401);
    for (let i = 0; i < 2; i += 1) {
      assert.equal((await client.post('/login', { username, password: GOOD_PASSWORD })).status, 429, 'blocked on every worker');
    }
  });

  it('ends a logged-out session on the other worker at once', async () => {
    const browser = new RoundRobinClient(url);
    assert.equal((await browser.post('/signup', { username: uniqueName('cluster'), password: GOOD_PASSWORD })).status, 201);
    const replay = new RoundRobinClient(url);
    for (const [name, value] of browser.cookies) replay.cookies.set(name, value);
    assert.equal((await browser.get('/api/me')).status, 200, 'worker X checks (and caches) the session');
    assert.equal((await browser.send('DELETE', '/logout')).status, 204, 'worker Y logs it out');
    assert.equal((await replay.get('/api/me')).status, 401, 'worker X refuses the old cookie');
  });

  it('takes a burst of concurrent writes on both workers without an error (WAL + busy_timeout)', async () => {
    const owner = new RoundRobinClient(url);
    const username = uniqueName('writer');
    assert.equal((await owner.post('/signup', { username, password: GOOD_PASSWORD })).status, 201);
    const token = (await owner.post<{ access_token: string }>('/api/token', { username, password: GOOD_PASSWORD })).body.access_token;
    const statuses = new Map<number, number>();
    for (let batch = 0; batch < 4; batch += 1) {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => owner.post('/api/bucketlists', { name: `list ${batch}-${i}` }, { headers: { authorization: `Bearer ${token}` }, anonymous: true })),
      );
      for (const res of results) statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(statuses), { 201: 200 });
    const list = await owner.get<{ total: number }>('/api/bucketlists?limit=1', { headers: { authorization: `Bearer ${token}` }, anonymous: true });
    assert.equal(list.body.total, 200);
  });

  it('stops cleanly on SIGTERM', async () => {
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.doesNotMatch(stderr, /exited .*starting another/, 'no worker crashed during the tests');
  });
});
