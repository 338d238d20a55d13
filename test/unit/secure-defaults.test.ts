/**
 * Secure defaults that show in responses (the configuration rules themselves — production refuses
 * COOKIE_SECURE=false, a non-https PUBLIC_URL and a missing, short or placeholder
 * KEY_ENCRYPTION_SECRET — are in test/unit/config.test.ts, and the process refusing to start is in
 * test/process/start.test.ts; Secure cookies per COOKIE_SECURE are in test/http/login.test.ts).
 *
 * Here: with no configuration, cross-origin reads of the API are closed, every response carries
 * the protective headers, HSTS is sent as soon as the public URL is https, and in production with
 * an https public URL the cookies are Secure even when the request arrived over plain HTTP.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GOOD_PASSWORD, signUpClient, startTestServer } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';

/** One response of each kind: JSON success, JSON error, HTML page, 404. */
async function responses(server: TestServer): Promise<Array<[string, Response]>> {
  const { client } = await signUpClient(server);
  const cookie = [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  return [
    ['GET /api/me', await fetch(`${server.url}/api/me`, { headers: { cookie } })],
    ['POST /login refused', await fetch(`${server.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'nobody', password: GOOD_PASSWORD }) })],
    ['GET /login page', await fetch(`${server.url}/login`, { headers: { accept: 'text/html' } })],
    ['GET unknown', await fetch(`${server.url}/no-such-thing`)],
  ];
}

describe('secure defaults with no configuration', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ RATE_LIMIT_PER_IP: '100000' });
  });
  after(async () => server.close());

  it('keeps the API closed to other origins (no CORS unless CORS_ORIGINS lists them)', async () => {
    const { client } = await signUpClient(server);
    const cookie = [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const read = await fetch(`${server.url}/api/me`, { headers: { origin: 'https://evil.example', cookie } });
    assert.equal(read.headers.get('access-control-allow-origin'), null);
    assert.equal(read.headers.get('access-control-allow-credentials'), null);
    const token = await fetch(`${server.url}/api/token`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'nobody', password: GOOD_PASSWORD }),
    });
    assert.equal(token.headers.get('access-control-allow-origin'), null);
    const preflight = await fetch(`${server.url}/api/token`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    assert.equal(preflight.headers.get('access-control-allow-origin'), null);
    assert.equal(preflight.headers.get('access-control-allow-methods'), null);
  });

  it('sends the protective headers on every kind of response, and no HSTS over plain-HTTP development', async () => {
    for (const [what, res] of await responses(server)) {
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', what);
      assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, what);
      assert.match(res.headers.get('content-security-policy') ?? '', /object-src 'none'/, what);
      assert.equal(res.headers.get('referrer-policy'), 'same-origin', what);
      assert.equal(res.headers.get('x-powered-by'), null, what);
      assert.equal(res.headers.get('strict-transport-security'), null, `${what}: HSTS only applies over HTTPS`);
    }
  });
});

describe('secure defaults behind an https public URL', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ PUBLIC_URL: 'https://auth.example.com', RATE_LIMIT_PER_IP: '100000' });
  });
  after(async () => server.close());

  it('sends HSTS for at least a year, subdomains included, on every kind of response', async () => {
    for (const [what, res] of await responses(server)) {
      const hsts = res.headers.get('strict-transport-security') ?? '';
      const maxAge = Number(/max-age=(\d+)/.exec(hsts)?.[1] ?? '0');
      assert.ok(maxAge >= 365 * 24 * 3600, `${what}: ${hsts}`);
      assert.match(hsts, /includeSubDomains/, what);
    }
  });
});

/**
 * Production behind a TLS proxy that is not listed in TRUST_PROXY (security review, findings 9
 * and 17): the request arrives over plain HTTP, yet PUBLIC_URL is https, so the cookies must be
 * Secure, and the session cookie takes the `__Host-` prefix (Secure, Path=/, no Domain), which
 * a sibling subdomain cannot set.
 *
 * Checked against the old code (this block run from a copy of HEAD's tree): the session cookie
 * was `gatehouse_session` without Secure, and so was the csrf_token cookie.
 */
describe('secure defaults in production behind a TLS proxy, COOKIE_SECURE=auto, no TRUST_PROXY', () => {
  const HOST_SESSION = '__Host-gatehouse_session';
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      NODE_ENV: 'production',
      PUBLIC_URL: 'https://auth.example.com',
      COOKIE_SECURE: 'auto',
      KEY_ENCRYPTION_SECRET: 'Zq8-vW3#pL0xR7tY5uI2oP9-k4Jm6Nb1Hg7Fd3Sa',
      // Production needs one; nothing here sends mail (port 9, discard, refuses on loopback).
      SMTP_URL: 'smtp://127.0.0.1:9',
      RATE_LIMIT_PER_IP: '100000',
    });
  });
  after(async () => server.close());

  it('marks the session and csrf_token cookies Secure over plain HTTP, the session one __Host-', async () => {
    const { client, user } = await signUpClient(server);
    const login = await client.post('/login', { username: user.username, password: GOOD_PASSWORD });
    assert.equal(login.status, 200);
    const session = login.setCookies.find((c) => c.name === HOST_SESSION);
    const csrf = login.setCookies.find((c) => c.name === 'csrf_token');
    assert.ok(session, `the session cookie is ${HOST_SESSION}: ${login.setCookies.map((c) => c.name).join(', ')}`);
    assert.ok(csrf);
    assert.ok(!login.setCookies.some((c) => c.name === 'gatehouse_session'), 'no unprefixed session cookie');
    for (const c of [session, csrf]) {
      assert.equal(c.attributes.secure, true, `${c.name} is Secure`);
      assert.equal(c.attributes.path, '/', `${c.name} Path=/`);
      assert.equal(c.attributes.domain, undefined, `${c.name} is host-only`);
      assert.equal(c.attributes.samesite, 'Lax');
    }
    assert.equal(session.attributes.httponly, true);
    const visitor = await server.client().get('/login', { headers: { accept: 'text/html' } });
    assert.equal(visitor.setCookies.find((c) => c.name === 'csrf_token')?.attributes.secure, true, "a visitor's csrf_token too");
  });

  it('reads the session from the __Host- cookie only, and clears it as a browser accepts (Secure, Path=/)', async () => {
    const { client } = await signUpClient(server);
    const value = client.cookie(HOST_SESSION) ?? '';
    assert.ok(value);
    assert.equal((await client.get('/api/me')).status, 200);
    assert.equal((await client.get('/check_session')).status, 200);
    // The same value under the unprefixed name (a tossed cookie would look so) is not our session.
    assert.equal((await server.client().get('/api/me', { headers: { cookie: `gatehouse_session=${value}` } })).status, 401);
    const logout = await client.send('DELETE', '/logout');
    assert.equal(logout.status, 204);
    const cleared = logout.setCookies.find((c) => c.name === HOST_SESSION);
    assert.ok(cleared && cleared.value === '', 'the __Host- cookie is cleared');
    assert.equal(cleared.attributes.secure, true);
    assert.equal(cleared.attributes.path, '/');
  });
});
