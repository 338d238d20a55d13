import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertError } from '../helpers/assert-error.js';
import { fakeClock, GOOD_PASSWORD, signUpClient, startTestServer, uniqueName } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';
import type { TestResponse } from '../helpers/http.js';

const WRONG = 'definitely not the password';

function retryAfter(res: TestResponse): number {
  const value = res.headers.get('retry-after');
  assert.ok(value !== null, 'Retry-After is set');
  assert.match(value, /^\d+$/, 'Retry-After is whole seconds');
  return Number(value);
}

function assertThrottled(res: TestResponse): number {
  assertError(res, 429, 'rate_limited');
  return retryAfter(res);
}

describe('RATE_LIMIT_PER_IP', () => {
  const clock = fakeClock();
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ RATE_LIMIT_PER_IP: '5', LOGIN_FAILURES_PER_ACCOUNT: '1000' }, { clock });
  });
  after(async () => server.close());

  // Each test starts a fresh minute so the counts of one do not spill into the next.
  const nextWindow = () => clock.advance(61_000);

  it('allows 5 POSTs a minute to /signup, then 429 with Retry-After, and again after the minute', async () => {
    nextWindow();
    for (let i = 0; i < 5; i += 1) {
      const res = await server.client().post('/signup', { username: uniqueName('ip'), password: GOOD_PASSWORD });
      assert.equal(res.status, 201, `request ${i + 1}`);
    }
    const refused = await server.client().post('/signup', { username: uniqueName('ip'), password: GOOD_PASSWORD });
    const seconds = assertThrottled(refused);
    assert.ok(seconds >= 1 && seconds <= 60, `Retry-After ${seconds}`);
    // Failed requests count too: the limit is on attempts, not on successes.
    assertThrottled(await server.client().post('/signup', { username: 'x', password: 'short' }));
    clock.advance(seconds * 1000);
    assert.equal((await server.client().post('/signup', { username: uniqueName('ip'), password: GOOD_PASSWORD })).status, 201);
  });

  it('counts each route on its own: /signup, /login and /api/token', async () => {
    nextWindow();
    const { user } = await signUpClient(server);
    for (let i = 0; i < 4; i += 1) await server.client().post('/signup', { username: 'x', password: 'short' });
    assertThrottled(await server.client().post('/signup', { username: uniqueName(), password: GOOD_PASSWORD }));

    for (let i = 0; i < 5; i += 1) {
      assert.equal((await server.client().post('/login', { username: user.username, password: GOOD_PASSWORD })).status, 200, `login ${i + 1}`);
    }
    assertThrottled(await server.client().post('/login', { username: user.username, password: GOOD_PASSWORD }));

    for (let i = 0; i < 5; i += 1) {
      assert.equal((await server.client().post('/api/token', { username: user.username, password: GOOD_PASSWORD })).status, 200, `token ${i + 1}`);
    }
    assertThrottled(await server.client().post('/api/token', { username: user.username, password: GOOD_PASSWORD }));
  });

  it('does not limit reads or the rest of the API', async () => {
    nextWindow();
    const { client } = await signUpClient(server);
    for (let i = 0; i < 10; i += 1) {
      assert.equal((await client.get('/api/me')).status, 200);
      assert.equal((await client.get('/check_session')).status, 200);
    }
  });

  it('counts per client address (X-Forwarded-For, with TRUST_PROXY)', async () => {
    const proxied = await startTestServer({ RATE_LIMIT_PER_IP: '2', TRUST_PROXY: 'on' });
    try {
      const from = (ip: string) => proxied.client().post('/login', { username: 'nobody-here', password: WRONG }, { headers: { 'x-forwarded-for': ip } });
      assert.equal((await from('203.0.113.1')).status, 401);
      assert.equal((await from('203.0.113.1')).status, 401);
      assertThrottled(await from('203.0.113.1'));
      assert.equal((await from('203.0.113.2')).status, 401, 'another address has its own count');
    } finally {
      await proxied.close();
    }
  });
});

