/**
 * Logout CSRF (security review, finding 11) and the contract's "Browser session" rule: a GET
 * /logout from our own pages ends the session; one from another site (`Sec-Fetch-Site:
 * cross-site`, or an `Origin` or `Referer` of another site) does not act and answers 200 with a
 * page whose button (a same-origin POST /logout with the CSRF token) logs out.
 *
 * Checked against the old code (this file run from a copy of HEAD's tree): the cross-site GETs
 * answered 303 and ended the session, and POST /logout was 404.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertError } from '../helpers/assert-error.js';
import { signUpClient, startTestServer } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';
import type { TestClient, TestResponse } from '../helpers/http.js';

const SESSION = 'gatehouse_session';
const EVIL = 'https://evil.example';

/** Whether the client's session still works. */
async function signedIn(client: TestClient): Promise<boolean> {
  const res = await client.get('/api/me');
  return res.status === 200;
}

function clearedCookies(res: TestResponse): string[] {
  return res.setCookies.filter((c) => c.value === '').map((c) => c.name);
}

/** The logout page's form: method, action and the CSRF field. */
function logoutForm(html: string): { action: string; method: string; csrf: string } {
  const form = /<form method="([^"]+)" action="([^"]+)">([\s\S]*?)<\/form>/.exec(html);
  assert.ok(form, 'the page has a form');
  const csrf = /<input type="hidden" name="csrf_token" value="([^"]+)">/.exec(form[3] ?? '')?.[1] ?? '';
  return { method: form[1] ?? '', action: form[2] ?? '', csrf };
}

describe('GET /logout', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ RATE_LIMIT_PER_IP: '100000' });
  });
  after(async () => server.close());

  const crossSite: Array<[string, (url: string) => Record<string, string>]> = [
    ['Sec-Fetch-Site: cross-site', () => ({ 'sec-fetch-site': 'cross-site' })],
    ['Sec-Fetch-Site: cross-site with a same-origin Referer', (url) => ({ 'sec-fetch-site': 'cross-site', referer: `${url}/` })],
    ['Sec-Fetch-Site: same-site (a sibling subdomain)', () => ({ 'sec-fetch-site': 'same-site' })],
    ['an Origin of another site', () => ({ origin: EVIL })],
    ['Origin: null', () => ({ origin: 'null' })],
    ['a Referer of another site', () => ({ referer: `${EVIL}/page?x=1` })],
    ['a Referer of our host on another scheme', () => ({ referer: 'https://127.0.0.1/' })],
    ['an unreadable Referer', () => ({ referer: 'not a url' })],
    ['a same-origin Sec-Fetch-Site but a foreign Referer', () => ({ 'sec-fetch-site': 'same-origin', referer: `${EVIL}/` })],
  ];

  for (const [label, headers] of crossSite) {
    it(`from another site (${label}): 200 with a logout page, the session untouched`, async () => {
      const { client } = await signUpClient(server);
      const res = await client.get<string>('/logout', { headers: { accept: 'text/html', ...headers(server.url) } });
      assert.equal(res.status, 200, res.text.slice(0, 200));
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.equal(res.headers.get('location'), null);
      assert.deepEqual(clearedCookies(res), [], 'no cookie cleared');
      assert.ok(await signedIn(client), 'the session survived');
      const form = logoutForm(res.body);
      assert.deepEqual([form.method, form.action], ['post', '/logout']);
      assert.equal(form.csrf, client.csrf, 'the button carries the session\'s CSRF token');
    });
  }

  it('the page looks like the login page, is accessible and has no script', async () => {
    const { client } = await signUpClient(server);
    const res = await client.get<string>('/logout', { headers: { 'sec-fetch-site': 'cross-site' } });
    const html = res.body;
    assert.match(html, /^<!doctype html>\n<html lang="en">/);
    assert.match(html, /<title>Log out · Gatehouse<\/title>/);
    assert.match(html, /<link rel="stylesheet" href="\/auth.css">/);
    assert.match(html, /<main class="auth">\s*<h1>Log out<\/h1>/);
    assert.match(html, /<button type="submit">Log out<\/button>/);
    assert.match(html, /<a href="\/">Stay signed in<\/a>/);
    assert.ok(!/<script/i.test(html), 'no script at all');
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /form-action 'self'(;|$)/);
  });

  const sameOrigin: Array<[string, (url: string) => Record<string, string>]> = [
    ['no such headers (curl, old browsers)', () => ({})],
    ['Sec-Fetch-Site: same-origin', () => ({ 'sec-fetch-site': 'same-origin' })],
    ['Sec-Fetch-Site: none (typed address, bookmark)', () => ({ 'sec-fetch-site': 'none' })],
    ['a same-origin Referer', (url) => ({ 'sec-fetch-site': 'same-origin', referer: `${url}/bucketlists` })],
    ['our own Origin', (url) => ({ origin: url, 'sec-fetch-site': 'same-origin' })],
  ];

  for (const [label, headers] of sameOrigin) {
    it(`from our own pages (${label}): revokes, clears both cookies, 303 to /login`, async () => {
      const { client } = await signUpClient(server);
      const replay = client.clone();
      const res = await client.get('/logout', { headers: headers(server.url) });
      assert.equal(res.status, 303);
      assert.equal(res.headers.get('location'), '/login');
      assert.deepEqual(clearedCookies(res).sort(), ['csrf_token', SESSION]);
      assert.equal(await signedIn(replay), false, 'the old cookie no longer works');
    });
  }
});

