/**
 * Recent authentication (POST /api/me/reauthenticate) and changing one's own password
 * (POST /api/me/password), over real HTTP.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fakeClock, GOOD_PASSWORD, signUpClient, startTestServer } from '../helpers/app.js';
import type { FakeClock, TestServer } from '../helpers/app.js';
import type { TestClient } from '../helpers/http.js';

const NEW_PASSWORD = 'a brand new battery staple';

interface ErrorBody {
  error: { code: string; fields?: Record<string, string> };
}
interface Tokens {
  access_token: string;
  refresh_token: string;
}

const bearer = (tokens: Tokens) => ({ headers: { authorization: `Bearer ${tokens.access_token}` } });

describe('re-authentication', () => {
  let server: TestServer;
  let clock: FakeClock;
  before(async () => {
    clock = fakeClock();
    server = await startTestServer({ LOGIN_FAILURES_PER_ACCOUNT: '3' }, { clock });
  });
  after(async () => server.close());

  it('with the password: 200 and reauthenticated_until = now + REAUTH_MAX_AGE', async () => {
    const { client } = await signUpClient(server);
    const res = await client.send<{ reauthenticated_until: string }>('POST', '/api/me/reauthenticate', { password: GOOD_PASSWORD });
    assert.equal(res.status, 200, res.text);
    assert.equal(Date.parse(res.body.reauthenticated_until), clock() + 600_000);
  });

  it('a wrong password or none is 422 on the password field', async () => {
    const { client } = await signUpClient(server);
    for (const body of [{ password: 'not my password at all' }, {}, { password: '' }]) {
      const res = await client.send<ErrorBody>('POST', '/api/me/reauthenticate', body);
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.ok(res.body.error.fields?.password, res.text);
    }
  });

  it('failures past the limit are 429 at this step, and the password login still works', async () => {
    const { client, user } = await signUpClient(server);
    const statuses = [];
    for (let i = 0; i < 5; i += 1) statuses.push((await client.send('POST', '/api/me/reauthenticate', { password: `wrong guess ${i}!` })).status);
    assert.deepEqual(statuses, [422, 422, 422, 429, 429]);
    assert.equal((await server.client().post('/login', { username: user.username, password: GOOD_PASSWORD })).status, 200, 'a stolen session cannot lock the owner out');
  });

  it('needs the CSRF token with a cookie, and a sign-in', async () => {
    const { client } = await signUpClient(server);
    assert.equal((await client.post('/api/me/reauthenticate', { password: GOOD_PASSWORD })).status, 403);
    assert.equal((await server.client().post('/api/me/reauthenticate', { password: GOOD_PASSWORD })).status, 401);
  });
});

describe('changing one\'s password', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.close());

  async function userSignedInThreeWays() {
    const { client: browser, user } = await signUpClient(server);
    const other = server.client();
    assert.equal((await other.post('/login', { username: user.username, password: GOOD_PASSWORD })).status, 200);
    const tokens = (await server.client().post<Tokens>('/api/token', { username: user.username, password: GOOD_PASSWORD })).body;
    return { user, browser, other, tokens };
  }

  it('from a browser: 200 user, new cookies for the caller, every other session and token login ended', async () => {
    const { user, browser, other, tokens } = await userSignedInThreeWays();
    const oldCookies = browser.clone();
    const res = await browser.send<{ id: number; username: string }>('POST', '/api/me/password', { current_password: GOOD_PASSWORD, password: NEW_PASSWORD });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.username, user.username);
    assert.notEqual(browser.cookie('gatehouse_session'), oldCookies.cookie('gatehouse_session'), 'a new session id');
    assert.notEqual(browser.csrf, oldCookies.csrf, 'a new CSRF token');
    assert.equal((await browser.get('/api/me')).status, 200, 'the caller stays signed in');
    assert.equal((await oldCookies.get('/api/me')).status, 401, 'the old cookie stops working');
    assert.equal((await other.get('/api/me')).status, 401, 'another browser is signed out');
    assert.equal((await server.client().get('/api/me', bearer(tokens))).status, 401, 'a token login ends');
    assert.equal((await server.client().post('/api/token/refresh', { refresh_token: tokens.refresh_token })).status, 401);
    assert.equal((await server.client().post('/login', { username: user.username, password: GOOD_PASSWORD })).status, 401, 'the old password is gone');
    assert.equal((await server.client().post('/login', { username: user.username, password: NEW_PASSWORD })).status, 200);
  });

  it('with a bearer token: that token login keeps working, the browser sessions end', async () => {
    const { browser, other, tokens } = await userSignedInThreeWays();
    const res = await server.client().request('POST', '/api/me/password', { json: { current_password: GOOD_PASSWORD, password: NEW_PASSWORD }, ...bearer(tokens) });
    assert.equal(res.status, 200, res.text);
    assert.equal((await server.client().get('/api/me', bearer(tokens))).status, 200);
    assert.equal((await server.client().post('/api/token/refresh', { refresh_token: tokens.refresh_token })).status, 200);
    for (const client of [browser, other]) assert.equal((await client.get('/api/me')).status, 401);
  });

  it('checks current_password first (422 on it), then the new password\'s rules; a refused change changes nothing', async () => {
    const { user, browser, other } = await userSignedInThreeWays();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ password: NEW_PASSWORD }, 'current_password'],
      [{ current_password: 'not the password', password: 'short' }, 'current_password'],
      [{ current_password: GOOD_PASSWORD, password: 'password1' }, 'password'],
      [{ current_password: GOOD_PASSWORD, password: NEW_PASSWORD, password_confirmation: 'something else' }, 'password_confirmation'],
    ];
    for (const [body, field] of cases) {
      const res = await browser.send<ErrorBody>('POST', '/api/me/password', body);
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.deepEqual(Object.keys(res.body.error.fields ?? {}), [field], res.text);
    }
    assert.equal((await other.get('/api/me')).status, 200, 'nothing ended');
    assert.equal((await server.client().post('/login', { username: user.username, password: GOOD_PASSWORD })).status, 200, 'the password is unchanged');
  });

  it('needs the CSRF token with a cookie', async () => {
    const { browser } = await userSignedInThreeWays();
    assert.equal((await browser.post('/api/me/password', { current_password: GOOD_PASSWORD, password: NEW_PASSWORD })).status, 403);
  });

  it('leaves audit rows: password_changed by the user, reauthentication_failed for a wrong current password', async () => {
    const { user, browser } = await userSignedInThreeWays();
    await browser.send('POST', '/api/me/password', { current_password: 'wrong current one', password: NEW_PASSWORD });
    await browser.send('POST', '/api/me/password', { current_password: GOOD_PASSWORD, password: NEW_PASSWORD });
    const rows = await server.services.db.selectFrom('audit_events').select(['event', 'actor_id']).where('user_id', '=', user.id).orderBy('id').execute();
    const events = rows.map((r) => r.event);
    assert.ok(events.includes('reauthentication_failed'));
    assert.equal(rows.find((r) => r.event === 'password_changed')?.actor_id, user.id);
  });
});

describe('a login in flight and a password change by the user', () => {
  it('every session of the old password ends, even one whose login read the old hash', async () => {
    const server = await startTestServer({ RATE_LIMITS: 'off' });
    try {
      const { client: browser, user } = await signUpClient(server);
      const logins: Array<Promise<TestClient>> = [];
      for (let i = 0; i < 4; i += 1) {
        const c = server.client();
        logins.push(c.post('/login', { username: user.username, password: GOOD_PASSWORD }).then(() => c));
      }
      const change = browser.send('POST', '/api/me/password', { current_password: GOOD_PASSWORD, password: NEW_PASSWORD });
      const clients = await Promise.all(logins);
      assert.equal((await change).status, 200);
      for (const c of clients) assert.equal((await c.get('/api/me')).status, 401);
    } finally {
      await server.close();
    }
  });
});
