/**
 * The per-account login throttle over real HTTP: concurrent guesses, what a 429 reveals, and
 * whether a spray of per-address keys can unblock an account; plus the per-address limit for IPv6.
 *
 * Each test was run against the old code (1ed912e's src/limits and verifyCredentials; for the
 * eviction test with LIMIT_STORE_MAX_KEYS wired into its MemoryLimitStore, which already took a
 * size; TRUST_PROXY=on there, which picks the same address for a one-entry X-Forwarded-For) and
 * failed there, three runs each:
 * - concurrent guesses (the right password sent once the 49 wrong ones had arrived, as the old
 *   code has no attempt counter to watch): /login evaluated 38, 47 and 26 of 50; /api/token
 *   evaluated all 50, {"200":1,"401":49}, every time;
 * - typed-name keying: the email of a throttled username (and vice versa) answered 429, not 401;
 * - spray: after 150 per-address keys the blocked account answered 401 (evaluated), then 200;
 * - IPv6: a second address of the same /64 got its own count (401 where 429 was expected), and
 *   so did an IPv4 address written IPv4-mapped.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MemoryLimitStore } from '../../src/limits/store.js';
import { GOOD_PASSWORD, signUpClient, startTestServer, uniqueName } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';
import type { TestResponse } from '../helpers/http.js';

const WRONG = 'definitely not the password';

function statusCounts(responses: readonly TestResponse[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const res of responses) counts[res.status] = (counts[res.status] ?? 0) + 1;
  return counts;
}

function assertThrottled(res: TestResponse, what: string): void {
  assert.equal(res.status, 429, `${what}: ${res.text}`);
  assert.equal((res.body as { error: { code: string } }).error.code, 'rate_limited');
  assert.match(res.headers.get('retry-after') ?? '', /^[1-9]\d*$/, `${what}: Retry-After in whole seconds`);
}

/** Polls on every turn of the event loop; a test that waits in vain fails after 10 s. */
async function until(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    assert.ok(Date.now() < deadline, 'timed out');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function auditCount(server: TestServer, userId: number, event: string): Promise<number> {
  const rows = await server.services.db.selectFrom('audit_events').select('event').where('user_id', '=', userId).where('event', '=', event).execute();
  return rows.length;
}

describe('concurrent guesses: at most LOGIN_FAILURES_PER_ACCOUNT are evaluated (fault 2)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ LOGIN_FAILURES_PER_ACCOUNT: '10', RATE_LIMIT_PER_IP: '100000' });
  });
  after(async () => server.close());

  for (const route of ['/login', '/api/token']) {
    it(`${route}: 49 wrong guesses at once, then the right password → exactly 10 evaluated, the other 40 (the right one too) 429 before any hash`, async () => {
      const { user } = await signUpClient(server);
      const guess = (password: string) => server.client().post(route, { username: user.username, password });
      const wrong = Array.from({ length: 49 }, (_, i) => guess(`${WRONG} ${i}`));
      // The right password goes in once every wrong guess has taken its place in the count
      // (refused ones are counted too) or the block is set, so which came first is not left to chance.
      const store = server.services.limitStore;
      await until(
        async () =>
          ((await store.get(`login:attempts:name:${user.username}`))?.count ?? 0) >= 49 || (await store.get(`login:block:name:${user.username}`)) !== null,
      );
      const right = guess(GOOD_PASSWORD);
      const responses = await Promise.all([...wrong, right]);
      const counts = statusCounts(responses);
      const evaluated = (counts[401] ?? 0) + (counts[200] ?? 0);
      assert.equal(evaluated, 10, `evaluated ${evaluated} of 50: ${JSON.stringify(counts)}`);
      assert.equal(counts[401], 10, JSON.stringify(counts));
      assert.equal(counts[429], 40, JSON.stringify(counts));
      for (const res of responses.filter((r) => r.status === 429)) assertThrottled(res, 'a refused guess');
      assertThrottled(await right, 'the right password, after the window was used up');
      assert.equal(await auditCount(server, user.id, 'login_failed'), 10, 'one login_failed row per evaluated guess');
      assert.equal(await auditCount(server, user.id, 'login_throttled'), 40, 'one login_throttled row per refusal');
    });
  }
});

