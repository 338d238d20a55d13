/**
 * Forward authentication for reverse proxies (contract v1.2, "Sign-in for other apps";
 * docs/forward-auth.md), over real HTTP: GET /api/authz/forward-auth (Traefik, Caddy) and
 * GET /api/authz/auth-request (nginx), in the contract's order — the host check first (403, no
 * redirect), then the credential (session cookie or bearer token; a disabled user is signed out),
 * then FORWARD_AUTH_RULES — with the proxy's headers read whatever TRUST_PROXY says, header
 * spoofing, wildcard edge cases, HEAD, Cache-Control: no-store on every answer, no database
 * writes, and fail-closed answers when the database goes away underneath. Also `/login`'s `next`
 * to a protected host, and COOKIE_DOMAIN's cookies. test/process/reverse-proxies.test.ts puts real
 * nginx and Caddy in front.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TOTP } from 'otpauth';
import { GOOD_PASSWORD, signUpClient, startTestServer, uniqueName } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';
import type { TestClient, TestResponse } from '../helpers/http.js';

const FA = '/api/authz/forward-auth';
const AR = '/api/authz/auth-request';
const PUBLIC_URL = 'https://auth.example.com';
const HOSTS = 'app.example.com, *.apps.example.com, 127.0.0.1';
const RULES = 'admin.apps.example.com=admin, *.ops.apps.example.com=admin, open.ops.apps.example.com=user';
/** What a browser sends when it loads a page. */
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
const IDENTITY = ['remote-user', 'remote-email', 'remote-groups', 'remote-user-id'];
const NO_META = { ip: null, userAgent: null };

interface ErrorBody {
  error: { code: string; message: string; fields?: Record<string, string> };
}

function cookieHeader(client: TestClient): string {
  return [...client.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
}

async function call(server: TestServer, path: string, headers: Record<string, string>, method = 'GET'): Promise<TestResponse<ErrorBody>> {
  return server.client().request<ErrorBody>(method, path, { headers, anonymous: true });
}

function assertNoIdentity(res: TestResponse, label: string): void {
  for (const name of IDENTITY) assert.equal(res.headers.get(name), null, `${label}: no ${name} on a ${res.status}`);
}

/** A denial in the Gatehouse error shape, no-store, no identity headers, no redirect. */
function assertDenied(res: TestResponse<ErrorBody>, status: number, code: string, label: string): void {
  assert.equal(res.status, status, `${label}: ${res.status} ${res.text.slice(0, 200)}`);
  assert.equal(res.headers.get('cache-control'), 'no-store', `${label}: no-store`);
  assert.equal(res.headers.get('location'), null, `${label}: no redirect`);
  assertNoIdentity(res, label);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/, label);
  assert.deepEqual(Object.keys(res.body), ['error'], label);
  assert.equal(res.body.error.code, code, label);
  assert.equal(typeof res.body.error.message, 'string', label);
}

function assertAllowed(res: TestResponse, user: { id: number; username: string; email?: string | null; role?: string }, label: string): void {
  assert.equal(res.status, 200, `${label}: ${res.status} ${res.text.slice(0, 200)}`);
  assert.equal(res.headers.get('cache-control'), 'no-store', `${label}: no-store`);
  assert.equal(res.headers.get('remote-user'), user.username, label);
  assert.equal(res.headers.get('remote-email'), user.email ?? '', label);
  assert.equal(res.headers.get('remote-groups'), user.role ?? 'user', label);
  assert.equal(res.headers.get('remote-user-id'), String(user.id), label);
  assert.equal(res.text, '', `${label}: no body`);
}

/** The `next` of a login URL, checked to be PUBLIC_URL's login page. */
function nextOf(loginUrl: string | null, label: string): string {
  assert.ok(loginUrl, `${label}: a login URL`);
  const url = new URL(loginUrl);
  assert.equal(url.origin, PUBLIC_URL, `${label}: on PUBLIC_URL`);
  assert.equal(url.pathname, '/login', label);
  return url.searchParams.get('next') ?? '';
}

