import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import type { JsonWebKey } from 'node:crypto';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { SignJWT, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, generateKeyPair, jwtVerify } from 'jose';
import type { CryptoKey, JWK, JWTPayload } from 'jose';
import { createServices } from '../../src/composition.js';
import type { Services } from '../../src/composition.js';
import { buildApp } from '../../src/server/app.js';
import { createLoggers } from '../../src/server/logging.js';
import type { GatehouseApp } from '../../src/server/app.js';
import { principal } from '../../src/server/plugins/auth.js';
import { KeyVault, PUBLISH_BEFORE_SIGNING_SECONDS, rotateSigningKey } from '../../src/tokens/keys.js';
import { fakeClock, GOOD_PASSWORD, signUpClient, startTestServer, uniqueName } from '../helpers/app.js';
import type { FakeClock, TestServer } from '../helpers/app.js';
import { TestClient } from '../helpers/http.js';
import type { TestResponse } from '../helpers/http.js';

interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
}
interface ErrorBody {
  error: { code: string; message: string; fields?: Record<string, string> };
}
interface UserBody {
  id: number | string;
  username: string;
  role: string;
}

/** The access-token claims Gatehouse issues. */
interface Claims extends JWTPayload {
  sub: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  iss: string;
}

const execFileAsync = promisify(execFile);

/** An external client: no cookie jar is ever used. */
function api(server: { url: string }): TestClient {
  return new TestClient(server.url);
}

async function newUser(server: TestServer): Promise<{ id: number; username: string }> {
  return (await signUpClient(server, uniqueName('tok'))).user;
}

async function login(server: { url: string }, username: string, password = GOOD_PASSWORD): Promise<TestResponse<TokenPair & ErrorBody>> {
  return api(server).post<TokenPair & ErrorBody>('/api/token', { username, password }, { anonymous: true });
}

async function tokensFor(server: { url: string }, username: string): Promise<TokenPair> {
  const res = await login(server, username);
  assert.equal(res.status, 200, res.text);
  return res.body;
}

async function me(server: { url: string }, accessToken: string): Promise<TestResponse<UserBody & ErrorBody>> {
  return api(server).get<UserBody & ErrorBody>('/api/me', { headers: { authorization: `Bearer ${accessToken}` }, anonymous: true });
}

async function refresh(server: { url: string }, refreshToken: unknown): Promise<TestResponse<TokenPair & ErrorBody>> {
  return api(server).post<TokenPair & ErrorBody>('/api/token/refresh', { refresh_token: refreshToken }, { anonymous: true });
}

async function revoke(server: { url: string }, token: string): Promise<TestResponse<ErrorBody>> {
  return api(server).post<ErrorBody>('/api/token/revoke', { token }, { anonymous: true });
}

function assertInvalidToken(res: TestResponse<unknown>, why: string): void {
  assert.equal(res.status, 401, `${why}: ${res.text}`);
  assert.equal((res.body as ErrorBody).error.code, 'invalid_token', why);
  assert.equal(res.headers.get('www-authenticate'), 'Bearer error="invalid_token"', why);
}

function claimsOf(token: string): Claims {
  return decodeJwt(token) as Claims;
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Sign a token with one of the server's own keys (or any key), to probe the checks beyond the signature. */
async function sign(claims: JWTPayload, key: CryptoKey | Uint8Array, header: { alg: string; kid: string; typ?: string }): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ typ: 'at+jwt', ...header }).sign(key);
}

async function jwks(server: { url: string }): Promise<TestResponse<{ keys: JWK[] }>> {
  return api(server).get<{ keys: JWK[] }>('/.well-known/jwks.json', { anonymous: true });
}

