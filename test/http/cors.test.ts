// @database-independent: HTTP-layer behaviour only; the PostgreSQL stage does not run it again.
/**
 * CORS with CORS_ORIGINS (docs/api.md, "CORS"): the listed origins may call the bearer API from a
 * browser — /api/* with Authorization, and /api/token* — and nothing else. Credentials (cookies)
 * are never allowed cross-origin, so a browser session stays usable by Gatehouse's own pages only.
 * Without CORS_ORIGINS no origin gets CORS headers (test/unit/secure-defaults.test.ts).
 *
 * Checked against three breaks of the delegator in src/server/app.ts: `credentials: true` fails
 * the allowed-origin tests (Access-Control-Allow-Credentials appears); dropping the bearer-API
 * condition fails the cookie-route test; accepting any origin fails the foreign-origin test.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertError } from '../helpers/assert-error.js';
import { GOOD_PASSWORD, signUpClient, startTestServer } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';
import type { TestClient, TestResponse } from '../helpers/http.js';

const ALLOWED = ['https://client.example', 'http://localhost:5173'];
const FOREIGN = [
  'https://evil.example',
  'null',
  'https://client.example.evil.example',
  'http://client.example',
  'https://client.example:8443',
  'https://CLIENT.example.',
];

function allowOrigin(res: TestResponse): string | null {
  return res.headers.get('access-control-allow-origin');
}

/** No CORS header of any kind: a browser keeps the answer from the calling page. */
function assertNoCors(res: TestResponse, what: string): void {
  for (const [name] of res.headers) assert.ok(!name.startsWith('access-control-'), `${what}: ${name} sent`);
}

/** Readable by exactly this origin, without credentials, and marked as varying by Origin for caches. */
function assertAllowed(res: TestResponse, origin: string, what: string): void {
  assert.equal(allowOrigin(res), origin, what);
  assert.equal(res.headers.get('access-control-allow-credentials'), null, `${what}: never with credentials`);
  assertVaryOrigin(res, what);
}

function assertVaryOrigin(res: TestResponse, what: string): void {
  const vary = (res.headers.get('vary') ?? '').split(',').map((v) => v.trim().toLowerCase());
  assert.ok(vary.includes('origin'), `${what}: Vary is ${res.headers.get('vary')}`);
}