describe('forward authentication', () => {
  let server: TestServer;
  let user: { id: number; username: string };
  let userCookie: string;
  let mailed: { id: number; username: string; email: string };
  let mailedCookie: string;
  let admin: { id: number; username: string; role: string };
  let adminCookie: string;
  let bearer: string;

  before(async () => {
    server = await startTestServer({ PUBLIC_URL, FORWARD_AUTH_HOSTS: HOSTS, FORWARD_AUTH_RULES: RULES, RATE_LIMIT_PER_IP: '100000' });
    const signedUp = await signUpClient(server);
    user = signedUp.user;
    userCookie = cookieHeader(signedUp.client);
    const email = `${uniqueName('m')}@example.com`.toLowerCase();
    const withMail = await signUpClient(server, uniqueName('mailed'), GOOD_PASSWORD, email);
    mailed = { ...withMail.user, email };
    mailedCookie = cookieHeader(withMail.client);
    const adminName = uniqueName('admin');
    const made = await server.services.accounts.signUp({ username: adminName, password: GOOD_PASSWORD }, NO_META, 'admin');
    admin = { id: made.id, username: adminName, role: 'admin' };
    const adminClient = server.client();
    assert.equal((await adminClient.post('/login', { username: adminName, password: GOOD_PASSWORD })).status, 200);
    adminCookie = cookieHeader(adminClient);
    const token = await server.client().post<{ access_token: string }>('/api/token', { username: user.username, password: GOOD_PASSWORD });
    assert.equal(token.status, 200, token.text);
    bearer = token.body.access_token;
  });
  after(async () => server.close());

  describe('the host check comes first', () => {
    it('refuses a host FORWARD_AUTH_HOSTS does not list: 403, no redirect, whoever asks', async () => {
      for (const host of ['evil.example.com', 'example.com', 'apps.example.com', 'auth.example.com', 'app.example.com.evil.net', 'evilapp.example.com', 'app.example.co', '127.0.0.2']) {
        for (const [who, headers] of [
          ['signed in', { cookie: userCookie }],
          ['an admin', { cookie: adminCookie }],
          ['a bearer token', { authorization: `Bearer ${bearer}` }],
          ['signed out, from a browser', { accept: BROWSER_ACCEPT }],
        ] as const) {
          assertDenied(await call(server, FA, { 'x-forwarded-host': host, ...headers }), 403, 'forbidden', `forward-auth ${host}, ${who}`);
          const ar = await call(server, AR, { 'x-original-url': `https://${host}/x`, ...headers });
          assertDenied(ar, 403, 'forbidden', `auth-request ${host}, ${who}`);
          assert.equal(ar.headers.get('x-gatehouse-redirect'), null, `auth-request ${host}: no login URL`);
        }
      }
    });

    it('refuses a missing or unparsable X-Forwarded-Host with 403', async () => {
      assertDenied(await call(server, FA, { cookie: userCookie, accept: BROWSER_ACCEPT }), 403, 'forbidden', 'no X-Forwarded-Host');
      for (const host of ['', 'app.example.com/x', 'user@app.example.com', 'app.example.com, evil.example.com', 'app.example.com?x', 'app.example.com#x', 'app.example.com\\x', 'app.example.com:99999', 'app..example.com', 'https://app.example.com', '%61pp.example.com.evil.net']) {
        assertDenied(await call(server, FA, { 'x-forwarded-host': host, cookie: userCookie }), 403, 'forbidden', `X-Forwarded-Host ${JSON.stringify(host)}`);
      }
    });

    it('refuses a missing or unparsable X-Original-URL with 403', async () => {
      assertDenied(await call(server, AR, { cookie: userCookie }), 403, 'forbidden', 'no X-Original-URL');
      for (const url of ['', 'not a url', '/relative/path', 'app.example.com/x', '//app.example.com/x', 'ftp://app.example.com/', 'https://user:pw@app.example.com/', 'https://app.example.com@evil.example.com/', 'https:app.example.com/', 'javascript://app.example.com/']) {
        const res = await call(server, AR, { 'x-original-url': url, cookie: userCookie });
        assertDenied(res, 403, 'forbidden', `X-Original-URL ${JSON.stringify(url)}`);
        assert.equal(res.headers.get('x-gatehouse-redirect'), null);
      }
    });

    it('treats a repeated X-Forwarded-Host as unparsable, not as its first or last value', async () => {
      for (const pair of [['app.example.com', 'evil.example.com'], ['evil.example.com', 'app.example.com'], ['app.example.com', 'app.example.com']]) {
        const headers = new Headers({ cookie: userCookie });
        for (const host of pair) headers.append('x-forwarded-host', host);
        const res = await fetch(server.url + FA, { headers, redirect: 'manual' });
        assert.equal(res.status, 403, pair.join(' + '));
        assert.equal(res.headers.get('remote-user'), null);
      }
    });
  });

  describe('wildcards and host names', () => {
    it('match case-insensitively, ignore the port, and take subdomains at any depth but never the parent', async () => {
      const allowed = ['app.example.com', 'App.Example.COM', 'app.example.com:8443', 'app.example.com.', 'x.apps.example.com', 'a.b.c.apps.example.com', 'X.APPS.EXAMPLE.COM:1', '127.0.0.1', '127.0.0.1:8080', '0x7f.0.0.1'];
      for (const host of allowed) {
        assertAllowed(await call(server, FA, { 'x-forwarded-host': host, cookie: userCookie }), user, `forward-auth ${host}`);
        assertAllowed(await call(server, AR, { 'x-original-url': `http://${host}/p`, cookie: userCookie }), user, `auth-request ${host}`);
      }
      const refused = ['apps.example.com', 'apps.example.com:443', 'xapps.example.com', 'apps.example.com.evil.net', 'x.apps.example.com.evil.net', 'x.app.example.com', 'appsexample.com', '[::1]', 'localhost'];
      for (const host of refused) {
        assertDenied(await call(server, FA, { 'x-forwarded-host': host, cookie: userCookie }), 403, 'forbidden', `forward-auth ${host}`);
        assertDenied(await call(server, AR, { 'x-original-url': `https://${host}/p`, cookie: userCookie }), 403, 'forbidden', `auth-request ${host}`);
      }
    });
  });

  describe('signed in and allowed', () => {
    it('answers 200 with Remote-User, Remote-Email (empty when none), Remote-Groups and Remote-User-Id', async () => {
      assertAllowed(await call(server, FA, { 'x-forwarded-host': 'app.example.com', 'x-forwarded-uri': '/dashboard', 'x-forwarded-proto': 'https', 'x-forwarded-method': 'GET', cookie: userCookie }), user, 'forward-auth');
      assertAllowed(await call(server, AR, { 'x-original-url': 'https://app.example.com/dashboard', 'x-original-method': 'GET', cookie: userCookie }), user, 'auth-request');
      assertAllowed(await call(server, FA, { 'x-forwarded-host': 'app.example.com', cookie: mailedCookie }), mailed, 'with an email');
      assertAllowed(await call(server, FA, { 'x-forwarded-host': 'app.example.com', cookie: adminCookie }), admin, 'an admin');
    });

    it('takes a bearer access token as the credential, and the Authorization header alone when present', async () => {
      assertAllowed(await call(server, FA, { 'x-forwarded-host': 'app.example.com', authorization: `Bearer ${bearer}` }), user, 'forward-auth, bearer');
      assertAllowed(await call(server, AR, { 'x-original-url': 'https://app.example.com/', authorization: `Bearer ${bearer}` }), user, 'auth-request, bearer');
      // The bearer token wins over another user's cookie (v1.1: Authorization is the only credential).
      assertAllowed(await call(server, FA, { 'x-forwarded-host': 'app.example.com', authorization: `Bearer ${bearer}`, cookie: adminCookie }), user, 'bearer beside a cookie');
      // A bad one is a 401 even beside a valid cookie, with the bearer challenge.
      const res = await call(server, FA, { 'x-forwarded-host': 'app.example.com', authorization: 'Bearer not.a.token', cookie: userCookie, accept: BROWSER_ACCEPT });
      assertDenied(res, 401, 'invalid_token', 'a bad bearer token beside a valid cookie');
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token"/);
    });

    it('works for every method the proxy reports (the method only decides 401 or 302 when signed out)', async () => {
      for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
        assertAllowed(await call(server, FA, { 'x-forwarded-host': 'app.example.com', 'x-forwarded-method': method, cookie: userCookie }), user, method);
        assertAllowed(await call(server, AR, { 'x-original-url': 'https://app.example.com/', 'x-original-method': method, cookie: userCookie }), user, method);
      }
    });
  });

  describe('FORWARD_AUTH_RULES', () => {
    it('refuses a signed-in user without the host\'s role: 403 forbidden, no redirect', async () => {
      for (const host of ['admin.apps.example.com', 'db.ops.apps.example.com', 'a.b.ops.apps.example.com']) {
        const credentials: Array<Record<string, string>> = [{ cookie: userCookie, accept: BROWSER_ACCEPT }, { authorization: `Bearer ${bearer}` }];
        for (const headers of credentials) {
          assertDenied(await call(server, FA, { 'x-forwarded-host': host, ...headers }), 403, 'forbidden', `forward-auth ${host}`);
          const ar = await call(server, AR, { 'x-original-url': `https://${host}/`, ...headers });
          assertDenied(ar, 403, 'forbidden', `auth-request ${host}`);
          assert.equal(ar.headers.get('x-gatehouse-redirect'), null);
        }
        assertAllowed(await call(server, FA, { 'x-forwarded-host': host, cookie: adminCookie }), admin, `admin on ${host}`);
      }
    });

    it('lets the most specific rule win, and hosts without a rule admit every user', async () => {
      assertAllowed(await call(server, FA, { 'x-forwarded-host': 'open.ops.apps.example.com', cookie: userCookie }), user, 'open.ops: user rule beats *.ops');
      assertAllowed(await call(server, FA, { 'x-forwarded-host': 'wiki.apps.example.com', cookie: userCookie }), user, 'no rule');
      // A signed-out browser on an admin host still goes to the login (the role is checked once signed in).
      const res = await call(server, FA, { 'x-forwarded-host': 'admin.apps.example.com', accept: BROWSER_ACCEPT });
      assert.equal(res.status, 302);
    });

    it('applies a role change from the next request', async () => {
      const { client, user: promoted } = await signUpClient(server);
      const cookie = cookieHeader(client);
      assertDenied(await call(server, FA, { 'x-forwarded-host': 'admin.apps.example.com', cookie }), 403, 'forbidden', 'before');
      await server.services.accounts.updateAccount(promoted.id, { role: 'admin' }, { id: null });
      assertAllowed(await call(server, FA, { 'x-forwarded-host': 'admin.apps.example.com', cookie }), { ...promoted, role: 'admin' }, 'after the promotion');
    });
  });

  describe('not signed in', () => {
    it('forward-auth: a browser page load goes 302 to PUBLIC_URL/login?next=<the original URL>', async () => {
      const res = await call(server, FA, { 'x-forwarded-host': 'app.example.com:8443', 'x-forwarded-proto': 'https', 'x-forwarded-uri': '/reports/2026?range=q1&x=a%20b#top', 'x-forwarded-method': 'GET', accept: BROWSER_ACCEPT });
      assert.equal(res.status, 302, res.text);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assertNoIdentity(res, '302');
      assert.equal(nextOf(res.headers.get('location'), '302'), 'https://app.example.com:8443/reports/2026?range=q1&x=a%20b#top');
      for (const accept of ['text/html', 'TEXT/HTML; charset=utf-8', 'application/json;q=0.5, text/html;q=0.1']) {
        assert.equal((await call(server, FA, { 'x-forwarded-host': 'app.example.com', accept })).status, 302, accept);
      }
      assert.equal((await call(server, FA, { 'x-forwarded-host': 'app.example.com', 'x-forwarded-method': 'head', accept: BROWSER_ACCEPT })).status, 302, 'HEAD counts as a page load');
    });

    it('forward-auth: a missing X-Forwarded-Proto, -Uri or -Method means PUBLIC_URL\'s scheme, / and GET', async () => {
      const res = await call(server, FA, { 'x-forwarded-host': 'x.apps.example.com', accept: 'text/html' });
      assert.equal(res.status, 302);
      assert.equal(nextOf(res.headers.get('location'), 'defaults'), 'https://x.apps.example.com/');
      const http = await startTestServer({ PUBLIC_URL: 'http://auth.example.com', FORWARD_AUTH_HOSTS: HOSTS });
      try {
        const plain = await call(http, FA, { 'x-forwarded-host': 'app.example.com', accept: 'text/html' });
        assert.equal(new URL(plain.headers.get('location') ?? '').searchParams.get('next'), 'http://app.example.com/');
      } finally {
        await http.close();
      }
    });

    it('forward-auth: 401 instead of a redirect for API calls, scripts, writes and requests with Authorization', async () => {
      const host = { 'x-forwarded-host': 'app.example.com' };
      const cases: Array<[string, Record<string, string>, string]> = [
        ['no Accept', {}, 'unauthenticated'],
        ['Accept */* alone', { accept: '*/*' }, 'unauthenticated'],
        ['Accept application/json', { accept: 'application/json' }, 'unauthenticated'],
        ['Accept text/*', { accept: 'text/*' }, 'unauthenticated'],
        ['Accept text/html;q=0', { accept: 'text/html;q=0, */*' }, 'unauthenticated'],
        ['Accept text/htmlx', { accept: 'text/htmlx' }, 'unauthenticated'],
        ['a POST from a form', { accept: BROWSER_ACCEPT, 'x-forwarded-method': 'POST' }, 'unauthenticated'],
        ['a DELETE', { accept: BROWSER_ACCEPT, 'x-forwarded-method': 'DELETE' }, 'unauthenticated'],
        ['an unknown method', { accept: BROWSER_ACCEPT, 'x-forwarded-method': 'PROPFIND' }, 'unauthenticated'],
        ['a bad bearer token', { accept: BROWSER_ACCEPT, authorization: 'Bearer not.a.token' }, 'invalid_token'],
        ['Basic credentials for the app', { accept: BROWSER_ACCEPT, authorization: 'Basic dXNlcjpwYXNz' }, 'invalid_token'],
        ['an empty Authorization', { accept: BROWSER_ACCEPT, authorization: '' }, 'invalid_token'],
        ['an unknown session cookie', { accept: 'application/json', cookie: 'gatehouse_session=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' }, 'unauthenticated'],
      ];
      for (const [label, headers, code] of cases) assertDenied(await call(server, FA, { ...host, ...headers }), 401, code, label);
    });

    it('auth-request: always 401 with X-Gatehouse-Redirect, whatever the request looks like', async () => {
      const url = 'https://x.apps.example.com:8443/deep/path?q=%C3%A9&a=1';
      const requests: Array<Record<string, string>> = [{ accept: BROWSER_ACCEPT }, { accept: 'application/json' }, {}, { 'x-original-method': 'POST', accept: BROWSER_ACCEPT }, { authorization: 'Bearer not.a.token' }, { cookie: 'gatehouse_session=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' }];
      for (const headers of requests) {
        const res = await call(server, AR, { 'x-original-url': url, ...headers });
        assertDenied(res, 401, headers.authorization ? 'invalid_token' : 'unauthenticated', JSON.stringify(headers));
        assert.equal(nextOf(res.headers.get('x-gatehouse-redirect'), 'X-Gatehouse-Redirect'), url);
      }
    });

    it('counts a disabled user as signed out, for sessions and tokens alike', async () => {
      const { client, user: victim } = await signUpClient(server);
      const cookie = cookieHeader(client);
      const token = (await server.client().post<{ access_token: string }>('/api/token', { username: victim.username, password: GOOD_PASSWORD })).body.access_token;
      assertAllowed(await call(server, FA, { 'x-forwarded-host': 'app.example.com', cookie }), victim, 'before');
      await server.services.accounts.updateAccount(victim.id, { disabled: true }, { id: null });
      assert.equal((await call(server, FA, { 'x-forwarded-host': 'app.example.com', cookie, accept: BROWSER_ACCEPT })).status, 302, 'forward-auth, session');
      assertDenied(await call(server, FA, { 'x-forwarded-host': 'app.example.com', cookie }), 401, 'unauthenticated', 'forward-auth, session, API');
      assertDenied(await call(server, FA, { 'x-forwarded-host': 'app.example.com', authorization: `Bearer ${token}` }), 401, 'invalid_token', 'forward-auth, bearer');
      const ar = await call(server, AR, { 'x-original-url': 'https://app.example.com/', cookie });
      assertDenied(ar, 401, 'unauthenticated', 'auth-request, session');
      assert.ok(ar.headers.get('x-gatehouse-redirect'));
      assertDenied(await call(server, AR, { 'x-original-url': 'https://app.example.com/', authorization: `Bearer ${token}` }), 401, 'invalid_token', 'auth-request, bearer');
    });

    it('counts a logged-out session as signed out at once', async () => {
      const { client, user: leaving } = await signUpClient(server);
      const cookie = cookieHeader(client);
      assertAllowed(await call(server, FA, { 'x-forwarded-host': 'app.example.com', cookie }), leaving, 'before');
      assert.equal((await client.send('DELETE', '/logout')).status, 204);
      assertDenied(await call(server, FA, { 'x-forwarded-host': 'app.example.com', cookie }), 401, 'unauthenticated', 'after logout');
    });
  });

  describe('what the login URL may point at', () => {
    it('keeps the redirect on the host that passed the check, whatever X-Forwarded-Uri and -Proto say', async () => {
      const cases: Array<[Record<string, string>, string]> = [
        [{ 'x-forwarded-uri': '//evil.example.com/x' }, 'https://app.example.com//evil.example.com/x'],
        [{ 'x-forwarded-uri': '/\\evil.example.com/x' }, 'https://app.example.com/'],
        [{ 'x-forwarded-uri': '@evil.example.com/x' }, 'https://app.example.com/'],
        [{ 'x-forwarded-uri': 'https://evil.example.com/x' }, 'https://app.example.com/'],
        [{ 'x-forwarded-uri': '/a b' }, 'https://app.example.com/'],
        [{ 'x-forwarded-proto': 'javascript' }, 'https://app.example.com/'],
        [{ 'x-forwarded-proto': 'http' }, 'http://app.example.com/'],
        [{ 'x-forwarded-proto': 'HTTP, https' }, 'http://app.example.com/'],
      ];
      for (const [headers, expected] of cases) {
        const res = await call(server, FA, { 'x-forwarded-host': 'app.example.com', accept: 'text/html', ...headers });
        assert.equal(res.status, 302, JSON.stringify(headers));
        const next = nextOf(res.headers.get('location'), JSON.stringify(headers));
        assert.equal(next, expected, JSON.stringify(headers));
        assert.equal(new URL(next).hostname, 'app.example.com');
      }
    });
  });

  describe('header spoofing', () => {
    it('never echoes Remote-* headers the client sent: a signed-out request gets none, a signed-in one gets its own', async () => {
      const spoof = { 'remote-user': 'root', 'remote-email': 'root@example.com', 'remote-groups': 'admin', 'remote-user-id': '1' };
      for (const path of [FA, AR]) {
        const where: Record<string, string> = path === FA ? { 'x-forwarded-host': 'app.example.com' } : { 'x-original-url': 'https://app.example.com/' };
        const out = await call(server, path, { ...where, ...spoof, accept: BROWSER_ACCEPT });
        assert.notEqual(out.status, 200);
        assertNoIdentity(out, `${path} signed out`);
        assertAllowed(await call(server, path, { ...where, ...spoof, cookie: userCookie }), user, `${path} signed in`);
      }
    });

    it('reads the proxy\'s headers whatever TRUST_PROXY says, and never the Host or X-Forwarded-For', async () => {
      // Host here is 127.0.0.1:<port>, which FORWARD_AUTH_HOSTS lists: it is still not the protected host.
      assertDenied(await call(server, FA, { cookie: userCookie }), 403, 'forbidden', 'Host alone');
      assertDenied(await call(server, FA, { cookie: userCookie, 'x-forwarded-for': '127.0.0.1', 'x-original-url': 'https://app.example.com/' }), 403, 'forbidden', 'forward-auth reads X-Forwarded-Host only');
      assertDenied(await call(server, AR, { cookie: userCookie, 'x-forwarded-host': 'app.example.com' }), 403, 'forbidden', 'auth-request reads X-Original-URL only');
      const trusting = await startTestServer({ PUBLIC_URL, FORWARD_AUTH_HOSTS: HOSTS, TRUST_PROXY: '127.0.0.1' });
      try {
        const { client, user: other } = await signUpClient(trusting);
        const cookie = cookieHeader(client);
        assertAllowed(await call(trusting, FA, { 'x-forwarded-host': 'app.example.com', cookie }), other, 'TRUST_PROXY=127.0.0.1');
        assertDenied(await call(trusting, FA, { 'x-forwarded-host': 'evil.example.com', cookie }), 403, 'forbidden', 'TRUST_PROXY=127.0.0.1');
      } finally {
        await trusting.close();
      }
    });

    it('reads only its own session cookie name', async () => {
      const value = new Map(userCookie.split('; ').map((pair) => pair.split('=') as [string, string])).get('gatehouse_session') ?? '';
      assert.ok(value);
      for (const cookie of [`__Host-gatehouse_session=${value}`, `__Secure-gatehouse_session=${value}`, `gatehouse_session_x=${value}`, `csrf_token=${value}`]) {
        assertDenied(await call(server, FA, { 'x-forwarded-host': 'app.example.com', cookie }), 401, 'unauthenticated', cookie.split('=')[0] ?? '');
      }
    });
  });

  describe('HEAD and caching', () => {
    it('answers HEAD like GET, without a body', async () => {
      const allowed = await call(server, FA, { 'x-forwarded-host': 'app.example.com', cookie: userCookie }, 'HEAD');
      assertAllowed(allowed, user, 'HEAD forward-auth');
      assertAllowed(await call(server, AR, { 'x-original-url': 'https://app.example.com/', cookie: userCookie }, 'HEAD'), user, 'HEAD auth-request');
      const redirect = await call(server, FA, { 'x-forwarded-host': 'app.example.com', accept: BROWSER_ACCEPT }, 'HEAD');
      assert.equal(redirect.status, 302);
      assert.ok(redirect.headers.get('location'));
      const ar = await call(server, AR, { 'x-original-url': 'https://app.example.com/' }, 'HEAD');
      assert.equal(ar.status, 401);
      assert.ok(ar.headers.get('x-gatehouse-redirect'));
      assert.equal(ar.text, '');
      for (const res of [redirect, ar, await call(server, FA, { 'x-forwarded-host': 'evil.example.com' }, 'HEAD')]) {
        assert.equal(res.headers.get('cache-control'), 'no-store');
        assertNoIdentity(res, `HEAD ${res.status}`);
      }
    });

    it('sends Cache-Control: no-store on every answer', async () => {
      const answers = [
        await call(server, FA, { 'x-forwarded-host': 'app.example.com', cookie: userCookie }),
        await call(server, FA, { 'x-forwarded-host': 'app.example.com', accept: 'text/html' }),
        await call(server, FA, { 'x-forwarded-host': 'app.example.com' }),
        await call(server, FA, { 'x-forwarded-host': 'evil.example.com' }),
        await call(server, FA, { 'x-forwarded-host': 'admin.apps.example.com', cookie: userCookie }),
        await call(server, AR, { 'x-original-url': 'https://app.example.com/', cookie: userCookie }),
        await call(server, AR, { 'x-original-url': 'https://app.example.com/' }),
        await call(server, AR, { 'x-original-url': 'nope' }),
      ];
      assert.deepEqual(answers.map((res) => res.status), [200, 302, 401, 403, 403, 200, 401, 403]);
      for (const res of answers) assert.equal(res.headers.get('cache-control'), 'no-store', String(res.status));
    });
  });

  describe('cost', () => {
    it('writes nothing to the database: no audit rows, no session touch within the minute', async () => {
      const { client, user: reader } = await signUpClient(server);
      const cookie = cookieHeader(client);
      const db = server.storage.db;
      const audit = async () => Number((await db.selectFrom('audit_events').select(db.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
      const seen = async () => (await db.selectFrom('sessions').select(['last_seen_at', 'idle_expires_at']).where('user_id', '=', reader.id).executeTakeFirstOrThrow());
      const [auditBefore, seenBefore] = [await audit(), await seen()];
      for (let i = 0; i < 25; i += 1) {
        assertAllowed(await call(server, FA, { 'x-forwarded-host': 'app.example.com', cookie }), reader, `check ${i}`);
        assert.equal((await call(server, AR, { 'x-original-url': 'https://nope.example.net/' })).status, 403);
        assert.equal((await call(server, FA, { 'x-forwarded-host': 'app.example.com', accept: 'text/html' })).status, 302);
      }
      assert.equal(await audit(), auditBefore, 'no audit rows');
      assert.deepEqual(await seen(), seenBefore, 'the session row is untouched');
    });
  });
});

describe('forward authentication fails closed', () => {
  it('answers a denial, never a 200, when the session check throws', async () => {
    const server = await startTestServer({ PUBLIC_URL, FORWARD_AUTH_HOSTS: HOSTS });
    try {
      const { client } = await signUpClient(server);
      const cookie = cookieHeader(client);
      const sessions = server.services.sessions as unknown as { validate: (token: string) => Promise<unknown> };
      sessions.validate = async () => {
        throw new TypeError('a bug in the session check');
      };
      for (const [path, where] of [[FA, { 'x-forwarded-host': 'app.example.com' }], [AR, { 'x-original-url': 'https://app.example.com/' }]] as const) {
        for (const method of ['GET', 'HEAD']) {
          const res = await call(server, path, { ...where, cookie, accept: BROWSER_ACCEPT }, method);
          assert.equal(res.status, 500, `${method} ${path}`);
          assert.equal(res.headers.get('cache-control'), 'no-store');
          assert.equal(res.headers.get('location'), null);
          assert.equal(res.headers.get('x-gatehouse-redirect'), null);
          assertNoIdentity(res, `${method} ${path}`);
          if (method === 'GET') assert.deepEqual(res.body, { error: { code: 'internal_error', message: 'Something went wrong.' } });
        }
      }
    } finally {
      await server.close();
    }
  });

  it('answers a denial, never a 200, when the database is closed underneath', async () => {
    const server = await startTestServer({ PUBLIC_URL, FORWARD_AUTH_HOSTS: HOSTS, RATE_LIMIT_PER_IP: '100000' });
    let closed = false;
    try {
      const first = await signUpClient(server);
      const cached = cookieHeader(first.client);
      // A second login of the same user: a session this server has not read yet.
      const second = server.client();
      assert.equal((await second.post('/login', { username: first.user.username, password: GOOD_PASSWORD })).status, 200);
      const fresh = cookieHeader(second);
      const token = (await server.client().post<{ access_token: string }>('/api/token', { username: first.user.username, password: GOOD_PASSWORD })).body.access_token;
      assertAllowed(await call(server, FA, { 'x-forwarded-host': 'app.example.com', cookie: cached }), first.user, 'before');

      await server.storage.close();
      closed = true;
      // Past the 1 s session cache, so the cached cookie needs the database too.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const credentials: Array<[string, Record<string, string>]> = [
        ['an unread session', { cookie: fresh }],
        ['a session read before', { cookie: cached }],
        ['a bearer token', { authorization: `Bearer ${token}` }],
      ];
      for (const [label, credential] of credentials) {
        for (const [path, where] of [[FA, { 'x-forwarded-host': 'app.example.com' }], [AR, { 'x-original-url': 'https://app.example.com/' }]] as const) {
          for (const method of ['GET', 'HEAD']) {
            const res = await call(server, path, { ...where, ...credential, accept: BROWSER_ACCEPT }, method);
            assert.ok(res.status >= 500, `${label}, ${method} ${path}: ${res.status}`);
            assert.equal(res.headers.get('cache-control'), 'no-store');
            assert.equal(res.headers.get('location'), null, 'no redirect to a login that cannot work');
            assertNoIdentity(res, `${label}, ${method} ${path}`);
            if (method === 'GET') assert.ok(['unavailable', 'internal_error'].includes(res.body.error.code), res.text);
          }
        }
      }
    } finally {
      if (closed) {
        // The storage is gone already: close the app, then drop the test database the usual way.
        await server.app.close().catch(() => {});
        await server.close().catch(() => {});
      } else {
        await server.close();
      }
    }
  });
});

describe('/login returns to a protected host', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ PUBLIC_URL, FORWARD_AUTH_HOSTS: HOSTS, RATE_LIMIT_PER_IP: '100000', LOGIN_FAILURES_PER_ACCOUNT: '100000' });
  });
  after(async () => server.close());

  const TARGET = 'https://x.apps.example.com:8443/after/login?tab=2#part';

  it('a signed-in GET /login?next=<protected URL> goes 303 straight there', async () => {
    const { client } = await signUpClient(server);
    const res = await client.get(`/login?next=${encodeURIComponent(TARGET)}`, { headers: { accept: 'text/html' } });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), TARGET);
  });

  it('the login form carries it, and its post goes 303 there; the signup form too', async () => {
    const { user } = await signUpClient(server);
    const visitor = server.client();
    const page = await visitor.get<string>(`/login?next=${encodeURIComponent(TARGET)}`, { headers: { accept: 'text/html' } });
    assert.equal(page.status, 200);
    assert.equal(/<input type="hidden" name="next" value="([^"]*)">/.exec(page.body)?.[1]?.replace(/&amp;/g, '&'), TARGET);
    // Browsers apply form-action to the redirect that follows a form post.
    assert.match(page.headers.get('content-security-policy') ?? '', /form-action 'self' app\.example\.com:\* \*\.apps\.example\.com:\* 127\.0\.0\.1:\*/);
    const res = await visitor.request('POST', '/login', { form: { csrf_token: visitor.csrf ?? '', next: TARGET, username: user.username, password: GOOD_PASSWORD }, headers: { origin: server.url } });
    assert.equal(res.status, 303, res.text);
    assert.equal(res.headers.get('location'), TARGET);

    const newcomer = server.client();
    await newcomer.get('/signup', { headers: { accept: 'text/html' } });
    const signup = await newcomer.request('POST', '/signup', { form: { csrf_token: newcomer.csrf ?? '', next: TARGET, username: uniqueName('fa'), password: GOOD_PASSWORD, password_confirmation: GOOD_PASSWORD }, headers: { origin: server.url } });
    assert.equal(signup.status, 303, signup.text);
    assert.equal(signup.headers.get('location'), TARGET);
  });

  it('a failed login shows the form again with the protected URL still in it', async () => {
    const visitor = server.client();
    await visitor.get('/login', { headers: { accept: 'text/html' } });
    const res = await visitor.request<string>('POST', '/login', { form: { csrf_token: visitor.csrf ?? '', next: TARGET, username: 'nobody-here', password: 'wrong password!' }, headers: { origin: server.url } });
    assert.equal(res.status, 401);
    assert.equal(/<input type="hidden" name="next" value="([^"]*)">/.exec(res.body)?.[1]?.replace(/&amp;/g, '&'), TARGET);
  });

  it('carries it through the two-step login to the protected host', async () => {
    const { client, user } = await signUpClient(server);
    const setup = await client.send<{ secret: string }>('POST', '/api/me/mfa/totp', {});
    assert.equal(setup.status, 201, setup.text);
    const code = new TOTP({ secret: setup.body.secret, digits: 6, period: 30, algorithm: 'SHA1' }).generate();
    const confirmed = await client.send<{ recovery_codes: string[] }>('POST', '/api/me/mfa/totp/confirm', { code });
    assert.equal(confirmed.status, 200, confirmed.text);
    const recoveryCode = confirmed.body.recovery_codes[0] ?? '';

    const visitor = server.client();
    await visitor.get(`/login?next=${encodeURIComponent(TARGET)}`, { headers: { accept: 'text/html' } });
    const password = await visitor.request('POST', '/login', { form: { csrf_token: visitor.csrf ?? '', next: TARGET, username: user.username, password: GOOD_PASSWORD }, headers: { origin: server.url } });
    assert.equal(password.status, 303, password.text);
    const step = password.headers.get('location') ?? '';
    assert.equal(step, `/login/mfa?next=${encodeURIComponent(TARGET)}`);
    const page = await visitor.get<string>(step, { headers: { accept: 'text/html' } });
    assert.equal(page.status, 200);
    assert.equal(/<input type="hidden" name="next" value="([^"]*)">/.exec(page.body)?.[1]?.replace(/&amp;/g, '&'), TARGET);
    const second = await visitor.request('POST', step, { form: { csrf_token: visitor.csrf ?? '', next: TARGET, recovery_code: recoveryCode }, headers: { origin: server.url } });
    assert.equal(second.status, 303, second.text);
    assert.equal(second.headers.get('location'), TARGET);
  });

  it('never leaves for a host FORWARD_AUTH_HOSTS does not list, or a URL with user info', async () => {
    const { client, user } = await signUpClient(server);
    const refused = [
      'https://evil.example.com/',
      'https://apps.example.com/',
      'https://app.example.com@evil.example.com/',
      'https://user:pw@app.example.com/',
      'https://evil.example.com\\@app.example.com/',
      'https://app.example.com.evil.example.com/',
      '//app.example.com/',
      'javascript://app.example.com/%0aalert(1)',
      'ftp://app.example.com/',
    ];
    for (const next of refused) {
      const signedIn = await client.get(`/login?next=${encodeURIComponent(next)}`, { headers: { accept: 'text/html' } });
      assert.equal(signedIn.status, 303, next);
      assert.equal(signedIn.headers.get('location'), '/', next);
      const visitor = server.client();
      const page = await visitor.get<string>(`/login?next=${encodeURIComponent(next)}`, { headers: { accept: 'text/html' } });
      assert.equal(/name="next"/.exec(page.body), null, `${next}: not carried by the form`);
      const posted = await visitor.request('POST', '/login', { form: { csrf_token: visitor.csrf ?? '', next, username: user.username, password: GOOD_PASSWORD }, headers: { origin: server.url } });
      assert.equal(posted.status, 303, next);
      assert.equal(posted.headers.get('location'), '/', next);
    }
  });
});

