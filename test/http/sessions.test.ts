/**
 * Browser sessions: what the other files do not cover. Tests that repeated stronger ones elsewhere
 * were removed; each behaviour is still tested in:
 * - signup's user JSON: test/http/signup.test.ts ("answers 201 …"); signup's cookies: the same file
 *   ("signs in with a browser-session cookie …", moved from here); 128-bit opaque cookie:
 *   test/http/login.test.ts ("the session cookie is an opaque random token …");
 * - login by username or email in any case: test/http/login.test.ts ("logs in by username or by email …");
 * - one 401 body for unknown user and wrong password: test/http/login.test.ts ("gives one 401 body …");
 * - remember: true: test/http/login.test.ts ("remember: true makes both persistent …");
 * - DELETE /logout needs the CSRF header: test/http/csrf.test.ts ("DELETE /logout and POST
 *   /api/bucketlists: missing header …", "the right header passes"); the dead cookie after logout:
 *   "a replayed cookie fails …" below;
 * - GET /logout revokes, clears both cookies, 303 to /login: test/http/logout.test.ts ("from our own pages …");
 * - another session's CSRF token refused: test/http/csrf.test.ts ("a header that differs from the
 *   cookie …", "a header equal to the cookie is refused when the token is not the session's own");
 * - cross-origin posts to /login, /signup, /logout: test/http/csrf.test.ts ("the Origin rule");
 * - MAX_SESSIONS_PER_USER: test/serial/overload.test.ts ("keeps at most MAX_SESSIONS_PER_USER …");
 * - protective headers on JSON answers and errors: test/unit/secure-defaults.test.ts ("sends the
 *   protective headers on every kind of response …").
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GOOD_PASSWORD, signUpClient, startTestServer } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';

describe('browser sessions', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.close());

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
    assert.equal((await server.client().request('DELETE', '/logout')).status, 204);
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