/** A second Gatehouse instance on the same database: shared keys and rows, its own caches and no shared bus (no Redis). */
async function secondInstance(server: TestServer, clock: () => number, extend?: (app: GatehouseApp) => void): Promise<{ app: GatehouseApp; services: Services; url: string }> {
  const services = createServices(server.config, { storage: server.storage, clock, log: createLoggers(server.config).log });
  const app = await buildApp(server.config, services);
  extend?.(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  return { app, services, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
}

describe('tokens for external clients', () => {
  let server: TestServer;
  let clock: FakeClock;
  before(async () => {
    clock = fakeClock();
    server = await startTestServer({ PUBLIC_URL: 'http://gatehouse.test:8080/', RATE_LIMIT_PER_IP: '100000' }, { clock });
  });
  after(async () => server.close());

  it('POST /api/token answers with the pair, no cookie and no caching', async () => {
    const user = await newUser(server);
    const res = await login(server, user.username);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(Object.keys(res.body).sort(), ['access_token', 'expires_in', 'refresh_token', 'token_type']);
    assert.equal(res.body.token_type, 'Bearer');
    assert.equal(res.body.expires_in, 900);
    assert.equal(res.setCookies.length, 0, 'external clients never get a cookie');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.match(res.body.refresh_token, /^[A-Za-z0-9_-]{43,}$/, 'opaque, at least 256 bits');
    assert.equal(res.body.refresh_token.split('.').length, 1, 'the refresh token is not a JWT');
  });

  it('access tokens carry sub, iat, exp, iss without a trailing slash, jti and sid, signed EdDSA with a kid', async () => {
    const user = await newUser(server);
    const issuedAt = Math.floor(clock() / 1000);
    const first = await tokensFor(server, user.username);
    const second = await tokensFor(server, user.username);

    const header = decodeProtectedHeader(first.access_token);
    assert.equal(header.alg, 'EdDSA');
    assert.equal(header.typ, 'at+jwt');
    assert.equal(typeof header.kid, 'string');
    const published = (await jwks(server)).body.keys.map((k) => k.kid);
    assert.ok(published.includes(header.kid), 'the kid is one the JWKS publishes');

    const claims = claimsOf(first.access_token);
    assert.equal(claims.sub, String(user.id));
    assert.equal(typeof claims.sub, 'string');
    assert.equal(claims.iss, 'http://gatehouse.test:8080');
    assert.equal(claims.iat, issuedAt);
    assert.equal(claims.exp, issuedAt + 900);
    assert.equal(claims.aud, undefined, 'no aud unless ACCESS_TOKEN_AUDIENCE is set');
    assert.match(claims.jti, /^[0-9a-f-]{36}$/);
    assert.equal(typeof claims.sid, 'string');
    const other = claimsOf(second.access_token);
    assert.notEqual(other.jti, claims.jti);
    assert.notEqual(other.sid, claims.sid, 'each login is its own sid');
  });

  it('stores refresh tokens only as SHA-256 hashes', async () => {
    const user = await newUser(server);
    const pair = await tokensFor(server, user.username);
    const rows = await server.services.db.selectFrom('refresh_tokens').selectAll().execute();
    const hash = createHash('sha256').update(pair.refresh_token).digest('hex');
    assert.ok(rows.some((row) => row.token_hash === hash));
    assert.ok(!JSON.stringify(rows).includes(pair.refresh_token));
  });

  it('a bearer token authenticates /api/me without any cookie', async () => {
    const user = await newUser(server);
    const pair = await tokensFor(server, user.username);
    const res = await me(server, pair.access_token);
    assert.equal(res.status, 200, res.text);
    assert.equal(String(res.body.id), String(user.id));
    assert.equal(res.body.username, user.username);
    const lower = await api(server).get('/api/me', { headers: { authorization: `bearer ${pair.access_token}` }, anonymous: true });
    assert.equal(lower.status, 200, 'the scheme name is case-insensitive');
  });

  it('an expired access token is 401 invalid_token with WWW-Authenticate', async () => {
    const user = await newUser(server);
    const pair = await tokensFor(server, user.username);
    const { exp } = claimsOf(pair.access_token);
    clock.set((exp - 1) * 1000);
    assert.equal((await me(server, pair.access_token)).status, 200, 'still valid just before exp');
    clock.set((exp + 6) * 1000);
    assertInvalidToken(await me(server, pair.access_token), 'past exp and the 5 s tolerance');
  });

  it('refresh returns a new working pair of the same login; the old access token keeps working until exp', async () => {
    const user = await newUser(server);
    const pair = await tokensFor(server, user.username);
    const res = await refresh(server, pair.refresh_token);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(Object.keys(res.body).sort(), ['access_token', 'expires_in', 'refresh_token', 'token_type']);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.notEqual(res.body.refresh_token, pair.refresh_token);
    assert.notEqual(res.body.access_token, pair.access_token);
    assert.equal(claimsOf(res.body.access_token).sid, claimsOf(pair.access_token).sid);
    assert.equal((await me(server, res.body.access_token)).status, 200);
    assert.equal((await me(server, pair.access_token)).status, 200);
    assert.equal((await refresh(server, res.body.refresh_token)).status, 200, 'the new refresh token works');
  });

  it('a spent refresh token still works within the grace window and the family lives', async () => {
    const user = await newUser(server);
    const pair = await tokensFor(server, user.username);
    const first = await refresh(server, pair.refresh_token);
    clock.advance(9_000);
    const again = await refresh(server, pair.refresh_token);
    assert.equal(again.status, 200, again.text);
    assert.equal(claimsOf(again.body.access_token).sid, claimsOf(pair.access_token).sid, 'a pair of the same login');
    for (const p of [first.body, again.body]) {
      assert.equal((await me(server, p.access_token)).status, 200);
      assert.equal((await refresh(server, p.refresh_token)).status, 200);
    }
  });

  it('20 concurrent refreshes of one token all succeed, every pair works and the family lives', async () => {
    const user = await newUser(server);
    const pair = await tokensFor(server, user.username);
    const sid = claimsOf(pair.access_token).sid;
    const results = await Promise.all(Array.from({ length: 20 }, () => refresh(server, pair.refresh_token)));
    for (const res of results) {
      assert.equal(res.status, 200, res.text);
      assert.equal(claimsOf(res.body.access_token).sid, sid);
    }
    for (const res of results) assert.equal((await me(server, res.body.access_token)).status, 200);
    const next = await Promise.all(results.map((res) => refresh(server, res.body.refresh_token)));
    for (const res of next) assert.equal(res.status, 200, `every refresh token handed out works: ${res.text}`);
    const family = await server.services.db.selectFrom('refresh_families').select('revoked_at').where('id', '=', sid).executeTakeFirstOrThrow();
    assert.equal(family.revoked_at, null);
    assert.equal((await me(server, next[19]!.body.access_token)).status, 200);
  });

  it('reuse after the grace window is refused and revokes the whole family at once', async () => {
    const user = await newUser(server);
    const pair = await tokensFor(server, user.username);
    const newest = (await refresh(server, pair.refresh_token)).body;
    const otherLogin = await tokensFor(server, user.username);
    assert.equal((await me(server, newest.access_token)).status, 200);

    clock.advance(11_000);
    assertInvalidToken(await refresh(server, pair.refresh_token), 'spent token after the window');
    assertInvalidToken(await refresh(server, newest.refresh_token), 'the newest refresh token of that login');
    assertInvalidToken(await me(server, newest.access_token), "the family's access token, on this instance at once");
    assertInvalidToken(await me(server, pair.access_token), 'the first access token too');
    assert.equal((await me(server, otherLogin.access_token)).status, 200, 'another login of the same user lives');
    assert.equal((await refresh(server, otherLogin.refresh_token)).status, 200);
  });

  it('refresh: a missing, empty or non-string refresh_token is 422; an unknown one 401', async () => {
    for (const body of [{}, { refresh_token: '' }, { refresh_token: 42 }]) {
      const res = await api(server).post<ErrorBody>('/api/token/refresh', body, { anonymous: true });
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.equal(res.body.error.code, 'validation_failed');
      assert.ok(res.body.error.fields?.refresh_token, JSON.stringify(res.body));
    }
    assertInvalidToken(await refresh(server, 'not-a-refresh-token'), 'unknown refresh token');
  });

  it('revoke (JSON): 200, and a revoked refresh token ends its whole family', async () => {
    const user = await newUser(server);
    const pair = await tokensFor(server, user.username);
    const newest = (await refresh(server, pair.refresh_token)).body;
    const otherLogin = await tokensFor(server, user.username);

    const res = await revoke(server, newest.refresh_token);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, {});
    assertInvalidToken(await refresh(server, newest.refresh_token), 'the revoked token');
    assertInvalidToken(await refresh(server, pair.refresh_token), 'a spent token of the family, even within the grace window');
    assertInvalidToken(await me(server, newest.access_token), "the family's access token");
    assert.equal((await me(server, otherLogin.access_token)).status, 200, 'other logins are untouched');
    assert.equal((await revoke(server, newest.refresh_token)).status, 200, 'already revoked: still 200');
  });

  it('revoke (form, RFC 7009) works the same; an access token revokes its login', async () => {
    const user = await newUser(server);
    const pair = await tokensFor(server, user.username);
    const res = await api(server).request('POST', '/api/token/revoke', {
      form: { token: pair.refresh_token, token_type_hint: 'refresh_token' },
      anonymous: true,
    });
    assert.equal(res.status, 200, res.text);
    assertInvalidToken(await refresh(server, pair.refresh_token), 'revoked by form');
    assertInvalidToken(await me(server, pair.access_token), 'its access token');

    const byAccess = await tokensFor(server, user.username);
    const viaAccess = await api(server).request('POST', '/api/token/revoke', { form: { token: byAccess.access_token }, anonymous: true });
    assert.equal(viaAccess.status, 200);
    assertInvalidToken(await me(server, byAccess.access_token), 'the revoked access token');
    assertInvalidToken(await refresh(server, byAccess.refresh_token), 'the refresh token of the same login');
  });

  it('revoke: an unknown token is 200, a missing token 422', async () => {
    assert.equal((await revoke(server, 'no-such-token')).status, 200);
    const json = await api(server).post<ErrorBody>('/api/token/revoke', {}, { anonymous: true });
    assert.equal(json.status, 422);
    assert.ok(json.body.error.fields?.token);
    const form = await api(server).request<ErrorBody>('POST', '/api/token/revoke', { form: { token_type_hint: 'refresh_token' }, anonymous: true });
    assert.equal(form.status, 422);
    assert.ok(form.body.error.fields?.token);
  });

  it('refuses a token whose signature was tampered with, or whose payload was edited', async () => {
    const victim = await newUser(server);
    const attacker = await newUser(server);
    const pair = await tokensFor(server, attacker.username);
    const [h, p, s] = pair.access_token.split('.') as [string, string, string];
    const flipped = s.slice(0, 10) + (s[10] === 'A' ? 'B' : 'A') + s.slice(11);
    assertInvalidToken(await me(server, `${h}.${p}.${flipped}`), 'tampered signature');
    const edited = b64url({ ...claimsOf(pair.access_token), sub: String(victim.id) });
    assertInvalidToken(await me(server, `${h}.${edited}.${s}`), 'edited sub');
    assertInvalidToken(await me(server, `${h}.${p}.`), 'signature stripped');
  });

  it('refuses alg none and HS256 signed with the public key', async () => {
    const user = await newUser(server);
    const pair = await tokensFor(server, user.username);
    const claims = claimsOf(pair.access_token);
    const { kid } = decodeProtectedHeader(pair.access_token) as { kid: string };
    for (const alg of ['none', 'None', 'NONE']) {
      assertInvalidToken(await me(server, `${b64url({ alg, typ: 'at+jwt', kid })}.${b64url(claims)}.`), `alg ${alg}`);
    }
    const jwk = (await jwks(server)).body.keys.find((k) => k.kid === kid)!;
    const spki = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const secrets = [Buffer.from(jwk.x!, 'base64url'), Buffer.from(String(spki)), Buffer.from(JSON.stringify(jwk))];
    for (const secret of secrets) {
      assertInvalidToken(await me(server, await sign(claims, new Uint8Array(secret), { alg: 'HS256', kid })), 'HS256 with public key bytes');
    }
  });

  it('checks iss, typ and the required claims even under a genuine signature', async () => {
    const user = await newUser(server);
    const pair = await tokensFor(server, user.username);
    const claims = claimsOf(pair.access_token);
    const key = await server.services.tokens.keys.signingKey();
    const header = { alg: key.alg, kid: key.kid };
    assert.equal((await me(server, await sign(claims, key.privateKey, header))).status, 200, 'control: a re-signed copy is accepted');
    assertInvalidToken(await me(server, await sign({ ...claims, iss: 'http://evil.example' }, key.privateKey, header)), 'wrong iss');
    assertInvalidToken(await me(server, await sign({ ...claims, iss: 'http://gatehouse.test:8080/' }, key.privateKey, header)), 'iss with a slash');
    assertInvalidToken(await me(server, await sign(claims, key.privateKey, { ...header, typ: 'JWT' })), 'another kind of JWT');
    const { sid: _sid, ...withoutSid } = claims;
    assertInvalidToken(await me(server, await sign(withoutSid, key.privateKey, header)), 'no sid');
    const { exp: _exp, ...withoutExp } = claims;
    assertInvalidToken(await me(server, await sign(withoutExp, key.privateKey, header)), 'no exp');
  });

  it('refuses a token signed by a foreign key that claims the real kid', async () => {
    const user = await newUser(server);
    const pair = await tokensFor(server, user.username);
    const { kid } = decodeProtectedHeader(pair.access_token) as { kid: string };
    const foreign = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    assertInvalidToken(await me(server, await sign(claimsOf(pair.access_token), foreign.privateKey, { alg: 'EdDSA', kid })), 'foreign key, real kid');
    assertInvalidToken(await me(server, await sign(claimsOf(pair.access_token), foreign.privateKey, { alg: 'EdDSA', kid: 'made-up' })), 'unknown kid');
  });

  it("a disabled user's tokens stop at once, and they cannot log in or refresh", async () => {
    const user = await newUser(server);
    const pair = await tokensFor(server, user.username);
    assert.equal((await me(server, pair.access_token)).status, 200);
    await server.services.accounts.updateAccount(user.id, { disabled: true }, { id: null });
    assertInvalidToken(await me(server, pair.access_token), 'disabled, same instance, no clock change');
    assertInvalidToken(await refresh(server, pair.refresh_token), 'refresh after disable');
    assert.equal((await login(server, user.username)).status, 401);
    await server.services.accounts.updateAccount(user.id, { disabled: false }, { id: null });
    assertInvalidToken(await me(server, pair.access_token), 're-enabling does not revive old tokens');
    assert.equal((await me(server, (await tokensFor(server, user.username)).access_token)).status, 200);
  });

  it('a password change ends every token login; a role change shows on the next request', async () => {
    const user = await newUser(server);
    const pair = await tokensFor(server, user.username);
    assert.equal((await me(server, pair.access_token)).body.role, 'user');
    await server.services.accounts.updateAccount(user.id, { role: 'admin' }, { id: null });
    assert.equal((await me(server, pair.access_token)).body.role, 'admin', 'promotion shows at once');
    await server.services.accounts.setPassword(user.id, `${GOOD_PASSWORD} again`, { id: null });
    assertInvalidToken(await me(server, pair.access_token), 'after a password change');
    assertInvalidToken(await refresh(server, pair.refresh_token), 'refresh after a password change');
  });

  it('the Authorization header is the only credential: a bad bearer beside a valid cookie is 401', async () => {
    const { client, user } = await signUpClient(server, uniqueName('both'));
    assert.equal((await client.get('/api/me')).status, 200, 'control: the cookie alone works');
    for (const authorization of ['Bearer not.a.token', 'Bearer ', 'Basic dXNlcjpwYXNz', 'Bearer a b']) {
      assertInvalidToken(await client.get('/api/me', { headers: { authorization } }), authorization);
    }
    const other = await newUser(server);
    const otherTokens = await tokensFor(server, other.username);
    const res = await client.get<UserBody>('/api/me', { headers: { authorization: `Bearer ${otherTokens.access_token}` } });
    assert.equal(res.body.username, other.username, 'the bearer wins over the cookie');
    assert.equal(user.username === other.username, false);
  });

  it('the same 401 for an unknown user, a wrong password and a disabled user', async () => {
    const user = await newUser(server);
    const disabled = await newUser(server);
    await server.services.accounts.updateAccount(disabled.id, { disabled: true }, { id: null });
    const unknown = await login(server, uniqueName('ghost'));
    const wrong = await login(server, user.username, 'not the password at all');
    const off = await login(server, disabled.username);
    for (const res of [unknown, wrong, off]) {
      assert.equal(res.status, 401);
      assert.equal(res.setCookies.length, 0);
    }
    assert.deepEqual(unknown.body, { error: { code: 'invalid_credentials', message: 'Invalid username or password.' } });
    assert.equal(wrong.text, unknown.text);
    assert.equal(off.text, unknown.text);
  });

  it('/api/token: a missing or non-string field is 422, credentials in the query string are ignored', async () => {
    const user = await newUser(server);
    const res = await api(server).post<ErrorBody>('/api/token', { username: user.username }, { anonymous: true });
    assert.equal(res.status, 422);
    assert.ok(res.body.error.fields?.password);
    const numeric = await api(server).post<ErrorBody>('/api/token', { username: 12345, password: GOOD_PASSWORD }, { anonymous: true });
    assert.equal(numeric.status, 422, 'a JSON number is not a username');
    const query = await api(server).post<ErrorBody>(`/api/token?username=${user.username}&password=${encodeURIComponent(GOOD_PASSWORD)}`, {}, { anonymous: true });
    assert.equal(query.status, 422);
  });

  it('JWKS lists public keys only, with Cache-Control', async () => {
    const res = await jwks(server);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('cache-control') ?? '', /^public, max-age=\d+/);
    assert.ok(res.body.keys.length >= 1);
    for (const key of res.body.keys) {
      assert.equal(key.kty, 'OKP');
      assert.equal(key.crv, 'Ed25519');
      assert.equal(key.alg, 'EdDSA');
      assert.equal(key.use, 'sig');
      assert.equal(typeof key.kid, 'string');
      assert.equal(key.d, undefined, 'no private key material');
    }
  });

  it('a foreign service verifies a token using only the JWKS URL over HTTP', async () => {
    const user = await newUser(server);
    const pair = await tokensFor(server, user.username);
    const keySet = createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(pair.access_token, keySet, {
      issuer: 'http://gatehouse.test:8080',
      algorithms: ['EdDSA', 'ES256'],
      typ: 'at+jwt',
      currentDate: new Date(clock()),
    });
    assert.equal(payload.sub, String(user.id));
    assert.equal(protectedHeader.alg, 'EdDSA');
  });
});

