// @database-independent: HTTP-layer behaviour only; the PostgreSQL stage does not run it again.
/**
 * `Cache-Control: no-store` on every answer whose route chose no caching of its own: the
 * security-headers plugin (src/server/plugins/security-headers.ts) adds it, so no browser or
 * shared cache keeps a user's data, a session check or an error. A route that sets its own caching
 * (the JWKS, hashed web assets) keeps it.
 *
 * Checked: without the plugin's `no-store` line every JSON answer below fails; with it set
 * unconditionally (overwriting the route's choice) the JWKS test fails.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GOOD_PASSWORD, signUpClient, startTestServer } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';
import type { TestClient, TestResponse } from '../helpers/http.js';

function assertNoStore(res: TestResponse, what: string): void {
  assert.equal(res.headers.get('cache-control'), 'no-store', `${what} (${res.status})`);
}

describe('Cache-Control on JSON answers', () => {
  let server: TestServer;
  let browser: TestClient;
  let username: string;
  let accessToken: string;

  before(async () => {
    server = await startTestServer({ RATE_LIMIT_PER_IP: '100000' });
    const signedUp = await signUpClient(server);
    browser = signedUp.client;
    username = signedUp.user.username;
    const tokens = await server.client().post<{ access_token: string }>('/api/token', { username, password: GOOD_PASSWORD });
    accessToken = tokens.body.access_token;
  });
  after(async () => server.close());

  it('no-store on answers about the signed-in user, by cookie or bearer', async () => {
    const answers: Array<[string, number, () => Promise<TestResponse>]> = [
      ['GET /api/me (session)', 200, () => browser.get('/api/me')],
      ['GET /api/me (bearer)', 200, () => server.client().get('/api/me', { headers: { authorization: `Bearer ${accessToken}` } })],
      ['GET /check_session (session)', 200, () => browser.get('/check_session')],
      ['GET /check_session (no session, no body)', 204, () => server.client().get('/check_session')],
      ['GET /api/bucketlists', 200, () => browser.get('/api/bucketlists')],
      ['POST /login', 200, () => server.client().post('/login', { username, password: GOOD_PASSWORD })],
      ['POST /signup', 201, () => server.client().post('/signup', { username: `${username}_2`.slice(0, 32), password: GOOD_PASSWORD })],
    ];
    for (const [what, status, send] of answers) {
      const res = await send();
      assert.equal(res.status, status, what);
      assertNoStore(res, what);
    }
  });

  it('no-store on errors and on 404s', async () => {
    const errors: Array<[string, number, () => Promise<TestResponse>]> = [
      ['GET /api/me without a session', 401, () => server.client().get('/api/me')],
      ['GET /api/me with a bad bearer token', 401, () => server.client().get('/api/me', { headers: { authorization: 'Bearer nope' } })],
      ['POST /login with a wrong password', 401, () => server.client().post('/login', { username, password: 'not the password at all' })],
      ['POST /login without fields', 422, () => server.client().post('/login', {})],
      ['POST /login with malformed JSON', 400, () => server.client().request('POST', '/login', { body: '{"username":', headers: { 'content-type': 'application/json' } })],
      ['POST /api/bucketlists without the CSRF token', 403, () => browser.request('POST', '/api/bucketlists', { json: { name: 'x' } })],
      ['POST /api/bucketlists as text/plain', 415, () => browser.send('POST', '/api/bucketlists', undefined, { body: 'x', headers: { 'content-type': 'text/plain' } })],
      ['GET /api/bucketlists/999999 (not yours or not there)', 404, () => browser.get('/api/bucketlists/999999')],
      ['GET /api/no-such-route', 404, () => server.client().get('/api/no-such-route')],
      ['GET /no-such-page (JSON 404)', 404, () => server.client().get('/no-such-page')],
    ];
    for (const [what, status, send] of errors) {
      const res = await send();
      assert.equal(res.status, status, `${what}: ${res.text.slice(0, 200)}`);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/, what);
      assertNoStore(res, what);
    }
  });

  it('keeps a route\'s own caching: the JWKS stays publicly cacheable', async () => {
    const res = await server.client().get('/.well-known/jwks.json');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('cache-control') ?? '', /^public, max-age=\d+$/);
  });

  it('no-store on 429 rate_limited', async () => {
    const limited = await startTestServer({ RATE_LIMIT_PER_IP: '1' });
    try {
      const body = { username: 'nobody_here', password: GOOD_PASSWORD };
      assert.equal((await limited.client().post('/login', body)).status, 401);
      const res = await limited.client().post('/login', body);
      assert.equal(res.status, 429);
      assertNoStore(res, 'POST /login over RATE_LIMIT_PER_IP');
    } finally {
      await limited.close();
    }
  });
});
