import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcrypt';
import { assertError, assertFields } from '../helpers/assert-error.js';
import { fakeClock, GOOD_PASSWORD, signUpClient, startTestServer, TEST_OUTPUT, uniqueName } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/database.js';
import type { ParsedCookie, TestResponse } from '../helpers/http.js';

const SESSION = 'gatehouse_session';
const CSRF = 'csrf_token';

function cookie(res: TestResponse, name: string): ParsedCookie {
  const found = res.setCookies.find((c) => c.name === name);
  assert.ok(found, `${name} cookie set`);
  return found;
}

async function storedHash(server: TestServer, userId: number): Promise<string> {
  const row = await server.services.db.selectFrom('password_credentials').select('password_hash').where('user_id', '=', userId).executeTakeFirstOrThrow();
  return row.password_hash;
}

describe('POST /login', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ RATE_LIMIT_PER_IP: '100000' });
  });
  after(async () => server.close());

  it('logs in by username or by email (any case) with 200 and the user JSON', async () => {
    const username = uniqueName('Logan');
    const email = `${username}@Example.org`;
    const { user } = await signUpClient(server, username, GOOD_PASSWORD, email);
    for (const identifier of [username, username.toUpperCase(), email, email.toUpperCase(), ` ${email} `]) {
      const res = await server.client().post<Record<string, unknown>>('/login', { username: identifier, password: GOOD_PASSWORD });
      assert.equal(res.status, 200, identifier);
      assert.deepEqual(res.body, { id: user.id, username, email, email_verified: false, role: 'user', created_at: res.body.created_at });
      assert.ok(cookie(res, SESSION).value.length >= 22);
    }
  });

  it('gives one 401 body for an unknown user, a wrong password and a disabled user', async () => {
    const { user } = await signUpClient(server);
    const disabled = await signUpClient(server);
    await server.services.accounts.updateAccount(disabled.user.id, { disabled: true }, { id: null });

    const wrong = await server.client().post('/login', { username: user.username, password: 'not the password at all' });
    const unknown = await server.client().post('/login', { username: uniqueName('ghost'), password: 'not the password at all' });
    const unknownEmail = await server.client().post('/login', { username: 'ghost@example.com', password: GOOD_PASSWORD });
    const off = await server.client().post('/login', { username: disabled.user.username, password: GOOD_PASSWORD });
    // The exact body, merged from test/http/sessions.test.ts: the message names neither half.
    assert.deepEqual(wrong.body, { error: { code: 'invalid_credentials', message: 'Invalid username or password.' } });
    for (const res of [wrong, unknown, unknownEmail, off]) {
      assertError(res, 401, 'invalid_credentials');
      assert.equal(res.text, wrong.text);
      assert.equal(res.setCookies.find((c) => c.name === SESSION), undefined, 'no session on failure');
      assert.equal(res.headers.get('www-authenticate'), wrong.headers.get('www-authenticate'));
    }
  });

  it('a disabled user loses the sessions they already had', async () => {
    const { client, user } = await signUpClient(server);
    assert.equal((await client.get('/api/me')).status, 200);
    await server.services.accounts.updateAccount(user.id, { disabled: true }, { id: null });
    assertError(await client.get('/api/me'), 401, 'unauthenticated');
    assert.equal((await client.get('/check_session')).status, 204);
  });

  it('never truncates: the first 72 bytes of a longer password do not log in', async () => {
    const password = 'k7#Lm2qZ'.repeat(9);
    const { user } = await signUpClient(server, uniqueName('long'), password);
    assertError(await server.client().post('/login', { username: user.username, password: `${password}x` }), 401, 'invalid_credentials');
    assertError(await server.client().post('/login', { username: user.username, password: `${password}\u0000x` }), 401, 'invalid_credentials');
    assert.equal((await server.client().post('/login', { username: user.username, password })).status, 200);
  });

  it('answers 422 for a missing or mistyped field and 400 for malformed JSON', async () => {
    assertFields(await server.client().post('/login', { username: 'someone' }), ['password']);
    assertFields(await server.client().post('/login', { password: GOOD_PASSWORD }), ['username']);
    assertFields(await server.client().post('/login', { username: 42, password: GOOD_PASSWORD }), ['username']);
    assertFields(await server.client().post('/login', { username: 'someone', password: GOOD_PASSWORD, remember: 'yes please' }), ['remember']);
    assertError(await server.client().post('/login', []), 422, 'validation_failed');
    assertError(await server.client().request('POST', '/login', { body: '{"username":', headers: { 'content-type': 'application/json' } }), 400, 'bad_request');
  });

  it('needs no CSRF header, even from a browser that already has a session', async () => {
    const { client, user } = await signUpClient(server);
    const res = await client.post('/login', { username: user.username, password: GOOD_PASSWORD });
    assert.equal(res.status, 200);
  });

  it('a new login leaves other sessions of the same user alone', async () => {
    const { client, user } = await signUpClient(server);
    const other = server.client();
    assert.equal((await other.post('/login', { username: user.username, password: GOOD_PASSWORD })).status, 200);
    assert.equal((await client.get('/api/me')).status, 200);
    assert.equal((await other.get('/api/me')).status, 200);
  });
});

