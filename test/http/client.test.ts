/**
 * The typed client (`gatehouse-auth/client`, src/client) from Node, against a real server: cookie
 * mode (its cookie jar and the CSRF header) and bearer mode (the refresh on 401 invalid_token, one
 * refresh for concurrent requests, the rotated pair handed to onTokens, the request retried once).
 * The browser side is the web app's, exercised by the suites in test/e2e.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CookieJar, GatehouseApiError, createGatehouseClient, unwrap } from '../../src/client/index.js';
import type { GatehouseTokens } from '../../src/client/index.js';
import { fakeClock, GOOD_PASSWORD, signUpClient, startTestServer, uniqueName } from '../helpers/app.js';
import type { FakeClock, TestServer } from '../helpers/app.js';

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected the promise to reject');
}

/** A fetch that counts the requests to each path (and otherwise is fetch). */
function countingFetch(): { fetch: (request: Request) => Promise<Response>; count(path: string): number; reset(): void } {
  const counts = new Map<string, number>();
  return {
    fetch: (request) => {
      const path = new URL(request.url).pathname;
      counts.set(path, (counts.get(path) ?? 0) + 1);
      return fetch(request);
    },
    count: (path) => counts.get(path) ?? 0,
    reset: () => counts.clear(),
  };
}

describe('the typed client from Node', () => {
  let server: TestServer;
  let clock: FakeClock;
  before(async () => {
    clock = fakeClock();
    server = await startTestServer({}, { clock });
  });
  after(async () => server.close());

  describe('cookie mode', () => {
    it('keeps the session in its jar and sends the CSRF header on changes', async () => {
      const jar = new CookieJar();
      const client = createGatehouseClient({ mode: 'cookie', baseUrl: server.url, cookieJar: jar });
      const username = uniqueName('cookie');
      const signup = await client.POST('/signup', { body: { username, password: GOOD_PASSWORD } });
      assert.equal(signup.response.status, 201);
      assert.ok(jar.get('csrf_token'), 'the CSRF cookie is in the jar');

      const me = await unwrap(client.GET('/api/me'));
      assert.equal(me.username, username);
      const created = await unwrap(client.POST('/api/bucketlists', { body: { name: 'From Node' } }));
      assert.equal(created.name, 'From Node');
      const page = await unwrap(client.GET('/api/bucketlists', { params: { query: { q: 'node', limit: 5 } } }));
      assert.deepEqual(
        page.items.map((list) => list.id),
        [created.id],
      );

      // The same change without the header: the server's CSRF check refuses it.
      const csrf = jar.get('csrf_token') ?? '';
      jar.delete('csrf_token');
      const refused = await rejection(unwrap(client.POST('/api/bucketlists', { body: { name: 'No token' } })));
      assert.ok(refused instanceof GatehouseApiError);
      assert.deepEqual([refused.status, refused.code], [403, 'csrf_failed']);
      jar.set('csrf_token', csrf);

      await unwrap(client.DELETE('/logout'));
      assert.equal(jar.get('csrf_token'), undefined, 'logging out clears the cookies from the jar');
      const after = await rejection(unwrap(client.GET('/api/me')));
      assert.ok(after instanceof GatehouseApiError);
      assert.equal(after.status, 401);
    });

    it('turns the contract error into GatehouseApiError with its fields', async () => {
      const client = createGatehouseClient({ mode: 'cookie', baseUrl: server.url });
      const error = await rejection(unwrap(client.POST('/signup', { body: { username: 'x', password: GOOD_PASSWORD } })));
      assert.ok(error instanceof GatehouseApiError);
      assert.equal(error.status, 422);
      assert.equal(error.code, 'validation_failed');
      assert.ok(error.fields?.username, 'the field error is kept');
    });

    it('says so when there is no server to answer', async () => {
      const client = createGatehouseClient({ mode: 'cookie', baseUrl: 'http://127.0.0.1:1' });
      const error = await rejection(unwrap(client.GET('/api/me')));
      assert.ok(error instanceof GatehouseApiError);
      assert.deepEqual([error.status, error.code], [0, 'network_error']);
    });
  });

  describe('bearer mode', () => {
    let username: string;
    before(async () => {
      username = uniqueName('bearer');
      await signUpClient(server, username);
    });

    it('logs in, refreshes once when the access token expires, hands over the new pair and retries', async () => {
      const seen: Array<GatehouseTokens | null> = [];
      const counter = countingFetch();
      const client = createGatehouseClient({ mode: 'bearer', baseUrl: server.url, fetch: counter.fetch, onTokens: (tokens) => void seen.push(tokens) });
      const login = await unwrap(client.POST('/api/token', { body: { username, password: GOOD_PASSWORD } }));
      assert.ok('access_token' in login);
      assert.deepEqual(seen, [{ accessToken: login.access_token, refreshToken: login.refresh_token }], 'the login answer is taken and reported');
      assert.equal((await unwrap(client.GET('/api/me'))).username, username);

      clock.advance((server.config.accessTokenTtl + 60) * 1000);
      counter.reset();
      // Two requests with the expired token at once: both get 401 invalid_token, one refresh serves both.
      const [me, lists] = await Promise.all([unwrap(client.GET('/api/me')), unwrap(client.GET('/api/bucketlists'))]);
      assert.equal(me.username, username);
      assert.equal(lists.total, 0);
      assert.equal(counter.count('/api/token/refresh'), 1, 'one refresh for both');
      assert.equal(counter.count('/api/me'), 2, 'sent, refused, sent again');
      assert.equal(counter.count('/api/bucketlists'), 2);
      assert.equal(seen.length, 2, 'the rotated pair is reported once');
      const rotated = seen[1];
      assert.ok(rotated);
      assert.notEqual(rotated.accessToken, login.access_token);
      assert.notEqual(rotated.refreshToken, login.refresh_token, 'the refresh token rotates');
      assert.deepEqual(client.tokens(), rotated);

      // The new pair works for a change too (the body is sent again on the retry).
      clock.advance((server.config.accessTokenTtl + 60) * 1000);
      counter.reset();
      const created = await unwrap(client.POST('/api/bucketlists', { body: { name: 'Retried' } }));
      assert.equal(created.name, 'Retried');
      assert.deepEqual([counter.count('/api/token/refresh'), counter.count('/api/bucketlists')], [1, 2]);
      assert.equal(seen.length, 3);
    });

    it('starts from a saved refresh token alone', async () => {
      const login = await unwrap(createGatehouseClient({ mode: 'bearer', baseUrl: server.url }).POST('/api/token', { body: { username, password: GOOD_PASSWORD } }));
      assert.ok('refresh_token' in login);
      const seen: Array<GatehouseTokens | null> = [];
      const client = createGatehouseClient({ mode: 'bearer', baseUrl: server.url, refreshToken: login.refresh_token, onTokens: (tokens) => void seen.push(tokens) });
      assert.equal((await unwrap(client.GET('/api/me'))).username, username);
      assert.equal(seen.length, 1);
      assert.notEqual(seen[0]?.refreshToken, login.refresh_token);
    });

    it('reports the end of the login (null) when the refresh is refused, and answers the 401', async () => {
      const seen: Array<GatehouseTokens | null> = [];
      const client = createGatehouseClient({ mode: 'bearer', baseUrl: server.url, onTokens: (tokens) => void seen.push(tokens) });
      const login = await unwrap(client.POST('/api/token', { body: { username, password: GOOD_PASSWORD } }));
      assert.ok('refresh_token' in login);
      await unwrap(client.POST('/api/token/revoke', { body: { token: login.refresh_token } }));
      const error = await rejection(unwrap(client.GET('/api/me')));
      assert.ok(error instanceof GatehouseApiError);
      assert.deepEqual([error.status, error.code], [401, 'invalid_token']);
      assert.deepEqual(seen.slice(1), [null]);
      assert.equal(client.tokens(), null);
    });
  });
});

