/**
 * Secure defaults that show in responses (the configuration rules themselves — production refuses
 * COOKIE_SECURE=false, a non-https PUBLIC_URL and a missing, short or placeholder
 * KEY_ENCRYPTION_SECRET — are in test/unit/config.test.ts, and the process refusing to start is in
 * test/process/start.test.ts; Secure cookies are in test/http/login.test.ts).
 *
 * Here: with no configuration, cross-origin reads of the API are closed, every response carries
 * the protective headers, and HSTS is sent as soon as the public URL is https.
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