describe('session cookies', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ RATE_LIMIT_PER_IP: '100000' });
  });
  after(async () => server.close());

  it('are HttpOnly (session only), SameSite=Lax, Path=/, not Secure over plain HTTP, browser-session by default', async () => {
    const { user } = await signUpClient(server);
    const res = await server.client().post('/login', { username: user.username, password: GOOD_PASSWORD });
    const session = cookie(res, SESSION);
    const csrf = cookie(res, CSRF);
    assert.equal(session.attributes.httponly, true);
    assert.equal(csrf.attributes.httponly, undefined, 'the page script reads csrf_token');
    for (const c of [session, csrf]) {
      assert.equal(c.attributes.samesite, 'Lax');
      assert.equal(c.attributes.path, '/');
      assert.equal(c.attributes.secure, undefined);
      assert.equal(c.attributes['max-age'], undefined);
      assert.equal(c.attributes.expires, undefined);
      assert.equal(c.attributes.domain, undefined, 'host-only');
    }
  });

  it('remember: true makes both persistent for SESSION_MAX_AGE', async () => {
    const { user } = await signUpClient(server);
    for (const remember of [true, 'true', 'on']) {
      const res = await server.client().post('/login', { username: user.username, password: GOOD_PASSWORD, remember });
      assert.equal(cookie(res, SESSION).attributes['max-age'], String(server.config.sessionMaxAge), String(remember));
      assert.equal(cookie(res, CSRF).attributes['max-age'], String(server.config.sessionMaxAge));
    }
    const res = await server.client().post('/login', { username: user.username, password: GOOD_PASSWORD, remember: false });
    assert.equal(cookie(res, SESSION).attributes['max-age'], undefined);
  });

  it('ignores X-Forwarded-Proto unless TRUST_PROXY says to believe it', async () => {
    const { user } = await signUpClient(server);
    const res = await server.client().post('/login', { username: user.username, password: GOOD_PASSWORD }, { headers: { 'x-forwarded-proto': 'https' } });
    assert.equal(cookie(res, SESSION).attributes.secure, undefined);
  });

  it('COOKIE_SECURE=true marks both cookies Secure, even over plain HTTP', async () => {
    const secure = await startTestServer({ COOKIE_SECURE: 'true' });
    try {
      const signup = await secure.client().post('/signup', { username: uniqueName(), password: GOOD_PASSWORD });
      assert.equal(signup.status, 201);
      // Always Secure, so the session cookie takes the __Host- prefix (src/server/cookies.ts).
      assert.equal(cookie(signup, `__Host-${SESSION}`).attributes.secure, true);
      assert.equal(cookie(signup, CSRF).attributes.secure, true);
      const visitor = await secure.client().get('/check_session');
      assert.equal(cookie(visitor, CSRF).attributes.secure, true, 'the visitor CSRF cookie too');
    } finally {
      await secure.close();
    }
  });

  it('COOKIE_SECURE=auto with TRUST_PROXY=on is Secure when the proxy says https, not when it says http', async () => {
    const proxied = await startTestServer({ COOKIE_SECURE: 'auto', TRUST_PROXY: 'on' });
    try {
      const username = uniqueName();
      const res = await proxied.client().post('/signup', { username, password: GOOD_PASSWORD }, { headers: { 'x-forwarded-proto': 'https' } });
      assert.equal(res.status, 201);
      assert.equal(cookie(res, SESSION).attributes.secure, true);
      assert.equal(cookie(res, CSRF).attributes.secure, true);
      const plain = await proxied.client().post('/login', { username, password: GOOD_PASSWORD }, { headers: { 'x-forwarded-proto': 'http' } });
      assert.equal(cookie(plain, SESSION).attributes.secure, undefined);
    } finally {
      await proxied.close();
    }
  });

  it('COOKIE_SECURE=false is never Secure, even over HTTPS', async () => {
    const insecure = await startTestServer({ COOKIE_SECURE: 'false', TRUST_PROXY: 'on' });
    try {
      const res = await insecure.client().post('/signup', { username: uniqueName(), password: GOOD_PASSWORD }, { headers: { 'x-forwarded-proto': 'https' } });
      assert.equal(cookie(res, SESSION).attributes.secure, undefined);
    } finally {
      await insecure.close();
    }
  });

  it('the session cookie is an opaque random token of at least 128 bits, and only its hash is stored', async () => {
    const { client, user } = await signUpClient(server);
    const token = client.cookie(SESSION) ?? '';
    assert.ok(Buffer.from(token, 'base64url').length >= 16);
    assert.ok(!token.includes(user.username));
    const rows = await server.services.db.selectFrom('sessions').selectAll().where('user_id', '=', user.id).execute();
    assert.equal(rows.length, 1);
    assert.ok(!JSON.stringify(rows).includes(token), 'the cookie value is not in the database');
    assert.ok(!JSON.stringify(rows).includes(client.csrf ?? '-'), 'nor the CSRF token');
  });
});

