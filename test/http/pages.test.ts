import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { createServices, openStorage } from '../../src/composition.js';
import type { Services } from '../../src/composition.js';
import { createLoggers } from '../../src/server/logging.js';
import { buildApp } from '../../src/server/app.js';
import type { GatehouseApp } from '../../src/server/app.js';
import type { Storage } from '../../src/storage/database.js';
import { GOOD_PASSWORD, TEST_OUTPUT, uniqueName } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/database.js';
import { TestClient } from '../helpers/http.js';

/**
 * The server side of the web UI: which paths serve the app, redirects without a session, the
 * greeting in the HTML, the bootstrap data, hashed assets and their caching, the 404 page, and
 * what happens without a web build. A small stand-in build keeps this independent of `vite build`;
 * test/e2e drives the real one in a browser.
 */

const INDEX_HTML = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Gatehouse</title>
<script type="module" crossorigin src="/assets/index-T3st0001.js"></script>
<link rel="stylesheet" crossorigin href="/assets/index-T3st0002.css"></head>
<body><div id="root"><!--gatehouse:app--></div>
<!--gatehouse:data--></body>
</html>`;

interface PageServer {
  url: string;
  app: GatehouseApp;
  services: Services;
  client(): TestClient;
  close(): Promise<void>;
}

/** Like startTestServer (same database choice: SQLite file, or a fresh PostgreSQL database), with a chosen web build. */
async function startPageServer(webDistDir: string): Promise<PageServer> {
  const database = await createTestDatabase(process.env.TEST_DATABASE_URL, TEST_OUTPUT);
  const config = loadConfig({ NODE_ENV: 'test', BCRYPT_COST: '4', DATABASE_URL: database.url, PORT: '0', LOG_LEVEL: 'silent' });
  const storage: Storage = await openStorage(config);
  const services = createServices(config, { storage, log: createLoggers(config).log });
  const app = await buildApp(config, services, { webDistDir });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    url,
    app,
    services,
    client: () => new TestClient(url),
    async close() {
      await app.close();
      await storage.close();
      await database.drop();
    },
  };
}

async function signedIn(server: PageServer, username = uniqueName('Page')): Promise<TestClient> {
  const client = server.client();
  const res = await client.post('/signup', { username, password: GOOD_PASSWORD });
  assert.equal(res.status, 201, res.text);
  return client;
}

const HTML = { accept: 'text/html,application/xhtml+xml' };

function bootstrapData(html: string): { user: Record<string, unknown> } {
  const match = /<script type="application\/json" id="gatehouse-data">([^<]*)<\/script>/.exec(html);
  assert.ok(match?.[1], 'the page carries the bootstrap JSON');
  return JSON.parse(match[1]) as { user: Record<string, unknown> };
}

describe('web app pages', () => {
  const dist = join(TEST_OUTPUT, `web-dist-${randomUUID()}`);
  let server: PageServer;

  before(async () => {
    mkdirSync(join(dist, 'assets'), { recursive: true });
    writeFileSync(join(dist, 'index.html'), INDEX_HTML);
    writeFileSync(join(dist, 'assets', 'index-T3st0001.js'), 'console.log("app");\n');
    writeFileSync(join(dist, 'assets', 'index-T3st0002.css'), 'body { margin: 0; }\n');
    server = await startPageServer(dist);
  });
  after(async () => {
    await server.close();
    rmSync(dist, { recursive: true, force: true });
  });

  it('sends visitors without a session to the login page, keeping where they were going', async () => {
    const anonymous = server.client();
    const cases: Array<[string, string]> = [
      ['/', '/login'],
      ['/bucketlists', '/login?next=%2Fbucketlists'],
      ['/bucketlists?q=trip&page=2', '/login?next=%2Fbucketlists%3Fq%3Dtrip%26page%3D2'],
      ['/bucketlists/7', '/login?next=%2Fbucketlists%2F7'],
      ['/account', '/login?next=%2Faccount'],
    ];
    for (const [path, location] of cases) {
      const res = await anonymous.get(path, { headers: HTML });
      assert.equal(res.status, 303, path);
      assert.equal(res.headers.get('location'), location, path);
    }
  });

  it('serves the app with the greeting written into the HTML, not cached', async () => {
    const username = uniqueName('Greeted');
    const client = await signedIn(server, username);
    const res = await client.get<string>('/', { headers: HTML });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const root = /<div id="root">([\s\S]*?)<\/main><\/div>/.exec(res.body)?.[1] ?? '';
    assert.ok(root.includes(`<h1 tabindex="-1">Welcome, ${username}!</h1>`), 'the greeting is inside the app root');
    assert.ok(res.body.includes(`Signed in as <strong>${username}</strong>`));
    assert.match(res.body, /<title>Home · Gatehouse<\/title>/);
    const data = bootstrapData(res.body);
    assert.equal(data.user.username, username);
    assert.deepEqual(Object.keys(data.user).sort(), ['created_at', 'email', 'email_verified', 'id', 'role', 'username']);
    assert.ok(!res.body.includes('<!--gatehouse:'), 'every placeholder is filled');
  });

  it('sends a CSP without inline scripts, and the page has none that could run', async () => {
    const client = await signedIn(server);
    const res = await client.get<string>('/bucketlists', { headers: HTML });
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy') ?? '';
    const scriptSrc = /script-src ([^;]*)/.exec(csp)?.[1] ?? /default-src ([^;]*)/.exec(csp)?.[1];
    assert.equal(scriptSrc, "'self'");
    assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'), csp);
    const scripts = [...res.body.matchAll(/<script\b([^>]*)>/g)].map((m) => m[1] ?? '');
    assert.ok(scripts.length >= 2);
    for (const attributes of scripts) {
      assert.ok(/\bsrc="\/assets\//.test(attributes) || /type="application\/json"/.test(attributes), `inline executable script: ${attributes}`);
    }
  });

  it('keeps the Origin header on same-origin posts: Referrer-Policy same-origin, not no-referrer', async () => {
    // Under helmet's default `no-referrer`, Chromium sends `Origin: null` on a same-origin form
    // post or fetch, and the Origin rule refused every login through the form (found by test/e2e).
    for (const path of ['/login', '/']) {
      const res = await server.client().get(path, { headers: HTML });
      assert.equal(res.headers.get('referrer-policy'), 'same-origin', path);
    }
  });

  it('serves every client route of the app, each with its own title', async () => {
    const client = await signedIn(server);
    for (const [path, title] of [
      ['/bucketlists', 'Bucketlists'],
      ['/bucketlists?page=3&q=x', 'Bucketlists'],
      ['/bucketlists/1', 'Bucketlist'],
      ['/bucketlists/2147483647', 'Bucketlist'],
      ['/account', 'Account'],
    ] as const) {
      const res = await client.get<string>(path, { headers: HTML });
      assert.equal(res.status, 200, path);
      assert.ok(res.body.includes(`<title>${title} · Gatehouse</title>`), path);
      assert.ok(res.body.includes('<main id="main"'), path);
    }
  });

  it("serves the admin console's pages to admins, and its not-found page with 404 to everyone else", async () => {
    const username = uniqueName('PageAdmin');
    await server.services.accounts.signUp({ username, password: GOOD_PASSWORD }, { ip: null, userAgent: null }, 'admin', { byOperator: true });
    const admin = server.client();
    assert.equal((await admin.post('/login', { username, password: GOOD_PASSWORD })).status, 200);
    const user = await signedIn(server);
    for (const path of ['/admin', '/admin/users', '/admin/users/1', '/admin/audit', '/admin/apps']) {
      const asAdmin = await admin.get<string>(path, { headers: HTML });
      assert.equal(asAdmin.status, 200, path);
      const asUser = await user.get<string>(path, { headers: HTML });
      assert.equal(asUser.status, 404, path);
      assert.match(asUser.headers.get('content-type') ?? '', /^text\/html/, path);
    }
  });

  it('answers the 404 page for any other HTML path, signed in or not', async () => {
    const client = await signedIn(server);
    const anonymous = server.client();
    for (const path of ['/nope', '/bucketlists/abc', '/bucketlists/0', '/bucketlists/01', '/bucketlists/2147483648', '/bucketlists/1/items', '/bucketlists/', '/home', '/account/', '/account/sessions']) {
      for (const who of [client, anonymous]) {
        const res = await who.get<string>(path, { headers: HTML });
        assert.equal(res.status, 404, path);
        assert.match(res.headers.get('content-type') ?? '', /^text\/html/, path);
        assert.ok(res.body.includes('<h1>Page not found</h1>'), path);
        assert.ok(!res.body.includes('gatehouse-data'), `${path}: no user data on the 404 page`);
      }
    }
    const json = await anonymous.get<{ error: { code: string } }>('/nope', { headers: { accept: 'application/json' } });
    assert.equal(json.status, 404);
    assert.equal(json.body.error.code, 'not_found');
  });

  it('serves the app to a bearer token, and a bad bearer token is not rescued by the cookie', async () => {
    const username = uniqueName('Bearer');
    const client = await signedIn(server, username);
    const token = await server.client().post<{ access_token: string }>('/api/token', { username, password: GOOD_PASSWORD });
    assert.equal(token.status, 200, token.text);
    const bearer = await server.client().get<string>('/', { headers: { ...HTML, authorization: `Bearer ${token.body.access_token}` } });
    assert.equal(bearer.status, 200);
    assert.ok(bearer.body.includes(`Welcome, ${username}!`));
    const bad = await client.get('/', { headers: { ...HTML, authorization: 'Bearer not-a-token' } });
    assert.equal(bad.status, 303);
    assert.equal(bad.headers.get('location'), '/login');
  });

  it('serves hashed assets for a year, immutable, to anyone', async () => {
    const anonymous = server.client();
    const js = await anonymous.get<string>('/assets/index-T3st0001.js');
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    const css = await anonymous.get('/assets/index-T3st0002.css');
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
    assert.equal(css.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    const missing = await anonymous.get<{ error: { code: string } }>('/assets/index-missing.js');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'not_found');
    const escape = await anonymous.get('/assets/..%2findex.html');
    assert.ok(escape.status === 404 || escape.status === 403, `path traversal refused (${escape.status})`);
  });

  it('after logout the app redirects to the login page again', async () => {
    const client = await signedIn(server);
    assert.equal((await client.get('/', { headers: HTML })).status, 200);
    assert.equal((await client.send('DELETE', '/logout')).status, 204);
    const res = await client.get('/', { headers: HTML });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/login');
  });
});

describe('auth pages', () => {
  const dist = join(TEST_OUTPUT, `web-dist-${randomUUID()}`);
  let server: PageServer;
  before(async () => {
    mkdirSync(join(dist, 'assets'), { recursive: true });
    writeFileSync(join(dist, 'index.html'), INDEX_HTML);
    server = await startPageServer(dist);
  });
  after(async () => {
    await server.close();
    rmSync(dist, { recursive: true, force: true });
  });

  /** The login page, its CSRF field, and the client that holds the matching cookie. */
  async function form(path: string): Promise<{ client: TestClient; html: string; csrf: string }> {
    const client = server.client();
    const res = await client.get<string>(path, { headers: HTML });
    assert.equal(res.status, 200, path);
    const csrf = /name="csrf_token" value="([^"]+)"/.exec(res.body)?.[1] ?? '';
    assert.equal(csrf, client.csrf, 'the form carries the csrf_token cookie');
    return { client, html: res.body, csrf };
  }

  it('renders labelled fields with the autocomplete password managers need', async () => {
    const login = (await form('/login')).html;
    assert.match(login, /<label for="field-username">Username or email/);
    assert.match(login, /id="field-username" name="username" type="text" autocomplete="username"/);
    assert.match(login, /id="field-password" name="password" type="password" autocomplete="current-password"/);
    assert.match(login, /<form method="post" action="\/login"/);
    const signup = (await form('/signup')).html;
    assert.match(signup, /id="field-username" name="username" type="text" autocomplete="username"[^>]*aria-describedby="field-username-hint"/);
    assert.match(signup, /id="field-email" name="email" type="email" autocomplete="email"/);
    assert.match(signup, /id="field-password" name="password" type="password" autocomplete="new-password"/);
    assert.match(signup, /id="field-password_confirmation" name="password_confirmation" type="password" autocomplete="new-password"/);
    assert.ok(!/<script/i.test(signup), 'the signup page needs no script');
    // The login form works without one; its only script is the passkey button's, from our origin.
    assert.deepEqual(login.match(/<script[^>]*>/gi), ['<script type="module" src="/login-passkey.js">']);
  });

  it('keeps a safe next path and drops one that leaves the site', async () => {
    const kept = (await form('/login?next=%2Fbucketlists%3Fpage%3D2')).html;
    assert.ok(kept.includes('action="/login?next=%2Fbucketlists%3Fpage%3D2"'));
    assert.ok(kept.includes('<input type="hidden" name="next" value="/bucketlists?page=2">'));
    assert.ok(kept.includes('href="/signup?next=%2Fbucketlists%3Fpage%3D2"'), 'the link to sign up keeps it too');
    for (const evil of ['//evil.example/x', 'https://evil.example/', '/\\evil.example']) {
      const html = (await form(`/login?next=${encodeURIComponent(evil)}`)).html;
      assert.ok(!html.includes('evil.example'), evil);
    }
  });

  it('logs in through the form: 303 to the next path with the session cookie', async () => {
    const username = uniqueName('Former');
    await server.client().post('/signup', { username, password: GOOD_PASSWORD });
    const { client, csrf } = await form('/login?next=%2Fbucketlists');
    const res = await client.request('POST', '/login?next=%2Fbucketlists', {
      form: { csrf_token: csrf, next: '/bucketlists', username, password: GOOD_PASSWORD },
      headers: { origin: server.url },
    });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/bucketlists');
    const app = await client.get<string>('/bucketlists', { headers: HTML });
    assert.equal(app.status, 200);
    const evil = await form('/login');
    const away = await evil.client.request('POST', '/login', { form: { csrf_token: evil.csrf, next: '//evil.example', username, password: GOOD_PASSWORD } });
    assert.equal(away.status, 303);
    assert.equal(away.headers.get('location'), '/');
    // A failed post with a foreign next does not echo it into the form again.
    const again = await form('/login');
    const failed = await again.client.request<string>('POST', '/login', { form: { csrf_token: again.csrf, next: 'https://evil.example/', username, password: 'wrong password here' } });
    assert.equal(failed.status, 401);
    assert.ok(!failed.body.includes('evil.example'));
  });

  it('shows a wrong password with status 401, the username kept and the password never echoed', async () => {
    const username = uniqueName('Wrong');
    await server.client().post('/signup', { username, password: GOOD_PASSWORD });
    const { client, csrf } = await form('/login');
    const secret = 'not-my-password-42';
    const res = await client.request<string>('POST', '/login', { form: { csrf_token: csrf, username, password: secret } });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(res.body, /<title>Error: Log in · Gatehouse<\/title>/);
    assert.match(res.body, /class="error-summary" role="alert"[^>]*autofocus/);
    assert.ok(res.body.includes('Invalid username or password.'));
    assert.ok(res.body.includes(`value="${username}"`));
    assert.ok(!res.body.includes(secret));
    assert.ok(/name="csrf_token" value="[^"]+"/.test(res.body), 'the form can be sent again');
  });

  it('shows field errors next to their fields and in the summary (422), and a taken username (409)', async () => {
    const username = uniqueName('Fields');
    let page = await form('/signup');
    const mismatch = await page.client.request<string>('POST', '/signup', {
      form: { csrf_token: page.csrf, username, email: '', password: GOOD_PASSWORD, password_confirmation: 'something else entirely' },
    });
    assert.equal(mismatch.status, 422);
    assert.match(mismatch.body, /<p class="field-error" id="field-password_confirmation-error">/);
    assert.match(mismatch.body, /id="field-password_confirmation"[^>]*aria-invalid="true"[^>]*aria-describedby="field-password_confirmation-error"/);
    assert.match(mismatch.body, /<li><a href="#field-password_confirmation">[^<]+<\/a><\/li>/);
    assert.ok(mismatch.body.includes(`value="${username}"`));
    assert.ok(!mismatch.body.includes(GOOD_PASSWORD), 'no password echoed');

    page = await form('/signup');
    const created = await page.client.request('POST', '/signup', { form: { csrf_token: page.csrf, username, password: GOOD_PASSWORD, password_confirmation: GOOD_PASSWORD } });
    assert.equal(created.status, 303);
    assert.equal(created.headers.get('location'), '/');

    page = await form('/signup');
    const taken = await page.client.request<string>('POST', '/signup', {
      form: { csrf_token: page.csrf, username: username.toUpperCase(), password: GOOD_PASSWORD, password_confirmation: GOOD_PASSWORD },
    });
    assert.equal(taken.status, 409);
    assert.ok(taken.body.includes('There is a problem'));
    assert.ok(taken.body.includes(`value="${username.toUpperCase()}"`));
  });

  it('says why the person is back on the login page after their session ended', async () => {
    const { html } = await form('/login?expired=1&next=%2Fbucketlists%2F3');
    assert.match(html, /<p class="notice" role="status">Your session has ended\. Please log in again\.<\/p>/);
    assert.ok(html.includes('name="next" value="/bucketlists/3"'));
    const plain = (await form('/login')).html;
    assert.ok(!plain.includes('class="notice"'));
  });

  it('sends a signed-in visitor on from the login page', async () => {
    const client = await signedIn(server);
    const res = await client.get('/login?next=%2Fbucketlists', { headers: HTML });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/bucketlists');
  });
});

describe('without a web build', () => {
  const dist = join(TEST_OUTPUT, `web-dist-missing-${randomUUID()}`);
  let server: PageServer;
  before(async () => {
    server = await startPageServer(dist);
  });
  after(async () => server.close());

  it('starts, keeps the API and the auth pages working, and explains the missing build', async () => {
    const client = await signedIn(server);
    const res = await client.get<string>('/', { headers: HTML });
    assert.equal(res.status, 503);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.ok(res.body.includes('The web app is not built'));
    assert.ok(res.body.includes('npm run build'));
    assert.equal((await client.get('/api/me')).status, 200);
    assert.equal((await server.client().get('/login', { headers: HTML })).status, 200);
    assert.equal((await server.client().get('/', { headers: HTML })).status, 303, 'no session still goes to login first');
  });

  it('picks the build up once it appears, without a restart', async () => {
    const client = await signedIn(server);
    mkdirSync(dist, { recursive: true });
    writeFileSync(join(dist, 'index.html'), INDEX_HTML);
    try {
      const res = await client.get<string>('/', { headers: HTML });
      assert.equal(res.status, 200);
      assert.ok(res.body.includes('Welcome, '));
    } finally {
      rmSync(dist, { recursive: true, force: true });
    }
  });
});