describe('bearer requests and CSRF', () => {
  let server: TestServer;
  let probe: { app: GatehouseApp; url: string };
  before(async () => {
    server = await startTestServer();
    // An unsafe /api route that requires a user, on an instance sharing the database.
    probe = await secondInstance(server, Date.now, (app) => {
      app.post('/api/probe', async (request) => ({ username: principal(request).username }));
    });
  });
  after(async () => {
    await probe.app.close();
    await server.close();
  });

  it('a bearer POST needs no CSRF token; the same POST by cookie does', async () => {
    const { client, user } = await signUpClient(server, uniqueName('csrf'));
    const pair = await tokensFor(server, user.username);
    const viaCookie = new TestClient(probe.url);
    for (const [k, v] of client.cookies) viaCookie.cookies.set(k, v);
    const refused = await viaCookie.post<ErrorBody>('/api/probe', {});
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'csrf_failed');
    assert.equal((await viaCookie.send('POST', '/api/probe', {})).status, 200, 'control: cookie with the CSRF header');
    const bearer = await new TestClient(probe.url).post<{ username: string }>('/api/probe', {}, { headers: { authorization: `Bearer ${pair.access_token}` } });
    assert.equal(bearer.status, 200, bearer.text);
    assert.equal(bearer.body.username, user.username);
    const both = await viaCookie.post('/api/probe', {}, { headers: { authorization: `Bearer ${pair.access_token}` } });
    assert.equal(both.status, 200, 'a valid bearer beside a cookie: the bearer alone counts, no CSRF');
  });
});