describe('the visible throttle keys on the typed name, not the account (fault 6)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ LOGIN_FAILURES_PER_ACCOUNT: '3', RATE_LIMIT_PER_IP: '100000' });
  });
  after(async () => server.close());

  const post = (route: string, username: string, password: string) => server.client().post(route, { username, password });

  for (const route of ['/api/token', '/login']) {
    it(`${route}: failures on the username block the username (any case), while the email still answers 401 and logs in`, async () => {
      const name = uniqueName('dave');
      const email = `${name}@example.com`;
      await signUpClient(server, name, GOOD_PASSWORD, email);
      for (let i = 0; i < 3; i += 1) assert.equal((await post(route, name, WRONG)).status, 401);
      assertThrottled(await post(route, name, WRONG), 'the username');
      assertThrottled(await post(route, name.toUpperCase(), GOOD_PASSWORD), 'the username in capitals');
      assert.equal((await post(route, email, WRONG)).status, 401, 'the email is not linked to the blocked name');
      assert.equal((await post(route, email.toUpperCase(), GOOD_PASSWORD)).status, 200, 'and the owner gets in by email');
    });

    it(`${route}: failures on the email block the email, while the username still answers 401`, async () => {
      const name = uniqueName('dave');
      const email = `${name}@example.com`;
      await signUpClient(server, name, GOOD_PASSWORD, email);
      for (let i = 0; i < 3; i += 1) assert.equal((await post(route, email, WRONG)).status, 401);
      assertThrottled(await post(route, ` ${email.toUpperCase()} `, WRONG), 'the email, any spelling');
      assert.equal((await post(route, name, WRONG)).status, 401, 'the username is not linked to the blocked email');
      assert.equal((await post(route, name, GOOD_PASSWORD)).status, 200);
    });
  }

  it('an unknown name blocks alike, and its look-alike email answers 401', async () => {
    const ghost = uniqueName('erin');
    for (let i = 0; i < 3; i += 1) assert.equal((await post('/api/token', ghost, WRONG)).status, 401);
    assertThrottled(await post('/login', ghost, WRONG), 'the unknown name');
    assert.equal((await post('/login', `${ghost}@example.com`, WRONG)).status, 401);
  });
});

describe('spraying per-address keys does not unblock an account (fault 4)', () => {
  const MAX_KEYS = 100;
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ LIMIT_STORE_MAX_KEYS: String(MAX_KEYS), TRUST_PROXY: '1', LOGIN_FAILURES_PER_ACCOUNT: '3', RATE_LIMIT_PER_IP: '100' });
  });
  after(async () => server.close());

  it(`a blocked account stays blocked after ${MAX_KEYS + 50} requests from distinct addresses, with the wrong and the right password`, async () => {
    const { user } = await signUpClient(server, uniqueName('ivan'));
    const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });
    for (let i = 0; i < 3; i += 1) assert.equal((await server.client().post('/api/token', { username: user.username, password: WRONG }, from('198.51.100.7'))).status, 401);
    assertThrottled(await server.client().post('/api/token', { username: user.username, password: WRONG }, from('198.51.100.7')), 'blocked');

    // No bcrypt on this route: each request is one cheap new per-address counter.
    for (let i = 0; i < MAX_KEYS + 50; i += 1) {
      const res = await server.client().post('/api/token/refresh', { refresh_token: `junk-${i}` }, from(`10.9.${i >> 8}.${i & 255}`));
      assert.equal(res.status, 401, `spray ${i}`);
    }
    assert.ok((server.services.limitStore as MemoryLimitStore).size('address') <= MAX_KEYS, 'per-address counters stay within their budget');

    assertThrottled(await server.client().post('/api/token', { username: user.username, password: WRONG }, from('198.51.100.8')), 'after the spray, wrong password');
    assertThrottled(await server.client().post('/login', { username: user.username, password: GOOD_PASSWORD }, from('198.51.100.9')), 'after the spray, right password');
    assert.equal((await server.services.limitStore.get(`login:strikes:name:${user.username}`))?.count, 1, 'the strike is kept too, so the next block doubles');
  });
});

describe('the per-address limit counts an IPv6 client by its /64 (fault 4)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ TRUST_PROXY: '1', RATE_LIMIT_PER_IP: '2', LOGIN_FAILURES_PER_ACCOUNT: '1000' });
  });
  after(async () => server.close());

  const from = (ip: string) => server.client().post('/login', { username: uniqueName('nobody'), password: WRONG }, { headers: { 'x-forwarded-for': ip } });

  it('addresses of one /64 share a count; the next /64 has its own', async () => {
    assert.equal((await from('2001:db8:a:b::1')).status, 401);
    assert.equal((await from('2001:db8:a:b:ffff:ffff:ffff:2')).status, 401);
    assertThrottled(await from('2001:db8:a:b:1234::3'), 'a third address of the same /64');
    assert.equal((await from('2001:db8:a:c::1')).status, 401, 'another /64 is another client');
  });

  it('an IPv4-mapped IPv6 address counts as its IPv4 address', async () => {
    assert.equal((await from('::ffff:203.0.113.5')).status, 401);
    assert.equal((await from('203.0.113.5')).status, 401);
    assertThrottled(await from('::ffff:203.0.113.5'), 'the same IPv4 client');
    assert.equal((await from('203.0.113.6')).status, 401);
  });
});