describe('the gatehouse-auth/client package export', () => {
  const EXPORTED = ['createGatehouseClient', 'unwrap', 'GatehouseApiError', 'CookieJar'];

  it('maps to the built client, which exports the same API', async () => {
    const resolved = import.meta.resolve('gatehouse-auth/client');
    assert.ok(resolved.endsWith('/dist/src/client/index.js'), resolved);
    assert.ok(existsSync(fileURLToPath(resolved)), 'build first (npm test does): dist/src/client/index.js is missing');
    assert.ok(existsSync(fileURLToPath(resolved).replace(/\.js$/, '.d.ts')), 'the types are built beside it');
    const built = (await import(resolved)) as Record<string, unknown>;
    for (const name of EXPORTED) assert.equal(typeof built[name], 'function', name);
  });

  it('runs in a browser too: it imports openapi-fetch and its own types, nothing of Node or the server', () => {
    for (const file of ['index.ts', 'openapi.ts']) {
      const source = readFileSync(new URL(`../../src/client/${file}`, import.meta.url), 'utf8');
      const specifiers = [...source.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]);
      for (const specifier of specifiers) assert.ok(specifier === 'openapi-fetch' || specifier === './openapi.js', `${file} imports ${specifier}`);
      assert.doesNotMatch(source, /\b(?:process|Buffer|require)\b[.(]/, `${file} uses a Node global`);
    }
  });

  it('exports every name docs/client.md imports', () => {
    const doc = readFileSync(new URL('../../docs/client.md', import.meta.url), 'utf8');
    const source = readFileSync(new URL('../../src/client/index.ts', import.meta.url), 'utf8');
    const imported = [...doc.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'gatehouse-auth\/client'/g)].flatMap((m) => (m[1] ?? '').split(',').map((name) => name.replace(/^\s*type\s+/, '').trim()).filter(Boolean));
    assert.ok(imported.length > 0, 'the page imports from gatehouse-auth/client');
    for (const name of imported) assert.match(source, new RegExp(`^export (?:async function|function|class|type|interface|const) ${name}\\b|^export type \\{[^}]*\\b${name}\\b`, 'm'), `docs/client.md imports ${name}`);
  });
});