describe('failed /api/token requests count as failed logins', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ LOGIN_FAILURES_PER_ACCOUNT: '3' });
  });
  after(async () => server.close());

  it('LOGIN_FAILURES_PER_ACCOUNT failures → 429 with Retry-After, on /api/token and /login alike', async () => {
    const user = await newUser(server);
    for (let i = 0; i < 3; i += 1) assert.equal((await login(server, user.username, 'wrong password here')).status, 401);
    const blocked = await login(server, user.username);
    assert.equal(blocked.status, 429, 'even the right password is throttled');
    assert.equal(blocked.body.error.code, 'rate_limited');
    assert.match(blocked.headers.get('retry-after') ?? '', /^\d+$/);
    assert.equal((await api(server).post('/login', { username: user.username, password: GOOD_PASSWORD }, { anonymous: true })).status, 429);

    const ghost = uniqueName('ghost');
    for (let i = 0; i < 3; i += 1) assert.equal((await login(server, ghost, 'wrong password here')).status, 401);
    assert.equal((await login(server, ghost, 'wrong password here')).status, 429, 'unknown names are throttled alike');
  });

  it('a successful token login resets the count', async () => {
    const user = await newUser(server);
    for (let i = 0; i < 2; i += 1) assert.equal((await login(server, user.username, 'wrong password here')).status, 401);
    assert.equal((await login(server, user.username)).status, 200);
    for (let i = 0; i < 2; i += 1) assert.equal((await login(server, user.username, 'wrong password here')).status, 401);
    assert.equal((await login(server, user.username)).status, 200);
  });
});

