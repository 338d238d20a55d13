// @database-independent: HTTP-layer behaviour only; the PostgreSQL stage does not run it again.
/**
 * The API reference (/docs, /docs/static/*) runs a large third-party bundle on the identity origin
 * (security review, finding 23), so it gets a Content-Security-Policy of its own, stricter than
 * the app's: nothing by default; its own scripts, styles and images; calls to this origin only; no
 * forms, no <base>, no framing. test/http/docs.test.ts renders it in Chromium without violations.
 *
 * Checked against the old code (this file run from a copy of HEAD's tree): /docs carried the app's
 * page policy there (`default-src 'self'`, `form-action 'self'`, `base-uri 'self'`), so the
 * policy assertions fail; the asset assertions pass there too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';

const DOCS_POLICY: Record<string, string> = {
  'default-src': "'none'",
  'script-src': "'self'",
  'style-src': "'self'",
  'img-src': "'self' data:",
  'connect-src': "'self'",
  'form-action': "'none'",
  'frame-ancestors': "'none'",
  'object-src': "'none'",
  'base-uri': "'none'",
};

function directives(csp: string | null): Record<string, string> {
  return Object.fromEntries(
    (csp ?? '')
      .split(';')
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => {
        const [name = '', ...values] = part.split(/\s+/);
        return [name, values.join(' ')];
      }),
  );
}

describe('the API reference has a strict CSP of its own', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => server.close());

  it('/docs carries it and still loads every script and stylesheet it names (200)', async () => {
    const page = await server.client().get<string>('/docs');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.deepEqual(directives(page.headers.get('content-security-policy')), DOCS_POLICY);
    const pageUrl = new URL('/docs', server.url);
    const assets = [...page.body.matchAll(/<(?:script[^>]*\bsrc|link[^>]*\bhref)="([^"]+)"/g)].map((m) => new URL(m[1] ?? '', pageUrl));
    const sameOrigin = assets.filter((url) => url.origin === server.url);
    assert.ok(sameOrigin.some((url) => url.pathname.endsWith('.js')), 'the page loads scripts');
    assert.ok(sameOrigin.some((url) => url.pathname.endsWith('.css')), 'and stylesheets');
    assert.deepEqual(assets.filter((url) => url.origin !== server.url && url.protocol !== 'data:').map(String), [], 'nothing from elsewhere');
    assert.ok(!/<script(?![^>]*\bsrc=)[^>]*>\s*\S/i.test(page.body), 'no inline script');
    for (const url of sameOrigin) {
      const res = await server.client().get(url.pathname + url.search);
      assert.equal(res.status, 200, url.pathname);
      if (url.pathname.startsWith('/docs/static/')) {
        assert.deepEqual(directives(res.headers.get('content-security-policy')), DOCS_POLICY, url.pathname);
        assert.equal(res.headers.get('x-content-type-options'), 'nosniff', url.pathname);
      }
    }
    // The description the page loads (connect-src 'self').
    assert.equal((await server.client().get('/docs/json')).status, 200);
  });

  it('leaves the rest of the site on its own policies', async () => {
    const login = await server.client().get('/login', { headers: { accept: 'text/html' } });
    const page = directives(login.headers.get('content-security-policy'));
    assert.equal(page['default-src'], "'self'");
    assert.equal(page['form-action'], "'self'", 'the login form still posts');
    const api = await server.client().get('/healthz');
    assert.equal(directives(api.headers.get('content-security-policy'))['default-src'], "'none'");
    assert.equal(directives(api.headers.get('content-security-policy'))['form-action'], undefined);
  });
});