function preflight(client: TestClient, path: string, origin: string, method = 'POST'): Promise<TestResponse> {
  return client.request('OPTIONS', path, { headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization, content-type' } });
}

describe('CORS with CORS_ORIGINS', () => {
  let server: TestServer;
  let bearer: Record<string, string>;
  let refreshToken: string;
  let username: string;
  let browser: TestClient;

  before(async () => {
    server = await startTestServer({ CORS_ORIGINS: ALLOWED.join(', '), RATE_LIMIT_PER_IP: '100000' });
    const signedUp = await signUpClient(server);
    browser = signedUp.client;
    username = signedUp.user.username;
    const tokens = await server.client().post<{ access_token: string; refresh_token: string }>('/api/token', { username, password: GOOD_PASSWORD });
    assert.equal(tokens.status, 200);
    bearer = { authorization: `Bearer ${tokens.body.access_token}` };
    refreshToken = tokens.body.refresh_token;
  });
  after(async () => server.close());

  it('lets an allowed origin read the bearer API, errors included, never with credentials', async () => {
    for (const origin of ALLOWED) {
      const me = await server.client().get('/api/me', { headers: { ...bearer, origin } });
      assert.equal(me.status, 200);
      assertAllowed(me, origin, `GET /api/me from ${origin}`);
      const created = await server.client().post('/api/bucketlists', { name: `from ${origin}` }, { headers: { ...bearer, origin } });
      assert.equal(created.status, 201);
      assertAllowed(created, origin, `POST /api/bucketlists from ${origin}`);
      // The calling page must be able to read why it was refused.
      const refused = await server.client().get('/api/me', { headers: { authorization: 'Bearer not-a-token', origin } });
      assertError(refused, 401, 'invalid_token');
      assertAllowed(refused, origin, `a refused bearer from ${origin}`);
    }
  });

  it('lets an allowed origin use /api/token, /api/token/refresh and /api/token/revoke (they carry no Authorization)', async () => {
    const origin = ALLOWED[0] ?? '';
    const token = await server.client().post('/api/token', { username, password: GOOD_PASSWORD }, { headers: { origin } });
    assert.equal(token.status, 200);
    assertAllowed(token, origin, 'POST /api/token');
    const wrong = await server.client().post('/api/token', { username, password: 'not the password at all' }, { headers: { origin } });
    assertError(wrong, 401, 'invalid_credentials');
    assertAllowed(wrong, origin, 'a refused POST /api/token');
    const refreshed = await server.client().post('/api/token/refresh', { refresh_token: refreshToken }, { headers: { origin } });
    assert.equal(refreshed.status, 200);
    assertAllowed(refreshed, origin, 'POST /api/token/refresh');
    const revoked = await server.client().post('/api/token/revoke', { token: 'unknown-token' }, { headers: { origin } });
    assert.equal(revoked.status, 200);
    assertAllowed(revoked, origin, 'POST /api/token/revoke');
  });

  it('answers an allowed origin\'s preflight: 204 with the methods, Authorization and Content-Type, and a max age', async () => {
    for (const origin of ALLOWED) {
      for (const [path, method] of [['/api/token', 'POST'], ['/api/token/refresh', 'POST'], ['/api/me', 'GET'], ['/api/bucketlists/1', 'DELETE']] as const) {
        const res = await preflight(server.client(), path, origin, method);
        const what = `OPTIONS ${path} from ${origin}`;
        assert.equal(res.status, 204, what);
        assertAllowed(res, origin, what);
        const methods = (res.headers.get('access-control-allow-methods') ?? '').split(',').map((m) => m.trim());
        for (const m of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) assert.ok(methods.includes(m), `${what}: ${m} allowed`);
        const headers = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(',').map((h) => h.trim());
        assert.ok(headers.includes('authorization') && headers.includes('content-type'), `${what}: ${res.headers.get('access-control-allow-headers')}`);
        assert.equal(res.headers.get('access-control-max-age'), '600', what);
      }
    }
  });

  it('gives a foreign origin no CORS headers on the bearer API, and refuses its preflight', async () => {
    for (const origin of FOREIGN) {
      const me = await server.client().get('/api/me', { headers: { ...bearer, origin } });
      assert.equal(me.status, 200, 'the request itself is served: CORS only decides what a browser lets the page read');
      assertNoCors(me, `GET /api/me from ${origin}`);
      assertVaryOrigin(me, `GET /api/me from ${origin}`);
      assertNoCors(await server.client().post('/api/token', { username, password: GOOD_PASSWORD }, { headers: { origin } }), `POST /api/token from ${origin}`);
      const res = await preflight(server.client(), '/api/token', origin);
      assert.notEqual(res.status, 204, `OPTIONS /api/token from ${origin}`);
      assertNoCors(res, `OPTIONS /api/token from ${origin}`);
    }
  });

  it('gives cookie routes no CORS headers, even for an allowed origin', async () => {
    const origin = ALLOWED[0] ?? '';
    const cookieRoutes: Array<[string, () => Promise<TestResponse>]> = [
      ['GET /check_session with the cookie', () => browser.get('/check_session', { headers: { origin } })],
      ['GET /check_session with a bearer token', () => server.client().get('/check_session', { headers: { ...bearer, origin } })],
      ['GET /api/me with the cookie alone', () => browser.get('/api/me', { headers: { origin } })],
      ['POST /api/bucketlists with the cookie alone', () => browser.send('POST', '/api/bucketlists', { name: 'cookie' }, { headers: { origin } })],
      ['POST /login', () => server.client().post('/login', { username, password: GOOD_PASSWORD }, { headers: { origin } })],
      ['POST /signup', () => server.client().post('/signup', { username: 'cors_nobody', password: GOOD_PASSWORD }, { headers: { origin } })],
      ['DELETE /logout', () => browser.send('DELETE', '/logout', undefined, { headers: { origin } })],
      ['OPTIONS /check_session', () => preflight(server.client(), '/check_session', origin, 'GET')],
      ['OPTIONS /login', () => preflight(server.client(), '/login', origin)],
      ['OPTIONS /logout', () => preflight(server.client(), '/logout', origin, 'DELETE')],
    ];
    for (const [what, send] of cookieRoutes) assertNoCors(await send(), `${what} from ${origin}`);
  });
});