describe('COOKIE_DOMAIN', () => {
  it('gives the session and CSRF cookies Domain=…, keeps the MFA cookie host-only, and clears with the same Domain', async () => {
    const server = await startTestServer({ PUBLIC_URL, COOKIE_DOMAIN: 'example.com', FORWARD_AUTH_HOSTS: HOSTS });
    try {
      const client = server.client();
      const res = await client.post('/signup', { username: uniqueName('dom'), password: GOOD_PASSWORD });
      assert.equal(res.status, 201);
      const byName = (name: string) => res.setCookies.filter((c) => c.name === name);
      const session = byName('gatehouse_session');
      const csrf = byName('csrf_token');
      assert.ok(session.some((c) => c.attributes.domain === 'example.com' && c.value !== '' && c.attributes.httponly === true), JSON.stringify(session));
      assert.ok(csrf.some((c) => c.attributes.domain === 'example.com' && c.value !== ''), JSON.stringify(csrf));
      // A host-only twin left from before COOKIE_DOMAIN would be sent first and shadow the shared one: expired, before the new ones.
      assert.ok(session.some((c) => c.attributes.domain === undefined && c.value === ''), 'the host-only session twin is expired');
      assert.ok(csrf.some((c) => c.attributes.domain === undefined && c.value === ''), 'the host-only CSRF twin is expired');
      assert.equal(client.cookie('gatehouse_session') !== undefined, true, 'the new cookie comes last');
      // The shared cookie works at a sibling host's forward auth.
      const check = await call(server, FA, { 'x-forwarded-host': 'x.apps.example.com', cookie: cookieHeader(client) });
      assert.equal(check.status, 200);
      const out = await client.send('DELETE', '/logout');
      assert.equal(out.status, 204);
      assert.ok(out.setCookies.some((c) => c.name === 'gatehouse_session' && c.value === '' && c.attributes.domain === 'example.com'), 'cleared with its Domain');
    } finally {
      await server.close();
    }
  });

  it('switches the session cookie to __Secure- when cookies are always Secure (a __Host- cookie may not carry Domain)', async () => {
    const server = await startTestServer({ PUBLIC_URL, COOKIE_DOMAIN: 'example.com', COOKIE_SECURE: 'true', FORWARD_AUTH_HOSTS: HOSTS });
    try {
      const client = server.client();
      const res = await client.post('/signup', { username: uniqueName('sec'), password: GOOD_PASSWORD });
      assert.equal(res.status, 201);
      const session = res.setCookies.find((c) => c.name === '__Secure-gatehouse_session');
      assert.ok(session, res.setCookies.map((c) => c.name).join(', '));
      assert.equal(session.attributes.domain, 'example.com');
      assert.equal(session.attributes.secure, true);
      assert.ok(!res.setCookies.some((c) => c.name.startsWith('__Host-')), 'no __Host- cookie with a Domain');
      assert.equal((await call(server, FA, { 'x-forwarded-host': 'app.example.com', cookie: `__Secure-gatehouse_session=${session.value}` })).status, 200);
      assert.equal((await call(server, FA, { 'x-forwarded-host': 'app.example.com', cookie: `__Host-gatehouse_session=${session.value}` })).status, 401);
    } finally {
      await server.close();
    }
  });

  it('leaves cookies host-only by default', async () => {
    const server = await startTestServer({ PUBLIC_URL });
    try {
      const res = await server.client().post('/signup', { username: uniqueName('host'), password: GOOD_PASSWORD });
      assert.equal(res.status, 201);
      for (const cookie of res.setCookies) assert.equal(cookie.attributes.domain, undefined, cookie.name);
      assert.equal(res.setCookies.length, 2, 'no twins to clear');
    } finally {
      await server.close();
    }
  });
});