describe('LOGIN_FAILURES_PER_ACCOUNT', () => {
  const WINDOW_S = 900;
  const clock = fakeClock();
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ LOGIN_FAILURES_PER_ACCOUNT: '3', LOGIN_FAILURE_WINDOW_SECONDS: String(WINDOW_S), RATE_LIMIT_PER_IP: '100000' }, { clock });
  });
  after(async () => server.close());

  const login = (username: string, password: string) => server.client().post('/login', { username, password });

  it('after 3 failures the account answers 429, even to the right password', async () => {
    const { user } = await signUpClient(server);
    for (let i = 0; i < 3; i += 1) assertError(await login(user.username, WRONG), 401, 'invalid_credentials');
    const seconds = assertThrottled(await login(user.username, GOOD_PASSWORD));
    assert.ok(seconds > WINDOW_S - 5 && seconds <= WINDOW_S, `Retry-After ${seconds}`);
    assertThrottled(await server.client().post('/api/token', { username: user.username, password: GOOD_PASSWORD }));
  });

  it('throttles an unknown username the same way, with the same answer', async () => {
    const { user } = await signUpClient(server);
    const ghost = uniqueName('ghost');
    for (let i = 0; i < 3; i += 1) {
      assertError(await login(ghost, WRONG), 401, 'invalid_credentials');
      assertError(await login(user.username, WRONG), 401, 'invalid_credentials');
    }
    const unknown = await login(ghost, WRONG);
    const known = await login(user.username, WRONG);
    assertThrottled(unknown);
    assertThrottled(known);
    assert.equal(unknown.text, known.text);
    assert.equal(unknown.headers.get('retry-after'), known.headers.get('retry-after'));
  });

  it('counts the typed name, not the account: case variants and /api/token failures add up, the email counts apart', async () => {
    // Changed with the fix for the review's finding 6: this test used to expect the email to share
    // the username's count, which made a 429 reveal which email belongs to which username.
    const username = uniqueName('spell');
    const email = `${username}@example.com`;
    await signUpClient(server, username, GOOD_PASSWORD, email);
    assertError(await login(username.toUpperCase(), WRONG), 401, 'invalid_credentials');
    assertError(await login(` ${username} `, WRONG), 401, 'invalid_credentials');
    assertError(await server.client().post('/api/token', { username, password: WRONG }), 401, 'invalid_credentials');
    assertThrottled(await login(username, GOOD_PASSWORD));
    assertError(await login(email.toUpperCase(), WRONG), 401, 'invalid_credentials');
    assert.equal((await login(email, GOOD_PASSWORD)).status, 200, 'the email is not throttled by the username');
  });

  it('a successful login resets the count', async () => {
    const { user } = await signUpClient(server);
    for (let round = 0; round < 3; round += 1) {
      assertError(await login(user.username, WRONG), 401, 'invalid_credentials');
      assertError(await login(user.username, WRONG), 401, 'invalid_credentials');
      assert.equal((await login(user.username, GOOD_PASSWORD)).status, 200, `round ${round}`);
    }
  });

  it('the block ends: the owner gets back in after Retry-After, and each new lockout lasts longer', async () => {
    const { user } = await signUpClient(server);
    const blocks: number[] = [];
    for (let lockout = 0; lockout < 3; lockout += 1) {
      for (let i = 0; i < 3; i += 1) assertError(await login(user.username, WRONG), 401, 'invalid_credentials');
      const seconds = assertThrottled(await login(user.username, WRONG));
      blocks.push(seconds);
      clock.advance((seconds - 1) * 1000);
      assertThrottled(await login(user.username, GOOD_PASSWORD));
      clock.advance(1000);
    }
    assert.ok(blocks[0] !== undefined && blocks[1] !== undefined && blocks[2] !== undefined);
    assert.ok(blocks[1] > blocks[0] && blocks[2] > blocks[1], `Retry-After grows: ${blocks.join(', ')}`);
    assert.ok(blocks[0] <= WINDOW_S && blocks[1] <= 2 * WINDOW_S && blocks[2] <= 4 * WINDOW_S);
    assert.equal((await login(user.username, GOOD_PASSWORD)).status, 200, 'the owner is not locked out for ever');
  });
});

describe('RATE_LIMITS=off', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ RATE_LIMITS: 'off', RATE_LIMIT_PER_IP: '2', LOGIN_FAILURES_PER_ACCOUNT: '1' });
  });
  after(async () => server.close());

  it('turns off both the per-IP and the per-account limit', async () => {
    const { user } = await signUpClient(server);
    for (let i = 0; i < 6; i += 1) {
      assertError(await server.client().post('/login', { username: user.username, password: WRONG }), 401, 'invalid_credentials');
      assert.equal((await server.client().post('/signup', { username: uniqueName('off'), password: GOOD_PASSWORD })).status, 201);
    }
    assert.equal((await server.client().post('/login', { username: user.username, password: GOOD_PASSWORD })).status, 200);
  });
});