describe('POST /logout (the logout page\'s button)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ RATE_LIMIT_PER_IP: '100000' });
  });
  after(async () => server.close());

  /** A signed-in client that followed a cross-site link to /logout, and the page's form token. */
  async function onLogoutPage(): Promise<{ client: TestClient; csrf: string }> {
    const { client } = await signUpClient(server);
    const res = await client.get<string>('/logout', { headers: { 'sec-fetch-site': 'cross-site' } });
    assert.equal(res.status, 200);
    return { client, csrf: logoutForm(res.body).csrf };
  }

  it('the button, posted as the browser does: revokes, clears both cookies, 303 to /login', async () => {
    const { client, csrf } = await onLogoutPage();
    const replay = client.clone();
    const res = await client.request('POST', '/logout', { form: { csrf_token: csrf }, headers: { origin: server.url, 'sec-fetch-site': 'same-origin' } });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/login');
    assert.deepEqual(clearedCookies(res).sort(), ['csrf_token', SESSION]);
    assert.equal(await signedIn(replay), false);
  });

  it('takes the X-CSRF-Token header as well (script clients)', async () => {
    const { client } = await signUpClient(server);
    const res = await client.send('POST', '/logout');
    assert.equal(res.status, 303);
    assert.equal(await signedIn(client), false);
  });

  it('without a session: 303 to /login and cookies cleared, no token needed', async () => {
    const res = await server.client().request('POST', '/logout', { form: {} });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/login');
    assert.ok(clearedCookies(res).includes(SESSION));
  });

  it('refuses a missing or wrong CSRF token with a live session (403), and the session survives', async () => {
    const { client, csrf } = await onLogoutPage();
    const other = await signUpClient(server);
    const forms: Array<Record<string, string>> = [{}, { csrf_token: '' }, { csrf_token: `${csrf}x` }, { csrf_token: other.client.csrf ?? '' }];
    for (const form of forms) {
      const res = await client.request<string>('POST', '/logout', { form, headers: { origin: server.url } });
      assert.equal(res.status, 403, JSON.stringify(form));
      // A form post sees the page again, with the error, and can be sent once more.
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(res.body, /Missing or invalid CSRF token\./);
      assert.equal(logoutForm(res.body).csrf, csrf);
    }
    assertError(await client.request('POST', '/logout', { json: {} }), 403, 'csrf_failed');
    assertError(await client.request('POST', '/logout', { json: { csrf_token: csrf } }), 403, 'csrf_failed');
    assertError(await client.request('POST', '/logout', { headers: { 'x-csrf-token': 'wrong' } }), 403, 'csrf_failed');
    // CSRF before the body: no token and a malformed or mistyped body is still 403.
    assertError(await client.request('POST', '/logout', { body: '{"csrf_token":', headers: { 'content-type': 'application/json' } }), 403, 'csrf_failed');
    assertError(await client.request('POST', '/logout', { body: 'x', headers: { 'content-type': 'text/plain' } }), 403, 'csrf_failed');
    assert.ok(await signedIn(client), 'the session survived every refused logout');
  });

  it('is under the Origin rule, with or without a session', async () => {
    const { client, csrf } = await onLogoutPage();
    const foreign: Array<Record<string, string>> = [{ origin: EVIL }, { 'sec-fetch-site': 'cross-site' }, { origin: 'null' }];
    for (const headers of foreign) {
      const res = await client.request('POST', '/logout', { form: { csrf_token: csrf }, headers });
      assert.equal(res.status, 403, JSON.stringify(headers));
      assertError(await client.request('POST', '/logout', { json: { csrf_token: csrf }, headers: { ...headers, 'x-csrf-token': csrf } }), 403, 'origin_refused');
      assertError(await server.client().request('POST', '/logout', { headers }), 403, 'origin_refused');
    }
    assert.ok(await signedIn(client));
  });

  it('is documented in the OpenAPI description', async () => {
    const res = await server.client().get<{ paths: Record<string, Record<string, { responses?: Record<string, unknown>; requestBody?: unknown }>> }>('/openapi.json');
    const post = res.body.paths['/logout']?.post;
    assert.ok(post?.requestBody, 'POST /logout documents its body');
    assert.ok(post.responses && '303' in post.responses && '403' in post.responses);
    assert.ok(res.body.paths['/logout']?.get?.responses?.['200'], 'GET /logout documents the page');
  });
});
