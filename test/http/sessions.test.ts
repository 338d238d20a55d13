import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GOOD_PASSWORD, signUpClient, startTestServer, uniqueName } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';

describe('browser sessions', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.close());

  it('signs up with 201, the user JSON and both cookies', async () => {
    const client = server.client();
    const username = uniqueName('Alice');
    const res = await client.post<Record<string, unknown>>('/signup', { username, email: `${username}@example.com`, password: GOOD_PASSWORD });
    assert.equal(res.status, 201);
    assert.deepEqual(Object.keys(res.body).sort(), ['created_at', 'email', 'id', 'role', 'username']);
    assert.equal(res.body.username, username);
    assert.equal(res.body.role, 'user');
    assert.match(String(res.body.created_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    const session = res.setCookies.find((c) => c.name === 'gatehouse_session');
    const csrf = res.setCookies.find((c) => c.name === 'csrf_token');
    assert.ok(session && csrf);
    assert.equal(session.attributes.httponly, true);
    assert.equal(session.attributes.samesite, 'Lax');
    assert.equal(session.attributes.path, '/');
    assert.equal(session.attributes.secure, undefined, 'plain HTTP with COOKIE_SECURE=auto is not Secure');
    assert.equal(session.attributes['max-age'], undefined, 'signup gives a browser-session cookie');
    assert.equal(csrf.attributes.httponly, undefined);
    assert.equal(csrf.attributes.samesite, 'Lax');
    assert.ok(Buffer.from(session.value, 'base64url').length >= 16, 'at least 128 bits');
  });

  it('check_session and /api/me answer with the user; 204 and 401 without', async () => {
    const { client, user } = await signUpClient(server);
    const check = await client.get<{ id: number }>('/check_session');
    assert.equal(check.status, 200);
    assert.equal(check.body.id, user.id);
    const me = await client.get<{ id: number }>('/api/me');
    assert.equal(me.status, 200);
    assert.equal(me.body.id, user.id);

    const anonymous = server.client();
    const none = await anonymous.get('/check_session');
    assert.equal(none.status, 204);
    assert.equal(none.text, '');
    const unauth = await anonymous.get<{ error: { code: string } }>('/api/me');
    assert.equal(unauth.status, 401);
    assert.equal(unauth.body.error.code, 'unauthenticated');
  });

  it('logs in by username or email, case-insensitively', async () => {
    const username = uniqueName('Bob');
    const email = `${username}@Example.com`;
    await signUpClient(server, username, GOOD_PASSWORD, email);
    for (const identifier of [username, username.toUpperCase(), email.toLowerCase()]) {
      const res = await server.client().post<{ username: string }>('/login', { username: identifier, password: GOOD_PASSWORD });
      assert.equal(res.status, 200, identifier);
      assert.equal(res.body.username, username);
    }
  });

  it('gives the same 401 body for an unknown user and a wrong password', async () => {
    const { user } = await signUpClient(server);
    const wrong = await server.client().post('/login', { username: user.username, password: 'not the password at all' });
    const unknown = await server.client().post('/login', { username: uniqueName('ghost'), password: 'not the password at all' });
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.equal(wrong.text, unknown.text);
    assert.deepEqual(wrong.body, { error: { code: 'invalid_credentials', message: 'Invalid username or password.' } });
  });

  it('remember: true sets a persistent cookie with Max-Age', async () => {
    const { user } = await signUpClient(server);
    const res = await server.client().post('/login', { username: user.username, password: GOOD_PASSWORD, remember: true });
    const session = res.setCookies.find((c) => c.name === 'gatehouse_session');
    const csrf = res.setCookies.find((c) => c.name === 'csrf_token');
    assert.equal(session?.attributes['max-age'], String(server.config.sessionMaxAge));
    assert.equal(csrf?.attributes['max-age'], String(server.config.sessionMaxAge));
  });

  it('logout needs the CSRF header, then revokes the session server-side', async () => {
    const { client } = await signUpClient(server);
    const replay = client.clone();
    const refused = await client.request<{ error: { code: string } }>('DELETE', '/logout');
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'csrf_failed');
    const ok = await client.send('DELETE', '/logout');
    assert.equal(ok.status, 204);
    assert.equal((await replay.get('/check_session')).status, 204, 'the old cookie is dead');
    assert.equal((await replay.get('/api/me')).status, 401);
    assert.equal((await server.client().request('DELETE', '/logout')).status, 204, 'without a session too');
  });

  it('GET /logout revokes, clears cookies and redirects to /login', async () => {
    const { client } = await signUpClient(server);
    const replay = client.clone();
    const res = await client.get('/logout');
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/login');
    assert.ok(res.setCookies.some((c) => c.name === 'gatehouse_session' && c.value === ''));
    assert.equal((await replay.get('/check_session')).status, 204);
  });

  it('login issues a new session id and CSRF token (no fixation)', async () => {
    const { client, user } = await signUpClient(server);
    const before = { session: client.cookie('gatehouse_session'), csrf: client.csrf };
    const planted = client.clone();
    const res = await client.post('/login', { username: user.username, password: GOOD_PASSWORD });
    assert.equal(res.status, 200);
    assert.notEqual(client.cookie('gatehouse_session'), before.session);
    assert.notEqual(client.csrf, before.csrf);
    assert.equal((await planted.get('/check_session')).status, 204, 'the pre-login cookie does not survive login');
  });

  it('refuses cookie-authenticated unsafe requests without a matching CSRF token', async () => {
    const { client } = await signUpClient(server);
    const other = await signUpClient(server);
    // Another session's valid CSRF token is not this session's.
    const res = await client.request<{ error: { code: string } }>('DELETE', '/logout', { headers: { 'x-csrf-token': other.client.csrf ?? '' } });
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, 'csrf_failed');
  });

  it('refuses cross-origin unsafe requests to /login and with a session cookie', async () => {
    const { client, user } = await signUpClient(server);
    const login = await server.client().post<{ error: { code: string } }>('/login', { username: user.username, password: GOOD_PASSWORD }, { headers: { origin: 'https://evil.example' } });
    assert.equal(login.status, 403);
    assert.equal(login.body.error.code, 'origin_refused');
    const fetchSite = await server.client().post<{ error: { code: string } }>('/signup', { username: uniqueName(), password: GOOD_PASSWORD }, { headers: { 'sec-fetch-site': 'cross-site' } });
    assert.equal(fetchSite.status, 403);
    const withCookie = await client.send<{ error: { code: string } }>('DELETE', '/logout', undefined, { headers: { origin: 'https://evil.example' } });
    assert.equal(withCookie.status, 403);
    assert.equal(withCookie.body.error.code, 'origin_refused');
    const sameOrigin = await server.client().post('/login', { username: user.username, password: GOOD_PASSWORD }, { headers: { origin: server.url } });
    assert.equal(sameOrigin.status, 200);
  });

  it('never accepts credentials in a query string', async () => {
    const { user } = await signUpClient(server);
    const res = await server.client().get(`/login?username=${user.username}&password=${encodeURIComponent(GOOD_PASSWORD)}`);
    assert.ok(!res.setCookies.some((c) => c.name === 'gatehouse_session'));
    const post = await server.client().request('POST', `/login?username=${user.username}&password=${encodeURIComponent(GOOD_PASSWORD)}`, { json: {} });
    assert.equal(post.status, 422);
  });

  it('a query-string login that also has a body uses the body only', async () => {
    const { user } = await signUpClient(server);
    const res = await server.client().request('POST', `/login?password=${encodeURIComponent(GOOD_PASSWORD)}`, { json: { username: user.username, password: 'wrong password here' } });
    assert.equal(res.status, 401);
  });

  it('treats forged, oversized and odd session cookies as no session: 401 / 204, never 500', async () => {
    const values = ['x', 'A'.repeat(43), 'A'.repeat(4000), '%00%00', 'é🔑', '"quoted"', ''];
    for (const value of values) {
      const headers = { cookie: `gatehouse_session=${encodeURIComponent(value)}` };
      const me = await server.client().get<{ error: { code: string } }>('/api/me', { headers });
      assert.equal(me.status, 401, value);
      assert.equal(me.body.error.code, 'unauthenticated');
      assert.equal((await server.client().get('/check_session', { headers })).status, 204, value);
      assert.equal((await server.client().request('DELETE', '/logout', { headers })).status, 204, value);
    }
  });

  it('logout without a session is 204 and GET /logout without one still goes to /login', async () => {
    const res = await server.client().get('/logout');
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/login');
  });

  it('a replayed cookie fails for every kind of request after logout', async () => {
    const { client } = await signUpClient(server);
    const replay = client.clone();
    assert.equal((await client.send('DELETE', '/logout')).status, 204);
    assert.equal((await replay.get('/api/me')).status, 401);
    assert.equal((await replay.send('POST', '/api/bucketlists', { name: 'after logout' })).status, 401);
    // Logging out again with the dead cookie changes nothing and is still 204.
    assert.equal((await replay.send('DELETE', '/logout')).status, 204);
  });

  it('a password change ends every session of the user', async () => {
    const { client, user } = await signUpClient(server);
    const second = server.client();
    await second.post('/login', { username: user.username, password: GOOD_PASSWORD });
    await server.services.accounts.setPassword(user.id, 'a brand new passphrase', { id: null });
    assert.equal((await client.get('/api/me')).status, 401);
    assert.equal((await second.get('/api/me')).status, 401);
    assert.equal((await server.client().post('/login', { username: user.username, password: GOOD_PASSWORD })).status, 401);
    assert.equal((await server.client().post('/login', { username: user.username, password: 'a brand new passphrase' })).status, 200);
  });

  it('keeps at most MAX_SESSIONS_PER_USER sessions, ending the oldest', async () => {
    const limited = await startTestServer({ MAX_SESSIONS_PER_USER: '2' });
    try {
      const { client: first, user } = await signUpClient(limited);
      const second = limited.client();
      const third = limited.client();
      await second.post('/login', { username: user.username, password: GOOD_PASSWORD });
      assert.equal((await first.get('/api/me')).status, 200);
      await third.post('/login', { username: user.username, password: GOOD_PASSWORD });
      assert.equal((await first.get('/check_session')).status, 204, 'the oldest session ended');
      assert.equal((await second.get('/api/me')).status, 200);
      assert.equal((await third.get('/api/me')).status, 200);
    } finally {
      await limited.close();
    }
  });

  it('sends security headers with JSON answers and errors alike', async () => {
    const { client } = await signUpClient(server);
    for (const res of [await client.get('/api/me'), await server.client().get('/api/me'), await server.client().post('/login', {})]) {
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
      assert.ok(res.headers.get('x-frame-options'));
      assert.ok(res.headers.get('referrer-policy'));
      assert.equal(res.headers.get('x-powered-by'), null);
    }
  });

  it('/check_session and logout look at the session cookie alone, never at Authorization', async () => {
    const { client, user } = await signUpClient(server);
    const tokens = await server.client().post<{ access_token: string }>('/api/token', { username: user.username, password: GOOD_PASSWORD });
    const bearer = { authorization: `Bearer ${tokens.body.access_token}` };
    assert.equal((await server.client().get('/check_session', { headers: bearer })).status, 204, 'a token is not a session');
    assert.equal((await client.get('/check_session', { headers: { authorization: 'Bearer not-a-token' } })).status, 200, 'a bad token does not hide the session');
    assert.equal((await server.client().request('DELETE', '/logout', { headers: bearer })).status, 204);
    assert.equal((await server.client().get('/api/me', { headers: bearer })).status, 200, 'logout without a cookie ends no token');
  });
});
