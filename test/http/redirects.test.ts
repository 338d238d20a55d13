// @database-independent: HTTP-layer behaviour only; the PostgreSQL stage does not run it again.
/**
 * Open redirect through `next` (security review, finding 3), over real HTTP: a signed-in
 * `GET /login?next=…`, and the login and signup form posts, never send the browser off the site.
 *
 * Checked against the old code (this file run from a copy of HEAD's tree): every dot-segment row
 * fails there, e.g. `GET /login?next=/.//evil.example` with a session answered
 * `303 Location: //evil.example`, and the form posts did the same.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GOOD_PASSWORD, signUpClient, startTestServer, uniqueName } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';
import type { TestClient, TestResponse } from '../helpers/http.js';
import { assertSameOriginPath, NEXT_CASES } from '../helpers/next-paths.js';

const HTML = { accept: 'text/html' };

/** The Location a browser would follow, checked to stay on the server's origin. */
function location(res: TestResponse, server: TestServer, label: string): string {
  assert.equal(res.status, 303, `${label}: ${res.status} ${res.text.slice(0, 200)}`);
  const value = res.headers.get('location') ?? '';
  assertSameOriginPath(value, label);
  assert.equal(new URL(value, server.url).origin, server.url, label);
  return value;
}

/** A visitor holding the login or signup page's CSRF token, as the form would post it. */
async function formVisitor(server: TestServer, page: '/login' | '/signup'): Promise<{ client: TestClient; csrf: string }> {
  const client = server.client();
  const res = await client.get<string>(page, { headers: HTML });
  assert.equal(res.status, 200);
  return { client, csrf: client.csrf ?? '' };
}

describe('redirects after login never leave the site', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ RATE_LIMIT_PER_IP: '100000', LOGIN_FAILURES_PER_ACCOUNT: '100000' });
  });
  after(async () => server.close());

  it('GET /login?next=… with a session: 303 to the normalized same-origin path', async () => {
    const { client } = await signUpClient(server);
    for (const [next, expected] of NEXT_CASES) {
      const res = await client.get(`/login?next=${encodeURIComponent(next)}`, { headers: HTML });
      assert.equal(location(res, server, `GET next=${JSON.stringify(next)}`), expected, next);
    }
  });

  it('GET /login?next=… without a session: the form carries only the normalized path', async () => {
    for (const [next, expected] of NEXT_CASES) {
      const res = await server.client().get<string>(`/login?next=${encodeURIComponent(next)}`, { headers: HTML });
      assert.equal(res.status, 200);
      const hidden = /<input type="hidden" name="next" value="([^"]*)">/.exec(res.body)?.[1];
      assert.equal(hidden?.replace(/&amp;/g, '&') ?? '/', expected, next);
      assert.ok(!res.body.includes('//evil.example'), `${next}: no protocol-relative URL in the page`);
    }
  });

  it('POST /login as a form: 303 to the normalized same-origin path', async () => {
    const { user } = await signUpClient(server);
    for (const [next, expected] of NEXT_CASES) {
      const { client, csrf } = await formVisitor(server, '/login');
      const res = await client.request('POST', '/login', {
        form: { csrf_token: csrf, next, username: user.username, password: GOOD_PASSWORD },
        headers: { origin: server.url },
      });
      assert.equal(location(res, server, `login form next=${JSON.stringify(next)}`), expected, next);
    }
  });

  it('POST /signup as a form: 303 to the normalized same-origin path', async () => {
    for (const [next, expected] of NEXT_CASES) {
      const { client, csrf } = await formVisitor(server, '/signup');
      const res = await client.request('POST', '/signup', {
        form: { csrf_token: csrf, next, username: uniqueName('Redir'), password: GOOD_PASSWORD, password_confirmation: GOOD_PASSWORD },
        headers: { origin: server.url },
      });
      assert.equal(location(res, server, `signup form next=${JSON.stringify(next)}`), expected, next);
    }
  });
});

/**
 * With FORWARD_AUTH_HOSTS set, `next` may also be an absolute URL on one of those hosts (forward
 * authentication's return trip); every same-origin case above still holds, and no other host gets in.
 */
describe('redirects after login with FORWARD_AUTH_HOSTS', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ FORWARD_AUTH_HOSTS: 'app.example.com, *.apps.example.com', RATE_LIMIT_PER_IP: '100000', LOGIN_FAILURES_PER_ACCOUNT: '100000' });
  });
  after(async () => server.close());

  const ABSOLUTE: ReadonlyArray<readonly [string, string]> = [
    ['https://app.example.com/x?y=1#z', 'https://app.example.com/x?y=1#z'],
    ['http://a.b.apps.example.com:8080/', 'http://a.b.apps.example.com:8080/'],
    ['HTTPS://APP.EXAMPLE.COM', 'https://app.example.com/'],
  ];
  const OFF_LIST = ['https://apps.example.com/', 'https://app.example.com@evil.example/', 'https://user:pw@app.example.com/', 'https://evil.example\\@app.example.com/', 'https://app.example.com.evil.example/'];

  it('GET /login?next=… with a session: same-origin cases unchanged, protected hosts reached, others refused', async () => {
    const { client } = await signUpClient(server);
    for (const [next, expected] of NEXT_CASES) {
      const res = await client.get(`/login?next=${encodeURIComponent(next)}`, { headers: HTML });
      assert.equal(location(res, server, `GET next=${JSON.stringify(next)}`), expected, next);
    }
    for (const [next, expected] of ABSOLUTE) {
      const res = await client.get(`/login?next=${encodeURIComponent(next)}`, { headers: HTML });
      assert.equal(res.status, 303, next);
      assert.equal(res.headers.get('location'), expected, next);
    }
    for (const next of OFF_LIST) {
      const res = await client.get(`/login?next=${encodeURIComponent(next)}`, { headers: HTML });
      assert.equal(location(res, server, `GET next=${JSON.stringify(next)}`), '/', next);
    }
  });

  it('POST /login as a form: the same', async () => {
    const { user } = await signUpClient(server);
    const post = async (next: string) => {
      const { client, csrf } = await formVisitor(server, '/login');
      return client.request('POST', '/login', { form: { csrf_token: csrf, next, username: user.username, password: GOOD_PASSWORD }, headers: { origin: server.url } });
    };
    for (const [next, expected] of NEXT_CASES) assert.equal(location(await post(next), server, `login form next=${JSON.stringify(next)}`), expected, next);
    for (const [next, expected] of ABSOLUTE) assert.equal((await post(next)).headers.get('location'), expected, next);
    for (const next of OFF_LIST) assert.equal(location(await post(next), server, `login form next=${JSON.stringify(next)}`), '/', next);
  });
});
