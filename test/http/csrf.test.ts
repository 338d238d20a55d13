// @database-independent: HTTP-layer behaviour only; the PostgreSQL stage does not run it again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertError } from '../helpers/assert-error.js';
import { GOOD_PASSWORD, signUpClient, startTestServer, uniqueName } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';
import type { TestClient } from '../helpers/http.js';

const SESSION = 'gatehouse_session';
const CSRF = 'csrf_token';
const EVIL = 'https://evil.example';

/** A request exactly as a cookie-carrying browser would send it, with chosen headers instead of the defaults. */
function raw(client: TestClient, method: string, path: string, options: { json?: unknown; body?: string; headers?: Record<string, string> } = {}) {
  return client.request(method, path, options);
}

describe('CSRF', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ RATE_LIMIT_PER_IP: '100000' });
  });
  after(async () => server.close());

  describe('cookie-authenticated unsafe requests need X-CSRF-Token', () => {
    it('DELETE /logout and POST /api/bucketlists: missing header → 403 csrf_failed, and nothing happens', async () => {
      const { client } = await signUpClient(server);
      assertError(await raw(client, 'DELETE', '/logout'), 403, 'csrf_failed');
      assertError(await raw(client, 'POST', '/api/bucketlists', { json: { name: 'forged' } }), 403, 'csrf_failed');
      assert.equal((await client.get('/api/me')).status, 200, 'the session survived the forged logout');
      const lists = await client.get<{ total: number }>('/api/bucketlists');
      assert.equal(lists.body.total, 0, 'the forged create created nothing');
    });

    it('the right header passes', async () => {
      const { client } = await signUpClient(server);
      assert.equal((await client.send('POST', '/api/bucketlists', { name: 'mine' })).status, 201);
      assert.equal((await client.send('DELETE', '/logout')).status, 204);
    });

    it('a header that differs from the cookie is refused', async () => {
      const { client } = await signUpClient(server);
      for (const value of ['', 'x', `${client.csrf}x`, (client.csrf ?? '').toUpperCase()]) {
        assertError(await raw(client, 'POST', '/api/bucketlists', { json: { name: 'n' }, headers: { 'x-csrf-token': value } }), 403, 'csrf_failed');
      }
    });

    it('a header equal to the cookie is refused when the token is not the session\'s own', async () => {
      const { client } = await signUpClient(server);
      const other = await signUpClient(server);
      // Another user's valid pair, planted as both cookie and header (cookie tossing from a sibling domain).
      const planted = other.client.csrf ?? '';
      const headers = { cookie: `${SESSION}=${client.cookie(SESSION)}; ${CSRF}=${planted}`, 'x-csrf-token': planted };
      assertError(await raw(client, 'POST', '/api/bucketlists', { json: { name: 'n' }, headers }), 403, 'csrf_failed');
      assertError(await raw(client, 'DELETE', '/logout', { headers }), 403, 'csrf_failed');
      // A made-up value in both places is refused the same way.
      const madeUp = 'A'.repeat(43);
      const forged = { cookie: `${SESSION}=${client.cookie(SESSION)}; ${CSRF}=${madeUp}`, 'x-csrf-token': madeUp };
      assertError(await raw(client, 'DELETE', '/logout', { headers: forged }), 403, 'csrf_failed');
      assert.equal((await client.get('/api/me')).status, 200);
    });

    it('the session\'s own token in the header without the csrf_token cookie is refused', async () => {
      const { client } = await signUpClient(server);
      const headers = { cookie: `${SESSION}=${client.cookie(SESSION)}`, 'x-csrf-token': client.csrf ?? '' };
      assertError(await raw(client, 'POST', '/api/bucketlists', { json: { name: 'n' }, headers }), 403, 'csrf_failed');
    });

    it('every unsafe method is checked; safe ones are not', async () => {
      const { client } = await signUpClient(server);
      const created = await client.send<{ id: number }>('POST', '/api/bucketlists', { name: 'list' });
      const path = `/api/bucketlists/${created.body.id}`;
      for (const method of ['PUT', 'PATCH']) {
        assertError(await raw(client, method, path, { json: { name: 'renamed' } }), 403, 'csrf_failed');
      }
      assertError(await raw(client, 'DELETE', path), 403, 'csrf_failed');
      assert.equal((await client.get(path)).status, 200, 'GET needs no token');
      assert.equal((await client.get('/api/me')).status, 200);
    });

    it('bearer requests need no CSRF token', async () => {
      const { user } = await signUpClient(server);
      const tokens = await server.client().post<{ access_token: string }>('/api/token', { username: user.username, password: GOOD_PASSWORD });
      const res = await server.client().post('/api/bucketlists', { name: 'via bearer' }, { headers: { authorization: `Bearer ${tokens.body.access_token}` } });
      assert.equal(res.status, 201);
    });

    it('/signup and /login need no CSRF header', async () => {
      const { client, user } = await signUpClient(server);
      assert.equal((await client.post('/login', { username: user.username, password: GOOD_PASSWORD })).status, 200);
      assert.equal((await client.post('/signup', { username: uniqueName(), password: GOOD_PASSWORD })).status, 201);
    });
  });

  describe('the csrf_token cookie', () => {
    it('matches the session cookie in Path, SameSite, Secure and lifetime, but is readable', async () => {
      const { user } = await signUpClient(server);
      for (const remember of [false, true]) {
        const res = await server.client().post('/login', { username: user.username, password: GOOD_PASSWORD, remember });
        const session = res.setCookies.find((c) => c.name === SESSION);
        const csrf = res.setCookies.find((c) => c.name === CSRF);
        assert.ok(session && csrf);
        for (const attribute of ['path', 'samesite', 'secure', 'max-age', 'expires', 'domain']) {
          assert.equal(csrf.attributes[attribute], session.attributes[attribute], `${attribute} (remember: ${remember})`);
        }
        assert.equal(session.attributes.httponly, true);
        assert.equal(csrf.attributes.httponly, undefined);
      }
    });

    it('a visitor without a session gets one from GET /login and GET /check_session', async () => {
      for (const path of ['/login', '/check_session']) {
        const visitor = server.client();
        const res = await visitor.get(path, { headers: { accept: 'text/html' } });
        const csrf = res.setCookies.find((c) => c.name === CSRF);
        assert.ok(csrf, `${path} sets csrf_token`);
        assert.match(csrf.value, /^[A-Za-z0-9_-]{22,}$/);
        assert.equal(csrf.attributes.path, '/');
        assert.equal(csrf.attributes.samesite, 'Lax');
        assert.equal(csrf.attributes.httponly, undefined);
        assert.equal(res.setCookies.find((c) => c.name === SESSION), undefined, 'no session for a visitor');
        // Asked again, the visitor keeps the token it has.
        const again = await visitor.get(path, { headers: { accept: 'text/html' } });
        assert.equal(again.setCookies.find((c) => c.name === CSRF), undefined);
      }
    });

    it('logout clears both cookies', async () => {
      const { client } = await signUpClient(server);
      const res = await client.send('DELETE', '/logout');
      assert.equal(res.status, 204);
      for (const name of [SESSION, CSRF]) {
        const cleared = res.setCookies.find((c) => c.name === name);
        assert.ok(cleared, `${name} cleared`);
        assert.equal(cleared.value, '');
      }
    });
  });

  describe('the Origin rule', () => {
    const crossSite: Array<[string, Record<string, string>]> = [
      ['a foreign Origin', { origin: EVIL }],
      ['Origin: null', { origin: 'null' }],
      ['our host on another scheme', { origin: 'https://127.0.0.1' }],
      ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
      ['Sec-Fetch-Site: cross-site with our Origin', { 'sec-fetch-site': 'cross-site', origin: '' }],
    ];

    for (const [label, headers] of crossSite) {
      it(`refuses ${label} on /signup, /login, /logout and cookie-carrying unsafe requests`, async () => {
        const h = { ...headers, ...(headers.origin === '' ? { origin: server.url } : {}) };
        const { client, user } = await signUpClient(server);
        assertError(await server.client().post('/signup', { username: uniqueName(), password: GOOD_PASSWORD }, { headers: h }), 403, 'origin_refused');
        assertError(await server.client().post('/login', { username: user.username, password: GOOD_PASSWORD }, { headers: h }), 403, 'origin_refused');
        assertError(await client.send('DELETE', '/logout', undefined, { headers: h }), 403, 'origin_refused');
        assertError(await client.send('POST', '/api/bucketlists', { name: 'x' }, { headers: h }), 403, 'origin_refused');
        assert.equal((await client.get('/api/me')).status, 200, 'the session is untouched');
      });
    }

    it('guards the route, however its path is spelled (regression: "/%6Cogin" skipped the rule)', async () => {
      const { user } = await signUpClient(server);
      const res = await server.client().post('/%6Cogin', { username: user.username, password: GOOD_PASSWORD }, { headers: { origin: EVIL } });
      assertError(res, 403, 'origin_refused');
      assertError(await server.client().post('/%73ignup', { username: uniqueName(), password: GOOD_PASSWORD }, { headers: { origin: EVIL } }), 403, 'origin_refused');
      assertError(await server.client().post('/login?next=/', { username: user.username, password: GOOD_PASSWORD }, { headers: { origin: EVIL } }), 403, 'origin_refused');
    });

    it('also refuses cross-site form posts to /login', async () => {
      const { user } = await signUpClient(server);
      const res = await server.client().request('POST', '/login', { form: { username: user.username, password: GOOD_PASSWORD }, headers: { origin: EVIL } });
      assert.equal(res.status, 403);
      assert.equal(res.setCookies.find((c) => c.name === SESSION), undefined);
    });

    it('lets same-origin requests and requests with neither header through', async () => {
      const { client, user } = await signUpClient(server);
      const allowed: Array<Record<string, string>> = [{ origin: server.url }, { origin: server.url, 'sec-fetch-site': 'same-origin' }, { 'sec-fetch-site': 'same-site' }, { 'sec-fetch-site': 'none' }, {}];
      for (const headers of allowed) {
        assert.equal((await server.client().post('/login', { username: user.username, password: GOOD_PASSWORD }, { headers })).status, 200, JSON.stringify(headers));
        assert.equal((await client.send('POST', '/api/bucketlists', { name: `ok ${JSON.stringify(headers)}` }, { headers })).status, 201, JSON.stringify(headers));
      }
    });

    it('accepts PUBLIC_URL as our origin', async () => {
      const behindProxy = await startTestServer({ PUBLIC_URL: 'https://auth.example.com/' });
      try {
        const username = uniqueName();
        const res = await behindProxy.client().post('/signup', { username, password: GOOD_PASSWORD }, { headers: { origin: 'https://auth.example.com' } });
        assert.equal(res.status, 201);
        assertError(await behindProxy.client().post('/login', { username, password: GOOD_PASSWORD }, { headers: { origin: 'https://auth.example.com.evil.example' } }), 403, 'origin_refused');
      } finally {
        await behindProxy.close();
      }
    });

    it('does not apply to safe requests', async () => {
      const { client } = await signUpClient(server);
      assert.equal((await client.get('/api/me', { headers: { origin: EVIL, 'sec-fetch-site': 'cross-site' } })).status, 200);
    });

    it('does not apply to bearer requests without the session cookie', async () => {
      const { user } = await signUpClient(server);
      const tokens = await server.client().post<{ access_token: string }>('/api/token', { username: user.username, password: GOOD_PASSWORD });
      const headers = { authorization: `Bearer ${tokens.body.access_token}`, origin: EVIL, 'sec-fetch-site': 'cross-site' };
      assert.equal((await server.client().post('/api/bucketlists', { name: 'cross-origin bearer' }, { headers })).status, 201);
    });

    it('applies to a bearer request that also carries the session cookie', async () => {
      const { client, user } = await signUpClient(server);
      const tokens = await server.client().post<{ access_token: string }>('/api/token', { username: user.username, password: GOOD_PASSWORD });
      const headers = { authorization: `Bearer ${tokens.body.access_token}`, origin: EVIL };
      assertError(await client.post('/api/bucketlists', { name: 'x' }, { headers }), 403, 'origin_refused');
    });
  });

  describe('order of checks', () => {
    const forgedCookie = { cookie: `${SESSION}=${'f'.repeat(43)}` };

    it('a bad Origin beats missing authentication (403, not 401)', async () => {
      assertError(await server.client().post('/api/bucketlists', { name: 'x' }, { headers: { ...forgedCookie, origin: EVIL } }), 403, 'origin_refused');
      assertError(await server.client().request('DELETE', '/logout', { headers: { origin: EVIL } }), 403, 'origin_refused');
    });

    it('without a session cookie, no authentication is 401 whatever the Origin', async () => {
      assertError(await server.client().post('/api/bucketlists', { name: 'x' }, { headers: { origin: EVIL } }), 401, 'unauthenticated');
    });

    it('missing authentication beats CSRF (401, not 403)', async () => {
      assertError(await server.client().post('/api/bucketlists', { name: 'x' }, { headers: forgedCookie }), 401, 'unauthenticated');
      const { client } = await signUpClient(server);
      const replay = client.clone();
      await client.send('DELETE', '/logout');
      assertError(await replay.request('POST', '/api/bucketlists', { json: { name: 'x' } }), 401, 'unauthenticated');
    });

    it('CSRF beats body errors: no token and a malformed, mistyped or oversized body is 403', async () => {
      const { client } = await signUpClient(server);
      const bodies: Array<[string, { body: string; headers: Record<string, string> }]> = [
        ['malformed JSON', { body: '{"name":', headers: { 'content-type': 'application/json' } }],
        ['text/plain', { body: 'name=x', headers: { 'content-type': 'text/plain' } }],
        ['a form', { body: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }],
        ['too large', { body: JSON.stringify({ name: 'x'.repeat(server.config.bodyLimit) }), headers: { 'content-type': 'application/json' } }],
        ['invalid', { body: JSON.stringify({ name: 42 }), headers: { 'content-type': 'application/json' } }],
      ];
      // Checked: with the CSRF check deferred to preValidation for every request (as it is for
      // form posts to form routes, src/server/plugins/auth.ts), each body's own error wins and this fails.
      for (const [label, options] of bodies) {
        for (const [method, path] of [['POST', '/api/bucketlists'], ['DELETE', '/logout']] as const) {
          const res = await client.request(method, path, options);
          assert.equal(res.status, 403, `${label} to ${method} ${path}: ${res.status} ${res.text.slice(0, 200)}`);
          assertError(res, 403, 'csrf_failed');
        }
      }
      assert.equal((await client.get('/api/me')).status, 200);
    });

    it('with the token, body errors come through in order', async () => {
      const { client } = await signUpClient(server);
      const token = { 'x-csrf-token': client.csrf ?? '' };
      assertError(await client.request('POST', '/api/bucketlists', { body: '{"name":', headers: { ...token, 'content-type': 'application/json' } }), 400, 'bad_request');
      assertError(await client.request('POST', '/api/bucketlists', { body: 'x', headers: { ...token, 'content-type': 'text/plain' } }), 415, 'unsupported_media_type');
      assertError(await client.request('POST', '/api/bucketlists', { json: { name: 42 }, headers: token }), 422, 'validation_failed');
    });
  });
});