describe('password re-hash when BCRYPT_COST changes', () => {
  it('upgrades the stored hash at the next successful login, and only then', async () => {
    const database = await createTestDatabase(process.env.TEST_DATABASE_URL, TEST_OUTPUT);
    try {
      const username = uniqueName('rehash');
      let userId: number;
      const old = await startTestServer({ DATABASE_URL: database.url, BCRYPT_COST: '4' });
      try {
        const { user } = await signUpClient(old, username);
        userId = user.id;
        assert.equal(bcrypt.getRounds(await storedHash(old, userId)), 4);
      } finally {
        await old.close();
      }

      const upgraded = await startTestServer({ DATABASE_URL: database.url, BCRYPT_COST: '5' });
      try {
        assertError(await upgraded.client().post('/login', { username, password: 'a wrong password' }), 401, 'invalid_credentials');
        assert.equal(bcrypt.getRounds(await storedHash(upgraded, userId)), 4, 'a failed login changes nothing');
        assert.equal((await upgraded.client().post('/login', { username, password: GOOD_PASSWORD })).status, 200, 'the cost-4 hash still verifies');
        const hash = await storedHash(upgraded, userId);
        assert.equal(bcrypt.getRounds(hash), 5);
        assert.equal(await bcrypt.compare(GOOD_PASSWORD, hash), true);
        assert.equal((await upgraded.client().post('/login', { username, password: GOOD_PASSWORD })).status, 200, 'and the new one too');
        assert.equal(await storedHash(upgraded, userId), hash, 'no re-hash when the cost already matches');
      } finally {
        await upgraded.close();
      }
    } finally {
      await database.drop();
    }
  });
});

describe('session lifetime (injectable clock)', () => {
  const MINUTE = 60_000;
  let server: TestServer;
  const clock = fakeClock(Date.parse('2026-06-01T12:00:00.000Z'));
  before(async () => {
    server = await startTestServer({ SESSION_IDLE_TIMEOUT: '600', SESSION_MAX_AGE: '3600', RATE_LIMIT_PER_IP: '100000' }, { clock });
  });
  after(async () => server.close());

  async function lastSeen(userId: number): Promise<string> {
    const row = await server.services.db.selectFrom('sessions').select('last_seen_at').where('user_id', '=', userId).executeTakeFirstOrThrow();
    return new Date(row.last_seen_at).toISOString();
  }

  it('ends a session unused for SESSION_IDLE_TIMEOUT', async () => {
    const { client } = await signUpClient(server);
    clock.advance(9 * MINUTE);
    assert.equal((await client.get('/api/me')).status, 200, 'used after 9 minutes: still alive, and the idle clock restarts');
    clock.advance(9 * MINUTE);
    assert.equal((await client.get('/check_session')).status, 200, '9 more minutes: still alive');
    clock.advance(10 * MINUTE + 1000);
    assertError(await client.get('/api/me'), 401, 'unauthenticated');
    assert.equal((await client.get('/check_session')).status, 204);
    assertError(await client.send('POST', '/api/bucketlists', { name: 'x' }), 401, 'unauthenticated');
  });

  it('ends a session at SESSION_MAX_AGE however active it is', async () => {
    const { client } = await signUpClient(server);
    for (let minutes = 5; minutes < 60; minutes += 5) {
      clock.advance(5 * MINUTE);
      assert.equal((await client.get('/api/me')).status, 200, `active at ${minutes} min`);
    }
    clock.advance(5 * MINUTE);
    assertError(await client.get('/api/me'), 401, 'unauthenticated');
  });

  it('a remembered session ends when idle too: remember only makes the cookie outlive the browser', async () => {
    const { user } = await signUpClient(server);
    const client = server.client();
    assert.equal((await client.post('/login', { username: user.username, password: GOOD_PASSWORD, remember: true })).status, 200);
    clock.advance(10 * MINUTE + 1000);
    assertError(await client.get('/api/me'), 401, 'unauthenticated');
  });

  it('writes last_seen_at at most once a minute per session', async () => {
    const start = clock();
    const { client, user } = await signUpClient(server);
    const first = await lastSeen(user.id);
    assert.equal(first, new Date(start).toISOString());
    clock.advance(30_000);
    assert.equal((await client.get('/api/me')).status, 200);
    assert.equal(await lastSeen(user.id), first, 'not written after 30 s');
    clock.advance(29_000);
    assert.equal((await client.get('/check_session')).status, 200);
    assert.equal(await lastSeen(user.id), first, 'not written after 59 s');
    clock.advance(1_000);
    assert.equal((await client.get('/api/me')).status, 200);
    assert.equal(await lastSeen(user.id), new Date(start + 60_000).toISOString(), 'written at 60 s');
    clock.advance(1_000);
    assert.equal((await client.get('/api/me')).status, 200);
    assert.equal(await lastSeen(user.id), new Date(start + 60_000).toISOString(), 'and not again a second later');
  });
});
