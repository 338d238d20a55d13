import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';

/**
 * Every route that answers without a session or bearer token, each with the reason. A new public
 * route fails this suite until it is added here on purpose: forgetting a guard breaks the build.
 */
const PUBLIC_ROUTES: Record<string, string> = {
  'GET /healthz': 'liveness probe',
  'GET /readyz': 'readiness probe',
  'POST /signup': 'creating an account (Origin rule + rate limit)',
  'POST /login': 'logging in (Origin rule + rate limit)',
  'DELETE /logout': 'ends the cookie session itself (CSRF checked there)',
  'GET /logout': 'ends the cookie session itself (from another site: a confirmation page, nothing ended)',
  'POST /logout': "the logout page's form: ends the cookie session itself (Origin rule; CSRF checked there)",
  'GET /check_session': 'answers 204 without a session',
  'POST /api/token': 'trading credentials for tokens',
  'POST /api/token/refresh': 'the refresh token is the credential',
  'POST /api/token/revoke': 'RFC 7009: the token is the credential',
  'GET /.well-known/jwks.json': 'public keys for verifying access tokens',
  'GET /metrics': 'its own METRICS_TOKEN check',
  'GET /login': 'the login page',
  'GET /signup': 'the signup page',
  'GET /password/forgot': 'the forgot-password form',
  'GET /account/two-step': 'the no-JavaScript two-step page: checks the session itself (303 to /login without one)',
  'GET /login/mfa': "the form login's second step (303 to /login without one under way)",
  'POST /login/mfa': "a login's second step: the mfa_token is the credential (Origin rule + rate limit)",
  'POST /login/passkey/options': 'starting a passkey sign-in before any session: a fresh single-use challenge (Origin rule + rate limit)',
  'POST /login/passkey': 'a passkey sign-in: the signed assertion is the credential (Origin rule + rate limit)',
  'GET /login-passkey.js': "the login page's passkey button script",
  'POST /api/token/mfa': "a token login's second step: the mfa_token is the credential (rate limit)",
  'POST /password/forgot': 'asking for a reset link before any session (Origin rule + rate limit; the same answer for every address)',
  'GET /password/reset': 'the page of a reset link: checks the token itself, acts on nothing',
  'POST /password/reset': 'a new password with a mailed token (Origin rule + rate limit; the token is the credential)',
  'GET /verify-email': 'the page of a verification link: checks the token itself, acts on nothing',
  'POST /email/verify': 'verifying an address with a mailed token (Origin rule + rate limit; the token is the credential)',
  'GET /email/confirm': 'the page of an email-change link: checks the token itself, acts on nothing',
  'POST /email/confirm': 'confirming an email change with a mailed token (Origin rule + rate limit; the token is the credential)',
  'GET /auth.css': 'stylesheet of the login and signup pages',
  'GET /': 'checks the session itself: 303 to /login without one',
  'GET /bucketlists': 'web app route: same session check as /',
  'GET /bucketlists/:id': 'web app route: same session check as /',
  'GET /account': 'web app route: same session check as /',
  'GET /admin': 'web app route (the admin console): same session check as /; 404 to non-admins, and its API is admin-only',
  'GET /admin/users': 'web app route (the admin console): as /admin',
  'GET /admin/users/:id': 'web app route (the admin console): as /admin',
  'GET /admin/audit': 'web app route (the admin console): as /admin',
  'GET /admin/apps': 'web app route (the admin console): as /admin',
  'GET /assets/*': "the web app's static build",
  'OPTIONS *': 'CORS preflight (only with CORS_ORIGINS); carries no credentials by design',
  'GET /openapi.json': 'the API description',
  'GET /api/authz/forward-auth': "forward authentication for Traefik and Caddy: reads the session cookie or bearer token itself (a signed-out answer is its own 302 or 401); 403 for a host outside FORWARD_AUTH_HOSTS",
  'GET /api/authz/auth-request': 'forward authentication for nginx auth_request: reads the session cookie or bearer token itself (a signed-out answer is its own 401 with X-Gatehouse-Redirect); 403 for a host outside FORWARD_AUTH_HOSTS',
  'GET /docs': 'API reference page',
  'GET /docs/': 'API reference page',
  'GET /docs/json': 'the API description, for the reference page',
  'GET /docs/yaml': 'the API description as YAML',
  'GET /docs/static/*': 'the reference page assets',
  'GET /docs/static/index.html': 'redirects to /docs/',
  'GET /docs/static/swagger-initializer.js': "the reference page's script",
  'GET /.well-known/openid-configuration': 'OpenID Connect discovery: public metadata (OIDC_ENABLED)',
  'OPTIONS /.well-known/openid-configuration': 'CORS preflight of OpenID Connect discovery; carries no credentials',
  'GET /oidc/*': "the OpenID Connect provider (oidc-provider): its endpoints check their own credentials (the client's, the access token, the Gatehouse session at authorization)",
  'POST /oidc/*': 'the OpenID Connect provider: the token, revocation and userinfo endpoints authenticate the client or the token themselves',
  'OPTIONS /oidc/*': "CORS preflight of the provider's endpoints (allowed for a client's own redirect origins only)",
  'GET /oidc/interaction/:uid': 'an OpenID Connect sign-in page: the login form without a session, consent with one (the interaction cookie ties it to the request)',
  'POST /oidc/interaction/:uid/login': 'signing in to continue to an app, as POST /login (Origin rule + rate limit)',
  'POST /oidc/interaction/:uid/mfa': "that sign-in's second step, as POST /login/mfa: the mfa_token is the credential (Origin rule + rate limit)",
  'POST /oidc/interaction/:uid/consent': 'consent: acts only on a live session (Origin rule; CSRF checked there)',
  'POST /oidc/logout': "an app's logout confirmation: ends the session only with the CSRF token (Origin rule), else shows the page again",
};