describe('signing key rotation', () => {
  let server: TestServer;
  let clock: FakeClock;
  before(async () => {
    clock = fakeClock();
    server = await startTestServer({ RATE_LIMIT_PER_IP: '100000' }, { clock });
  });
  after(async () => server.close());

  it('`gatehouse keys rotate`: old tokens verify, new ones carry the new kid, then the old key retires', async () => {
    const user = await newUser(server);
    const before = await tokensFor(server, user.username);
    const oldKey = await server.services.tokens.keys.signingKey();
    const oldKid = oldKey.kid;
    assert.equal(decodeProtectedHeader(before.access_token).kid, oldKid);

    // The CLI, as an operator runs it, against the same database.
    const cli = await execFileAsync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'keys', 'rotate'], {
      env: { ...process.env, NODE_ENV: 'test', DATABASE_URL: server.config.databaseUrl, LOG_LEVEL: 'silent' },
    });
    const newKid = /new signing key (\S+);/.exec(cli.stdout)?.[1];
    assert.ok(newKid && newKid !== oldKid, cli.stdout);
    const oldRow = await server.services.db.selectFrom('signing_keys').selectAll().where('kid', '=', oldKid).executeTakeFirstOrThrow();
    assert.ok(oldRow.superseded_at && oldRow.retire_at);
    assert.equal(Date.parse(oldRow.retire_at) - Date.parse(oldRow.superseded_at), (900 + 60) * 1000, 'old keys verify for ACCESS_TOKEN_TTL + 60 s');

    const newRow = await server.services.db.selectFrom('signing_keys').selectAll().where('kid', '=', newKid).executeTakeFirstOrThrow();
    assert.ok(newRow.activates_at);
    assert.equal(newRow.activates_at, oldRow.superseded_at, 'the old key signs until the new one starts');
    assert.equal(Date.parse(newRow.activates_at) - Date.parse(newRow.created_at), PUBLISH_BEFORE_SIGNING_SECONDS * 1000, 'published first, signing later');

    assert.equal((await me(server, before.access_token)).status, 200, 'tokens of the old key still verify');
    // The CLI ran on the real clock, which moved on while it started (seconds, on a loaded machine):
    // the server's clock catches up first, so the tokens below are the old key's newest, not ones
    // that expire before the new key starts signing.
    clock.set(Math.max(clock(), Date.parse(newRow.created_at)));
    // A running instance picks up keys rotated elsewhere within its reload interval (30 s): the new
    // key is published at once, and the old key signs until the new one's activates_at.
    clock.advance(30_000);
    assert.deepEqual(new Set((await jwks(server)).body.keys.map((k) => k.kid)), new Set([oldKid, newKid]), 'published before it signs');
    const lastOfOld = await tokensFor(server, user.username);
    assert.equal(decodeProtectedHeader(lastOfOld.access_token).kid, oldKid, 'not signing yet');
    clock.set(Date.parse(newRow.activates_at));
    const after = await tokensFor(server, user.username);
    assert.equal(decodeProtectedHeader(after.access_token).kid, newKid);
    assert.equal((await me(server, after.access_token)).status, 200);
    assert.equal((await me(server, lastOfOld.access_token)).status, 200, 'the old key still verifies once the new one signs');
    const kids = (await jwks(server)).body.keys.map((k) => k.kid);
    assert.deepEqual(new Set(kids), new Set([oldKid, newKid]), 'JWKS lists both while the old key verifies');

    // A token the old key signed that is still unexpired shows retirement, not expiry, is what refuses it.
    const longLived = await sign({ ...claimsOf(after.access_token), exp: Math.floor(clock() / 1000) + 7200 }, oldKey.privateKey, { alg: oldKey.alg, kid: oldKid });
    assert.equal((await me(server, longLived)).status, 200, 'before retire_at the old key verifies');
    clock.set(Date.parse(oldRow.retire_at) + 1000);
    assertInvalidToken(await me(server, longLived), 'after retire_at the old key is refused');
    assert.deepEqual((await jwks(server)).body.keys.map((k) => k.kid), [newKid], 'and leaves the JWKS');
    const fresh = await tokensFor(server, user.username);
    assert.equal((await me(server, fresh.access_token)).status, 200);
  });
});