interface RouteEntry {
  method: string;
  url: string;
  access: string;
}

/** HEAD routes are Fastify's automatic twins of GET routes and share their access. */
function key(route: RouteEntry): string {
  return `${route.method === 'HEAD' ? 'GET' : route.method} ${route.url}`;
}

function concretePath(url: string): string {
  return url.replace(/:[a-z_]+/g, '1').replace(/\*$/, 'x');
}

describe('lock-down of the route table', () => {
  let server: TestServer;
  let routes: RouteEntry[];
  before(async () => {
    // Optional features on, so the routes they add are in the table too.
    server = await startTestServer({ CORS_ORIGINS: 'https://client.example', METRICS_TOKEN: 'metrics-token-for-the-lockdown-test' });
    routes = server.app.routeTable.flatMap((route) =>
      [route.method].flat().map((method) => ({ method, url: route.url, access: route.config?.access ?? 'user' })),
    );
  });
  after(async () => server.close());

  it('sees the whole table', () => {
    const keys = new Set(routes.map(key));
    for (const expected of ['POST /signup', 'GET /api/me', 'GET /api/bucketlists', 'DELETE /api/bucketlists/:id/items/:item_id', 'PATCH /api/admin/users/:id', 'GET /docs/json']) {
      assert.ok(keys.has(expected), `${expected} is in the route table`);
    }
    assert.ok(routes.length > 40, `${routes.length} routes`);
  });

  it('has no public route that is not on the allow-list', () => {
    const unexpected = routes.filter((route) => route.access === 'public' && !(key(route) in PUBLIC_ROUTES));
    assert.deepEqual(
      unexpected.map(key),
      [],
      'public routes missing from PUBLIC_ROUTES (add them with a reason, or guard them)',
    );
  });

  it('keeps every /api route but the token endpoints and forward authentication behind authentication', () => {
    const publicApi = routes.filter((route) => route.url.startsWith('/api/') && route.access === 'public').map(key);
    assert.deepEqual([...new Set(publicApi)].sort(), ['GET /api/authz/auth-request', 'GET /api/authz/forward-auth', 'POST /api/token', 'POST /api/token/mfa', 'POST /api/token/refresh', 'POST /api/token/revoke']);
  });

  it('requires the admin role on every /api/admin route', () => {
    const adminRoutes = routes.filter((route) => route.url.startsWith('/api/admin'));
    assert.ok(adminRoutes.length >= 3);
    for (const route of adminRoutes) assert.equal(route.access, 'admin', key(route));
  });

  it('answers 401 JSON to every guarded /api route called without credentials', async () => {
    const guarded = routes.filter((route) => route.url.startsWith('/api/') && route.access !== 'public');
    assert.ok(guarded.length >= 15, `${guarded.length} guarded routes`);
    const client = server.client();
    for (const route of guarded) {
      const label = `${route.method} ${route.url}`;
      const res = await client.request<{ error: { code: string } }>(route.method, concretePath(route.url));
      assert.equal(res.status, 401, label);
      if (route.method === 'HEAD') continue;
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/, label);
      assert.equal(res.body.error.code, 'unauthenticated', label);
    }
  });

  it('answers 401 invalid_token to every guarded /api route called with a bad bearer token', async () => {
    const guarded = routes.filter((route) => route.url.startsWith('/api/') && route.access !== 'public' && route.method !== 'HEAD');
    const client = server.client();
    for (const route of guarded) {
      const label = `${route.method} ${route.url}`;
      const res = await client.request<{ error: { code: string } }>(route.method, concretePath(route.url), { headers: { authorization: 'Bearer not.a.token' } });
      assert.equal(res.status, 401, label);
      assert.equal(res.body.error.code, 'invalid_token', label);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token"/, label);
    }
  });
});