describe('ES256 (JWT_ALGORITHM=ES256)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ JWT_ALGORITHM: 'ES256' });
  });
  after(async () => server.close());

  it('issues ES256 tokens that the server and a remote JWKS verifier accept', async () => {
    const user = await newUser(server);
    const pair = await tokensFor(server, user.username);
    assert.equal(decodeProtectedHeader(pair.access_token).alg, 'ES256');
    assert.equal((await me(server, pair.access_token)).status, 200);
    const keys = (await jwks(server)).body.keys;
    assert.equal(keys.length, 1);
    assert.equal(keys[0]!.kty, 'EC');
    assert.equal(keys[0]!.crv, 'P-256');
    assert.equal(keys[0]!.alg, 'ES256');
    assert.equal(keys[0]!.d, undefined);
    const { payload } = await jwtVerify(pair.access_token, createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`)), {
      issuer: server.config.publicUrl,
      algorithms: ['ES256'],
    });
    assert.equal(payload.sub, String(user.id));
    const next = await refresh(server, pair.refresh_token);
    assert.equal(next.status, 200);
    assert.equal((await me(server, next.body.access_token)).status, 200);
  });
});

describe('ACCESS_TOKEN_AUDIENCE', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ ACCESS_TOKEN_AUDIENCE: 'orders-api' });
  });
  after(async () => server.close());

  it('sets aud and refuses tokens for another audience or none', async () => {
    const user = await newUser(server);
    const pair = await tokensFor(server, user.username);
    const claims = claimsOf(pair.access_token);
    assert.equal(claims.aud, 'orders-api');
    assert.equal((await me(server, pair.access_token)).status, 200);
    const key = await server.services.tokens.keys.signingKey();
    const header = { alg: key.alg, kid: key.kid };
    assertInvalidToken(await me(server, await sign({ ...claims, aud: 'billing-api' }, key.privateKey, header)), 'wrong aud');
    const { aud: _aud, ...withoutAud } = claims;
    assertInvalidToken(await me(server, await sign(withoutAud, key.privateKey, header)), 'no aud');
  });
});

describe('revocation reaches cached token state within 1 s on every instance', () => {
  let server: TestServer;
  let other: { app: GatehouseApp; services: Services; url: string };
  let clock: FakeClock;
  before(async () => {
    clock = fakeClock();
    server = await startTestServer({ RATE_LIMIT_PER_IP: '100000' }, { clock });
    other = await secondInstance(server, clock);
  });
  after(async () => {
    await other.app.close();
    await server.close();
  });

  it('tokens from one instance verify on the other', async () => {
    const user = await newUser(server);
    const pair = await tokensFor(server, user.username);
    assert.equal((await me(other, pair.access_token)).status, 200);
    assert.equal((await refresh(other, pair.refresh_token)).status, 200);
  });

  it('disabling a user on another instance stops their token here within 1 s', async () => {
    const user = await newUser(server);
    const pair = await tokensFor(server, user.username);
    assert.equal((await me(server, pair.access_token)).status, 200, 'cached here');
    await other.services.accounts.updateAccount(user.id, { disabled: true }, { id: null });
    assertInvalidToken(await me(other, pair.access_token), 'on the instance that disabled, at once');
    clock.advance(1000);
    assertInvalidToken(await me(server, pair.access_token), 'here, after 1 s');
  });

  it('revoking a family on another instance stops its tokens here within 1 s', async () => {
    const user = await newUser(server);
    const pair = await tokensFor(server, user.username);
    assert.equal((await me(server, pair.access_token)).status, 200);
    assert.equal((await revoke(other, pair.refresh_token)).status, 200);
    clock.advance(1000);
    assertInvalidToken(await me(server, pair.access_token), 'family revoked elsewhere');
  });

  it('a password change on another instance stops tokens here within 1 s', async () => {
    const user = await newUser(server);
    const pair = await tokensFor(server, user.username);
    assert.equal((await me(server, pair.access_token)).status, 200);
    await other.services.accounts.setPassword(user.id, `${GOOD_PASSWORD} v2`, { id: null });
    clock.advance(1000);
    assertInvalidToken(await me(server, pair.access_token), 'password changed elsewhere');
  });

  it('a change written straight to the database (no event at all) is seen within 1 s', async () => {
    const user = await newUser(server);
    const pair = await tokensFor(server, user.username);
    assert.equal((await me(server, pair.access_token)).status, 200);
    const { sid } = claimsOf(pair.access_token);
    await server.services.db.updateTable('refresh_families').set({ revoked_at: new Date(clock()).toISOString(), revoked_reason: 'test' }).where('id', '=', sid).execute();
    clock.advance(1000);
    assertInvalidToken(await me(server, pair.access_token), 'family revoked in the database');
  });

  it('a key rotated on another instance verifies here at once', async () => {
    const user = await newUser(server);
    await rotateSigningKey(server.storage.db, new KeyVault(server.config.keyEncryptionSecret), {
      alg: 'EdDSA',
      now: clock(),
      verifyOldKeysForSeconds: 960,
    });
    await other.services.tokens.keys.reload();
    const pair = await tokensFor(other, user.username);
    const newKid = decodeProtectedHeader(pair.access_token).kid;
    assert.notEqual(newKid, (await server.services.tokens.keys.signingKey()).kid, 'this instance has not reloaded yet');
    assert.equal((await me(server, pair.access_token)).status, 200, 'an unknown kid makes this instance reload');
  });
});

describe('housekeeping of refresh tokens', () => {
  let server: TestServer;
  let clock: FakeClock;
  before(async () => {
    clock = fakeClock();
    server = await startTestServer({ REFRESH_TOKEN_TTL: String(3 * 24 * 3600) }, { clock });
  });
  after(async () => server.close());

  it('deleteExpired drops expired logins, logins revoked over a day ago and tokens spent over a day ago', async () => {
    const user = await newUser(server);
    const expiring = await tokensFor(server, user.username);
    const revoked = await tokensFor(server, user.username);
    assert.equal((await revoke(server, revoked.refresh_token)).status, 200);
    clock.advance(2 * 24 * 3600 * 1000);
    const live = await tokensFor(server, user.username);
    const liveNext = (await refresh(server, live.refresh_token)).body;
    clock.advance(24 * 3600 * 1000 + 1000);
    assertInvalidToken(await refresh(server, expiring.refresh_token), 'the first login is past REFRESH_TOKEN_TTL');

    const removed = await server.services.tokens.deleteExpired();
    assert.deepEqual(removed, { families: 2, tokens: 3 });
    const families = await server.services.db.selectFrom('refresh_families').select('id').execute();
    assert.deepEqual(families.map((f) => f.id), [claimsOf(live.access_token).sid]);
    assert.equal((await refresh(server, liveNext.refresh_token)).status, 200, 'the living login is untouched');
    assertInvalidToken(await refresh(server, live.refresh_token), 'a pruned spent token is refused as unknown');
  });
});
