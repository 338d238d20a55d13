/**
 * The OpenID Connect provider with openid-client as the relying party: discovery, the
 * authorization code flow with PKCE driven through the real Gatehouse pages (a cookie-jar
 * client), ID token checks (RS256, auth_time, amr), userinfo, refresh rotation and reuse,
 * revocation, RP-initiated logout, consent (allow, deny, remembered, asked again), first-party
 * apps, MFA at the sign-in, disabled users, and OIDC_ENABLED=false.
 * `TEST_DATABASE_URL=postgres://… ` runs it on PostgreSQL.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { decodeProtectedHeader } from 'jose';
import * as oidc from 'openid-client';
import * as OTPAuth from 'otpauth';
import { fakeClock, GOOD_PASSWORD, startTestServer, uniqueName } from '../helpers/app.js';
import type { FakeClock, TestServer } from '../helpers/app.js';
import { markEmailVerified } from '../../src/accounts/accounts.repo.js';
import { RELOAD_INTERVAL_MS } from '../../src/tokens/keys.js';
import type { TestClient } from '../helpers/http.js';
import { authorizationRequest, browse, formOf, POST_LOGOUT_URI, REDIRECT_URI, registerClient, relyingParty, startOidcServer, submit } from '../helpers/oidc.js';
import type { Landing, RegisteredClient } from '../helpers/oidc.js';
import { SoftAuthenticator } from '../helpers/webauthn.js';
import type { CreationOptionsJSON, RequestOptionsJSON } from '../helpers/webauthn.js';

const meta = { ip: null, userAgent: 'oidc-test' };

/** A request with a Host header of our choosing (fetch will not send one). */
function withHost(server: TestServer, path: string, host: string): Promise<{ status: number; body: string }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: Number(url.port), path, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
const execFileAsync = promisify(execFile);
const KEY_ENCRYPTION_SECRET = 'an-oidc-test-key-encryption-secret';

describe('OpenID Connect provider', () => {
  let server: TestServer;
  let admin: TestClient;

  async function user(role: 'user' | 'admin' = 'user', email: string | null = null): Promise<{ id: number; username: string }> {
    const username = uniqueName(role);
    const created = await server.services.accounts.signUp({ username, email, password: GOOD_PASSWORD }, meta, role, { byOperator: true });
    return { id: created.id, username };
  }

  async function loggedIn(username: string): Promise<TestClient> {
    const client = server.client();
    const res = await client.post('/login', { username, password: GOOD_PASSWORD });
    assert.equal(res.status, 200, res.text);
    return client;
  }

  before(async () => {
    server = await startOidcServer({ RATE_LIMIT_PER_IP: '100000' });
    admin = await loggedIn((await user('admin')).username);
  });
  after(async () => server?.close());

  /** The audit rows of one event, newest first, as the admin API lists them. */
  async function auditRows(event: string): Promise<Array<{ user_id: number | null; actor_id: number | null; detail: Record<string, unknown> | null }>> {
    const res = await admin.get<{ items: Array<{ user_id: number | null; actor_id: number | null; detail: Record<string, unknown> | null }> }>(`/api/admin/audit?event=${event}&limit=100`);
    assert.equal(res.status, 200, res.text);
    return res.body.items;
  }

  /** Sign in on the interaction page and land wherever that leads. */
  async function signIn(browser: TestClient, page: Landing, username: string, password = GOOD_PASSWORD): Promise<Landing> {
    assert.equal(page.kind, 'page');
    assert.match(page.url, /\/oidc\/interaction\/[^/]+(\/login)?$/);
    return submit(browser, page, { username, password });
  }

  /** The code exchange at the app's callback, with every check openid-client makes. */
  async function exchange(rp: oidc.Configuration, landing: Landing, request: { verifier: string; state: string; nonce: string }) {
    assert.equal(landing.kind, 'app', landing.kind === 'page' ? landing.res.text.slice(0, 500) : '');
    return oidc.authorizationCodeGrant(rp, landing.url as URL, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true });
  }

  describe('discovery', () => {
    it('names every endpoint on PUBLIC_URL whatever Host was used, and only RS256', async () => {
      const res = await server.client().get<Record<string, unknown>>('/.well-known/openid-configuration', { headers: { host: 'localhost:1' } });
      assert.equal(res.status, 200);
      const doc = res.body;
      assert.equal(doc.issuer, server.url);
      for (const name of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'revocation_endpoint', 'end_session_endpoint']) {
        assert.ok(String(doc[name]).startsWith(`${server.url}/oidc/`), `${name}: ${String(doc[name])}`);
      }
      assert.deepEqual(doc.id_token_signing_alg_values_supported, ['RS256']);
      assert.deepEqual(doc.response_types_supported, ['code']);
      assert.deepEqual(doc.code_challenge_methods_supported, ['S256']);
      assert.deepEqual(doc.scopes_supported, ['openid', 'profile', 'email', 'offline_access']);
      const jwks = JSON.parse((await server.client().get('/oidc/jwks')).text) as { keys: Array<{ kty: string; alg: string; d?: string }> };
      assert.ok(jwks.keys.length >= 1);
      for (const key of jwks.keys) {
        assert.equal(key.kty, 'RSA');
        assert.equal(key.alg, 'RS256');
        assert.equal(key.d, undefined, 'public keys only');
      }
    });
  });

  describe('the endpoints', () => {
    it('answer in OAuth\'s shape, without the Origin rule, CSRF or the 404-first rule', async () => {
      const browser = await loggedIn((await user()).username);
      const token = await browser.request<{ error: string; error_description: string }>('POST', '/oidc/token', {
        form: { grant_type: 'authorization_code', code: 'nope', client_id: 'nope' },
        headers: { origin: 'https://evil.example' },
      });
      assert.ok(token.status === 400 || token.status === 401, String(token.status));
      assert.equal(typeof token.body.error, 'string');
      assert.equal(typeof token.body.error_description, 'string');
      const unknown = await browser.get<{ error: string }>('/oidc/no-such-endpoint');
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error, 'invalid_request');
      const userinfo = await browser.get<{ error: string }>('/oidc/userinfo', { headers: { authorization: 'Bearer not-a-token' } });
      assert.equal(userinfo.status, 401);
      assert.equal(userinfo.body.error, 'invalid_token');
      const refused = await withHost(server, '/oidc/jwks', 'rebind.evil.example');
      assert.equal(refused.status, 403);
      assert.equal((JSON.parse(refused.body) as { error: string }).error, 'invalid_request', 'the host check answers in OAuth shape under the provider');
    });

    it('refuses an authorization request without PKCE S256, and never redirects to an unregistered URI', async () => {
      const app = await registerClient(admin);
      const rp = await relyingParty(server, app);
      const browser = server.client();
      const missing = new URL(`${server.url}/oidc/auth`);
      for (const [k, v] of Object.entries({ client_id: app.client_id, redirect_uri: REDIRECT_URI, response_type: 'code', scope: 'openid', state: 's1' })) missing.searchParams.set(k, v);
      const noPkce = await browse(browser, missing.href);
      assert.equal(noPkce.kind, 'app');
      assert.equal((noPkce.url as URL).searchParams.get('error'), 'invalid_request');
      assert.equal((noPkce.url as URL).searchParams.get('state'), 's1');
      const plain = await browse(browser, (await authorizationRequest(rp, { code_challenge_method: 'plain' })).url.href);
      assert.equal(plain.kind, 'app');
      assert.equal((plain.url as URL).searchParams.get('error'), 'invalid_request');
      const implicit = await browse(browser, (await authorizationRequest(rp, { response_type: 'id_token' })).url.href);
      assert.equal(implicit.kind, 'app');
      assert.equal(new URLSearchParams((implicit.url as URL).hash.slice(1)).get('error'), 'unsupported_response_type');
      for (const redirect of [`${REDIRECT_URI}/`, `${REDIRECT_URI}?x=1`, 'https://evil.example/callback']) {
        const page = await browse(browser, (await authorizationRequest(rp, { redirect_uri: redirect })).url.href);
        assert.equal(page.kind, 'page', redirect);
        assert.equal(page.res.status, 400, redirect);
        assert.match(page.res.headers.get('content-type') ?? '', /^text\/html/);
        assert.match(page.res.text, /redirect_uri/);
      }
      const unknownClient = await browse(browser, `${server.url}/oidc/auth?client_id=nobody&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(REDIRECT_URI)}`);
      assert.equal(unknownClient.kind, 'page');
      assert.equal(unknownClient.res.status, 400);
    });
  });

  describe('the authorization code flow', () => {
    let app: RegisteredClient;
    let rp: oidc.Configuration;
    before(async () => {
      app = await registerClient(admin);
      rp = await relyingParty(server, app);
    });

    /** A user who signed in to the app (consent given) with this browser; the tokens of that sign-in. */
    async function signedInUser(parameters: Record<string, string> = {}, email: string | null = null) {
      const who = await user('user', email);
      const browser = server.client();
      const request = await authorizationRequest(rp, parameters);
      const consent = await signIn(browser, await browse(browser, request.url.href), who.username);
      const tokens = await exchange(rp, await submit(browser, consent, { decision: 'allow' }), request);
      return { who, browser, tokens };
    }

    it('signs in through the Gatehouse page, asks consent, and issues a verified RS256 ID token with auth_time and amr', async () => {
      const alice = await user('user', `${uniqueName('a')}@example.com`);
      const browser = server.client();
      const request = await authorizationRequest(rp);
      const authorize = await browser.get(request.url.pathname + request.url.search);
      assert.equal(authorize.status, 303);
      const interaction = authorize.setCookies.find((c) => c.name === 'gatehouse_oidc_interaction');
      assert.match(String(interaction?.attributes.path), /^\/oidc\/interaction\/[^/]+$/, 'the interaction cookie is scoped to the mounted interaction path');
      const resume = authorize.setCookies.find((c) => c.name === 'gatehouse_oidc_resume');
      assert.match(String(resume?.attributes.path), /^\/oidc\/auth\/[^/]+$/, 'the resume cookie is scoped to the mounted authorization path');
      const loginPage = await browse(browser, authorize.headers.get('location')!);
      assert.equal(loginPage.kind, 'page');
      assert.equal(loginPage.res.status, 200);
      assert.match(loginPage.res.text, /Example App/);
      assert.deepEqual(Object.keys(formOf(loginPage).hidden), ['csrf_token']);
      assert.match(loginPage.res.headers.get('content-security-policy') ?? '', /form-action 'self' https:\/\/app\.example(;|$)/, 'the page may post a form whose answer redirects to the app');

      const wrong = await signIn(browser, loginPage, alice.username, 'not the password');
      assert.equal(wrong.kind, 'page');
      assert.equal(wrong.res.status, 401);
      assert.match(wrong.res.text, /Invalid username or password/);

      const consent = await signIn(browser, wrong, alice.username);
      assert.equal(consent.kind, 'page', 'a consent page');
      assert.match(consent.res.text, /Allow access/);
      assert.match(consent.res.text, /See your email address/);
      const landing = await submit(browser, consent, { decision: 'allow' });
      const now = Math.floor(Date.now() / 1000);
      const tokens = await exchange(rp, landing, request);
      assert.equal(decodeProtectedHeader(tokens.id_token!).alg, 'RS256');
      const claims = tokens.claims()!;
      assert.equal(claims.sub, String(alice.id));
      assert.equal(claims.iss, server.url);
      assert.equal(typeof claims.auth_time, 'number');
      assert.ok(Math.abs(Number(claims.auth_time) - now) < 5);
      assert.deepEqual(claims.amr, ['pwd']);
      assert.equal(claims.preferred_username, alice.username);
      assert.equal(tokens.refresh_token, undefined, 'no offline_access asked');
      const gatehouse = await browser.get<{ username: string }>('/check_session');
      assert.equal(gatehouse.body.username, alice.username, 'the sign-in is a Gatehouse session');

      const info = await oidc.fetchUserInfo(rp, tokens.access_token, String(alice.id));
      assert.equal(info.preferred_username, alice.username);
      assert.match(String(info.email), /@example\.com$/);
      assert.equal(info.email_verified, true);
    });

    it('remembers consent across logouts, asks again only for new scopes and with prompt=consent; offline_access needs prompt=consent', async () => {
      const { who, browser } = await signedInUser({ scope: 'openid profile' });
      // Signed in and consented: straight back to the app.
      const again = await authorizationRequest(rp, { scope: 'openid profile' });
      const straight = await browse(browser, again.url.href);
      assert.equal(straight.kind, 'app');
      assert.ok((await exchange(rp, straight, again)).id_token);
      // offline_access without prompt=consent is ignored (OpenID Connect Core 11).
      const ignored = await authorizationRequest(rp, { scope: 'openid profile offline_access' });
      const noRefresh = await exchange(rp, await browse(browser, ignored.url.href), ignored);
      assert.equal(noRefresh.refresh_token, undefined);
      // A new scope: asked, and only it is new.
      const wider = await authorizationRequest(rp, { scope: 'openid profile email' });
      const consent = await browse(browser, wider.url.href);
      assert.equal(consent.kind, 'page');
      assert.match(consent.res.text, /See your email address[^<]*<\/li>/);
      assert.match(consent.res.text, /See your username <span class="optional">\(allowed before\)<\/span>/);
      await exchange(rp, await submit(browser, consent, { decision: 'allow' }), wider);
      // Consent survives a logout.
      const logout = await browser.send('DELETE', '/logout');
      assert.equal(logout.status, 204);
      const afterLogout = await authorizationRequest(rp, { scope: 'openid profile email' });
      const login = await browse(browser, afterLogout.url.href);
      const back = await signIn(browser, login, who.username);
      assert.equal(back.kind, 'app', 'no consent page after logging in again');
      await exchange(rp, back, afterLogout);
      // prompt=consent asks again, and is how offline_access is granted.
      const offline = await authorizationRequest(rp, { scope: 'openid profile email offline_access', prompt: 'consent' });
      const asked = await browse(browser, offline.url.href);
      assert.equal(asked.kind, 'page');
      assert.match(asked.res.text, /Stay connected/);
      const tokens = await exchange(rp, await submit(browser, asked, { decision: 'allow' }), offline);
      assert.ok(tokens.refresh_token);
    });

    it('answers access_denied at the app when the user denies', async () => {
      const who = await user();
      const browser = server.client();
      const request = await authorizationRequest(rp);
      const consent = await signIn(browser, await browse(browser, request.url.href), who.username);
      const forged = await browser.request<{ error: { code: string } }>('POST', formOf(consent).action, { form: { decision: 'allow' } });
      assert.equal(forged.status, 403, 'consent needs the CSRF token');
      assert.equal(forged.body.error.code, 'csrf_failed');
      const denied = await submit(browser, consent, { decision: 'deny' });
      assert.equal(denied.kind, 'app');
      const url = denied.url as URL;
      assert.equal(`${url.origin}${url.pathname}`, REDIRECT_URI);
      assert.equal(url.searchParams.get('error'), 'access_denied');
      assert.equal(url.searchParams.get('state'), request.state);
      assert.equal(url.searchParams.get('code'), null);
      const apps = await browser.get<{ items: unknown[] }>('/api/me/oidc/grants');
      assert.deepEqual(apps.body.items, [], 'nothing remembered');
    });

    it('rotates refresh tokens; a used one revokes the whole grant (no grace)', async () => {
      const { who, tokens } = await signedInUser({ scope: 'openid profile offline_access', prompt: 'consent' });
      const first = tokens.refresh_token!;
      const second = await oidc.refreshTokenGrant(rp, first);
      assert.ok(second.refresh_token && second.refresh_token !== first, 'a new refresh token');
      const claims = second.claims()!;
      assert.equal(claims.sub, String(who.id));
      assert.equal(claims.auth_time, tokens.claims()!.auth_time, 'auth_time of the login, not of the refresh');
      assert.deepEqual(claims.amr, ['pwd']);
      await oidc.fetchUserInfo(rp, second.access_token, String(who.id));
      await assert.rejects(oidc.refreshTokenGrant(rp, first), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
      await assert.rejects(oidc.refreshTokenGrant(rp, second.refresh_token!), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant', 'the grant is revoked');
      await assert.rejects(oidc.fetchUserInfo(rp, second.access_token, String(who.id)), 'its access tokens too');
    });

    it('refuses a second use of an authorization code and revokes what the first gave', async () => {
      const who = await user();
      const browser = server.client();
      const request = await authorizationRequest(rp);
      const consent = await signIn(browser, await browse(browser, request.url.href), who.username);
      const landing = await submit(browser, consent, { decision: 'allow' });
      const tokens = await exchange(rp, landing, request);
      await assert.rejects(exchange(rp, landing, request), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
      await assert.rejects(oidc.fetchUserInfo(rp, tokens.access_token, String(who.id)));
    });

    it('revokes access and refresh tokens (RFC 7009)', async () => {
      const { who, tokens } = await signedInUser({ scope: 'openid offline_access', prompt: 'consent' });
      await oidc.tokenRevocation(rp, tokens.access_token);
      await assert.rejects(oidc.fetchUserInfo(rp, tokens.access_token, String(who.id)), (error: oidc.WWWAuthenticateChallengeError) => error.status === 401);
      await oidc.tokenRevocation(rp, tokens.refresh_token!);
      await assert.rejects(oidc.refreshTokenGrant(rp, tokens.refresh_token!), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
    });

    it('stops a disabled user\'s grants at once (userinfo, refresh), and a deleted user\'s', async () => {
      for (const end of ['disable', 'delete'] as const) {
        const { who, tokens } = await signedInUser({ scope: 'openid offline_access', prompt: 'consent' });
        if (end === 'disable') await server.services.accounts.updateAccount(who.id, { disabled: true }, { id: null, meta });
        else await server.services.accounts.deleteAccount(who.id, { id: who.id, meta });
        await assert.rejects(oidc.fetchUserInfo(rp, tokens.access_token, String(who.id)), (error: oidc.WWWAuthenticateChallengeError) => error.status === 401, end);
        await assert.rejects(oidc.refreshTokenGrant(rp, tokens.refresh_token!), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant', end);
      }
    });

    it('answers prompt=none from the Gatehouse session: a code when signed in and consented, login_required when not', async () => {
      const { who, browser } = await signedInUser();
      const silent = await authorizationRequest(rp, { prompt: 'none' });
      const landing = await browse(browser, silent.url.href);
      assert.equal(landing.kind, 'app');
      assert.equal((await exchange(rp, landing, silent)).claims()!.sub, String(who.id));
      // A new Gatehouse login the provider has not seen yet is followed too.
      const other = await loggedIn(who.username);
      const fresh = await authorizationRequest(rp, { prompt: 'none' });
      const followed = await browse(other, fresh.url.href);
      assert.equal(followed.kind, 'app');
      await exchange(rp, followed, fresh);
      const anonymous = server.client();
      const none = await authorizationRequest(rp, { prompt: 'none' });
      const refused = await browse(anonymous, none.url.href);
      assert.equal(refused.kind, 'app');
      assert.equal((refused.url as URL).searchParams.get('error'), 'login_required');
    });

    it('acts for the user of the browser\'s Gatehouse session now: another login switches the user, a logout ends the provider session', async () => {
      const { who, browser, tokens } = await signedInUser();
      // Gatehouse logout ends the provider's session and the tokens bound to it.
      assert.equal((await browser.send('DELETE', '/logout')).status, 204);
      await assert.rejects(oidc.fetchUserInfo(rp, tokens.access_token, String(who.id)), (error: oidc.WWWAuthenticateChallengeError) => error.status === 401);
      const request = await authorizationRequest(rp);
      const page = await browse(browser, request.url.href);
      assert.equal(page.kind, 'page', 'signed out: the login form again');
      // Another user logs in on the same browser: the provider follows.
      const bob = await user();
      assert.equal((await browser.post('/login', { username: bob.username, password: GOOD_PASSWORD })).status, 200);
      const asBob = await authorizationRequest(rp);
      const consent = await browse(browser, asBob.url.href);
      assert.equal(consent.kind, 'page');
      assert.match(consent.res.text, new RegExp(bob.username));
      const bobs = await exchange(rp, await submit(browser, consent, { decision: 'allow' }), asBob);
      assert.equal(bobs.claims()!.sub, String(bob.id));
    });

    it('asks for the password again with prompt=login and for a login older than max_age', async () => {
      const { who, browser } = await signedInUser();
      for (const parameters of [{ prompt: 'login' }, { max_age: '0' }] as Array<Record<string, string>>) {
        const request = await authorizationRequest(rp, parameters);
        const page = await browse(browser, request.url.href);
        assert.equal(page.kind, 'page', JSON.stringify(parameters));
        assert.match(page.res.text, /asks you to log in again/);
        const landing = await signIn(browser, page, who.username);
        const tokens = await exchange(rp, landing, request);
        assert.equal(tokens.claims()!.sub, String(who.id));
      }
    });

    it('RP-initiated logout: confirmation, then the Gatehouse session ends and the app gets its state back', async () => {
      const { browser, tokens } = await signedInUser();
      const logoutUrl = oidc.buildEndSessionUrl(rp, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: POST_LOGOUT_URI, state: 'bye' });
      const confirm = await browse(browser, logoutUrl.href);
      assert.equal(confirm.kind, 'page');
      assert.match(confirm.res.text, /Example App<\/strong> asks to log you out/);
      assert.deepEqual(Object.keys(formOf(confirm).hidden).sort(), ['csrf_token', 'xsrf']);
      assert.match(confirm.res.headers.get('content-security-policy') ?? '', /form-action 'self' https:\/\/app\.example/);
      // Without the CSRF token the page is shown again and nothing ends.
      const forged = await browse(browser, formOf(confirm).action, { method: 'POST', form: { xsrf: formOf(confirm).hidden.xsrf ?? '', logout: 'yes' } });
      assert.equal(forged.kind, 'page');
      assert.equal((await browser.get('/check_session')).status, 200);
      const done = await submit(browser, confirm, { logout: 'yes' });
      assert.equal(done.kind, 'app');
      const url = done.url as URL;
      assert.equal(`${url.origin}${url.pathname}`, POST_LOGOUT_URI);
      assert.equal(url.searchParams.get('state'), 'bye');
      assert.equal((await browser.get('/check_session')).status, 204, 'the Gatehouse session ended');
      const request = await authorizationRequest(rp);
      assert.equal((await browse(browser, request.url.href)).kind, 'page', 'signed out of the provider too');
    });

    it('RP-initiated logout for a browser the provider has not seen yet still asks on the Gatehouse page', async () => {
      const who = await user();
      const browser = await loggedIn(who.username);
      const logoutUrl = oidc.buildEndSessionUrl(rp, { client_id: app.client_id, post_logout_redirect_uri: POST_LOGOUT_URI, state: 'later' });
      // The provider has no session for this browser: its own page posts the logout at once (with JavaScript).
      const autoPost = await browse(browser, logoutUrl.href);
      assert.equal(autoPost.kind, 'page');
      assert.deepEqual(Object.keys(formOf(autoPost).hidden).sort(), ['logout', 'xsrf']);
      const confirm = await submit(browser, autoPost, {});
      assert.equal(confirm.kind, 'page');
      assert.match(confirm.res.text, /Example App<\/strong> asks to log you out/);
      assert.equal((await browser.get('/check_session')).status, 200, 'nothing ended without the click');
      const done = await submit(browser, confirm, { logout: 'yes' });
      assert.equal(done.kind, 'app');
      assert.equal((done.url as URL).searchParams.get('state'), 'later');
      assert.equal((await browser.get('/check_session')).status, 204);
    });

    it('refuses an unregistered post_logout_redirect_uri', async () => {
      const { browser, tokens } = await signedInUser();
      const logoutUrl = oidc.buildEndSessionUrl(rp, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'https://evil.example/', state: 'x' });
      const page = await browse(browser, logoutUrl.href);
      assert.equal(page.kind, 'page');
      assert.equal(page.res.status, 400);
      assert.equal((await browser.get('/check_session')).status, 200);
    });
  });

  describe('second factor at the sign-in', () => {
    it('takes a user with TOTP through the code step; amr says how', async () => {
      const app = await registerClient(admin);
      const rp = await relyingParty(server, app);
      const who = await user();
      const record = { id: who.id, username: who.username, email: null };
      const { secret } = await server.services.mfa.beginTotp(record);
      const codes = await server.services.mfa.confirmTotp(record, new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret) }).generate(), meta);
      const browser = server.client();
      const request = await authorizationRequest(rp);
      const step = await signIn(browser, await browse(browser, request.url.href), who.username);
      assert.equal(step.kind, 'page');
      assert.match(step.res.text, /Two-step verification/);
      assert.equal((await browser.get('/check_session')).status, 204, 'no session before the second step');
      const wrong = await submit(browser, step, { recovery_code: 'AAAA-BBBB-CCCC' });
      assert.equal(wrong.kind, 'page');
      assert.equal(wrong.res.status, 401);
      const consent = await submit(browser, wrong, { recovery_code: codes[0]! });
      assert.equal(consent.kind, 'page', consent.kind === 'app' ? consent.url.href : '');
      const tokens = await exchange(rp, await submit(browser, consent, { decision: 'allow' }), request);
      assert.deepEqual(tokens.claims()!.amr, ['pwd', 'mfa']);
    });
    it('offers the passkey sign-in on the sign-in page; a passkey login there resumes the request, prompt=login included', async () => {
      const app = await registerClient(admin);
      const rp = await relyingParty(server, app);
      const who = await user();
      const origin = new URL(server.config.publicUrl).origin;
      const owner = await loggedIn(who.username);
      const auth = new SoftAuthenticator();
      const options = await owner.send<CreationOptionsJSON>('POST', '/api/me/passkeys/options', {});
      assert.equal((await owner.send('POST', '/api/me/passkeys', { response: auth.register(options.body, { origin }) })).status, 201);

      for (const parameters of [{}, { prompt: 'login' }] as Array<Record<string, string>>) {
        const browser = parameters.prompt ? owner : server.client();
        const request = await authorizationRequest(rp, parameters);
        const page = await browse(browser, request.url.href);
        assert.equal(page.kind, 'page');
        const resume = /<div class="passkey" id="passkey-sign-in" data-next="([^"]+)" hidden>/.exec(page.res.text)?.[1];
        assert.match(String(resume), /^\/oidc\/interaction\/[^/]+$/, 'the passkey button goes back to this request');
        assert.match(page.res.text, /<script type="module" src="\/login-passkey\.js"><\/script>/);
        // A person takes seconds to pick a passkey; the request's start is known to the second.
        await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 10));
        // What /login-passkey.js does on a click: the discoverable sign-in, then on to data-next.
        const challenge = await browser.post<RequestOptionsJSON>('/login/passkey/options');
        const signedIn = await browser.post('/login/passkey', { response: auth.assert(challenge.body, { origin }) });
        assert.equal(signedIn.status, 200, signedIn.text);
        const consent = await browse(browser, resume!);
        const landing = consent.kind === 'page' && /Allow access/.test(consent.res.text) ? await submit(browser, consent, { decision: 'allow' }) : consent;
        const tokens = await exchange(rp, landing, request);
        assert.equal(tokens.claims()!.sub, String(who.id), JSON.stringify(parameters));
        assert.deepEqual(tokens.claims()!.amr, ['hwk', 'mfa']);
      }
    });
  });

  describe('kinds of client', () => {
    it('a public client (none) signs in with PKCE alone; client_secret_post works; a wrong secret is invalid_client', async () => {
      for (const method of ['none', 'client_secret_post'] as const) {
        const app = await registerClient(admin, { token_endpoint_auth_method: method });
        assert.equal(app.client_secret === undefined, method === 'none');
        const rp = await relyingParty(server, app);
        const who = await user();
        const browser = server.client();
        const request = await authorizationRequest(rp);
        const consent = await signIn(browser, await browse(browser, request.url.href), who.username);
        assert.equal((await exchange(rp, await submit(browser, consent, { decision: 'allow' }), request)).claims()!.sub, String(who.id));
        if (method !== 'none') continue;
        // A browser app calls the token endpoint from the origin of its redirect URI, and only that one.
        for (const [origin, allowed] of [['https://app.example', true], ['https://evil.example', false]] as const) {
          const res = await server.client().request('POST', '/oidc/token', { form: { grant_type: 'refresh_token', refresh_token: 'nope', client_id: app.client_id }, headers: { origin } });
          assert.equal(res.headers.get('access-control-allow-origin') === origin, allowed, origin);
        }
      }
      const app = await registerClient(admin);
      const wrong = await relyingParty(server, { ...app, client_secret: 'not-the-secret' });
      await assert.rejects(oidc.refreshTokenGrant(wrong, 'whatever'), (error: oidc.WWWAuthenticateChallengeError) => error.status === 401);
    });

    it('a first-party app never asks for consent, prompt=consent included, and is listed among the user\'s apps', async () => {
      const app = await registerClient(admin, { first_party: true, client_name: 'Our Own App' });
      const rp = await relyingParty(server, app);
      const who = await user();
      const browser = await loggedIn(who.username);
      const request = await authorizationRequest(rp);
      const straight = await browse(browser, request.url.href);
      assert.equal(straight.kind, 'app', 'signed in: straight back to the app');
      await exchange(rp, straight, request);
      const forced = await authorizationRequest(rp, { prompt: 'consent', scope: 'openid offline_access' });
      const stillStraight = await browse(browser, forced.url.href);
      assert.equal(stillStraight.kind, 'app');
      assert.ok((await exchange(rp, stillStraight, forced)).refresh_token);
      const apps = await browser.get<{ items: Array<{ client_id: string; client_name: string; scopes: string[] }> }>('/api/me/oidc/grants');
      assert.equal(apps.status, 200);
      assert.deepEqual(apps.body.items.map((item) => [item.client_id, item.client_name]), [[app.client_id, 'Our Own App']]);
      assert.deepEqual([...apps.body.items[0]!.scopes].sort(), ['email', 'offline_access', 'openid', 'profile']);
    });
  });

  describe('the apps a user authorised', () => {
    it('lists one row per app; removing one ends its tokens and forgets the consent', async () => {
      const app = await registerClient(admin, { client_name: 'Removable' });
      const rp = await relyingParty(server, app);
      const who = await user();
      const browser = server.client();
      let request = await authorizationRequest(rp, { scope: 'openid offline_access', prompt: 'consent' });
      const consent = await signIn(browser, await browse(browser, request.url.href), who.username);
      const tokens = await exchange(rp, await submit(browser, consent, { decision: 'allow' }), request);
      request = await authorizationRequest(rp, { scope: 'openid profile' });
      const more = await browse(browser, request.url.href);
      await exchange(rp, await submit(browser, more, { decision: 'allow' }), request);
      const listed = await browser.get<{ items: Array<{ client_id: string; client_name: string; scopes: string[]; created_at: string }> }>('/api/me/oidc/grants');
      assert.equal(listed.body.items.length, 1, 'one row per app');
      const [item] = listed.body.items;
      assert.equal(item?.client_name, 'Removable');
      assert.deepEqual([...(item?.scopes ?? [])].sort(), ['offline_access', 'openid', 'profile']);
      assert.match(item?.created_at ?? '', /^\d{4}-\d\d-\d\dT/);
      const consents = (await auditRows('oidc_consent_given')).filter((row) => row.user_id === who.id);
      assert.deepEqual(consents.map((row) => [row.detail?.client_id, row.detail?.scopes]), [[app.client_id, 'profile'], [app.client_id, 'openid offline_access']], 'each consent audited with what it added, newest first');
      assert.equal((await browser.send('DELETE', `/api/me/oidc/grants/${app.client_id}`)).status, 204);
      assert.deepEqual((await auditRows('oidc_grant_revoked')).filter((row) => row.user_id === who.id).map((row) => row.detail?.client_id), [app.client_id]);
      await assert.rejects(oidc.refreshTokenGrant(rp, tokens.refresh_token!), (error: oidc.ResponseBodyError) => error.error === 'invalid_grant');
      await assert.rejects(oidc.fetchUserInfo(rp, tokens.access_token, String(who.id)));
      assert.deepEqual((await browser.get<{ items: unknown[] }>('/api/me/oidc/grants')).body.items, []);
      const asked = await browse(browser, (await authorizationRequest(rp)).url.href);
      assert.equal(asked.kind, 'page');
      assert.match(asked.res.text, /Allow access/, 'consent is asked again');
      assert.equal((await browser.send('DELETE', `/api/me/oidc/grants/${app.client_id}`)).status, 404);
      assert.equal((await browser.send('DELETE', '/api/me/oidc/grants/no-such-app')).status, 404);
    });
  });

  describe('registering apps', () => {
    it('shows the secret once, stores it hashed, lists without secrets, and deleting an app ends its grants', async () => {
      const created = await registerClient(admin, { client_name: 'Listed', post_logout_redirect_uris: [] });
      assert.match(created.client_secret ?? '', /^[A-Za-z0-9_-]{43}$/);
      assert.deepEqual(Object.keys(created).sort(), ['client_id', 'client_name', 'client_secret', 'created_at', 'first_party', 'post_logout_redirect_uris', 'redirect_uris', 'token_endpoint_auth_method']);
      assert.equal(created.token_endpoint_auth_method, 'client_secret_basic');
      assert.equal(created.first_party, false);
      const row = await server.services.db.selectFrom('oidc_clients').selectAll().where('client_id', '=', created.client_id).executeTakeFirstOrThrow();
      assert.notEqual(row.secret_hash, created.client_secret);
      assert.equal(row.secret_hash?.length, 64, 'a SHA-256');
      const list = await admin.get<{ items: Array<Record<string, unknown>>; total: number; page: number; limit: number }>('/api/admin/oidc/clients?limit=100');
      assert.equal(list.status, 200);
      assert.equal(list.body.page, 1);
      assert.equal(list.body.limit, 100);
      assert.equal(list.body.total, list.body.items.length);
      const listed = list.body.items.find((item) => item.client_id === created.client_id);
      assert.ok(listed);
      assert.equal(listed.client_secret, undefined);
      assert.ok(!JSON.stringify(list.body).includes(created.client_secret!));
      const adminId = (await admin.get<{ id: number }>('/api/me')).body.id;
      const createdRow = (await auditRows('oidc_client_created')).find((row) => row.detail?.client_id === created.client_id);
      assert.deepEqual(createdRow && { actor: createdRow.actor_id, name: createdRow.detail?.client_name }, { actor: adminId, name: 'Listed' }, 'audited with the admin as actor');
      assert.ok(!JSON.stringify(await auditRows('oidc_client_created')).includes(created.client_secret!), 'never the secret');

      const rp = await relyingParty(server, created);
      const who = await user();
      const browser = server.client();
      const request = await authorizationRequest(rp, { scope: 'openid offline_access', prompt: 'consent' });
      const consent = await signIn(browser, await browse(browser, request.url.href), who.username);
      const tokens = await exchange(rp, await submit(browser, consent, { decision: 'allow' }), request);
      assert.equal((await admin.send('DELETE', `/api/admin/oidc/clients/${created.client_id}`)).status, 204);
      await assert.rejects(oidc.refreshTokenGrant(rp, tokens.refresh_token!), (error: oidc.WWWAuthenticateChallengeError) => error.status === 401, 'the client is gone');
      await assert.rejects(oidc.fetchUserInfo(rp, tokens.access_token, String(who.id)));
      assert.equal((await admin.send('DELETE', `/api/admin/oidc/clients/${created.client_id}`)).status, 404);
      assert.deepEqual((await auditRows('oidc_client_deleted')).filter((row) => row.detail?.client_id === created.client_id).map((row) => row.actor_id), [adminId], 'one row: the second DELETE was a 404');
      assert.deepEqual((await browser.get<{ items: unknown[] }>('/api/me/oidc/grants')).body.items, []);
    });

    it('validates the app (422 naming the field), and is for admins only', async () => {
      for (const [body, field] of [
        [{ redirect_uris: ['not a url'] }, 'redirect_uris'],
        [{ redirect_uris: ['https://app.example/cb#fragment'] }, 'redirect_uris'],
        [{ redirect_uris: [] }, 'redirect_uris'],
        [{ post_logout_redirect_uris: ['nope'] }, 'post_logout_redirect_uris'],
        [{ token_endpoint_auth_method: 'private_key_jwt' }, 'token_endpoint_auth_method'],
        [{ client_name: '' }, 'client_name'],
      ] as const) {
        const res = await admin.send<{ error: { code: string; fields: Record<string, string> } }>('POST', '/api/admin/oidc/clients', { ...{ client_name: 'Bad', redirect_uris: [REDIRECT_URI] }, ...body });
        assert.equal(res.status, 422, JSON.stringify(body));
        assert.equal(res.body.error.code, 'validation_failed');
        assert.ok(res.body.error.fields[field], `${JSON.stringify(body)}: ${JSON.stringify(res.body.error.fields)}`);
      }
      const plain = await loggedIn((await user()).username);
      assert.equal((await plain.send('POST', '/api/admin/oidc/clients', { client_name: 'X', redirect_uris: [REDIRECT_URI] })).status, 403);
      assert.equal((await plain.get('/api/admin/oidc/clients')).status, 403);
      assert.equal((await plain.send('DELETE', '/api/admin/oidc/clients/x')).status, 403);
    });

    it('`gatehouse oidc-client create` prints the admin API\'s answer as JSON', async () => {
      const { stdout } = await execFileAsync(
        process.execPath,
        ['--import', 'tsx', 'src/cli/main.ts', 'oidc-client', 'create', '--name', 'From the CLI', '--redirect-uri', REDIRECT_URI, '--redirect-uri', 'https://app.example/other', '--public', '--first-party'],
        { env: { ...process.env, NODE_ENV: 'test', DATABASE_URL: server.config.databaseUrl, PUBLIC_URL: server.url, LOG_LEVEL: 'silent' } },
      );
      const printed = JSON.parse(stdout) as RegisteredClient;
      assert.equal(printed.client_name, 'From the CLI');
      assert.deepEqual(printed.redirect_uris, [REDIRECT_URI, 'https://app.example/other']);
      assert.equal(printed.token_endpoint_auth_method, 'none');
      assert.equal(printed.first_party, true);
      assert.equal(printed.client_secret, undefined);
      const listed = await admin.get<{ items: Array<{ client_id: string }> }>('/api/admin/oidc/clients?limit=100');
      assert.ok(listed.body.items.some((item) => item.client_id === printed.client_id));
      const audited = (await auditRows('oidc_client_created')).find((row) => row.detail?.client_id === printed.client_id);
      assert.deepEqual(audited && { actor: audited.actor_id, firstParty: audited.detail?.first_party }, { actor: null, firstParty: true }, 'audited, by the operator (no actor)');
      const rp = await relyingParty(server, printed);
      const who = await user();
      const browser = await loggedIn(who.username);
      const request = await authorizationRequest(rp);
      assert.equal((await exchange(rp, await browse(browser, request.url.href), request)).claims()!.sub, String(who.id));
    });
  });
});

describe('OpenID Connect sign-in under REQUIRE_EMAIL_VERIFICATION', () => {
  let server: TestServer;
  before(async () => {
    server = await startOidcServer({ RATE_LIMIT_PER_IP: '100000', REQUIRE_EMAIL_VERIFICATION: 'on' });
  });
  after(async () => server?.close());

  it('refuses an unverified address on the sign-in page as /login does (403), and lets a verified one in', async () => {
    const created = await server.services.oidc.clients.create({ clientName: 'Strict', redirectUris: [REDIRECT_URI] }, { adminId: null, meta });
    const rp = await relyingParty(server, { client_id: created.client.clientId, client_secret: created.clientSecret!, client_name: 'Strict', redirect_uris: [REDIRECT_URI], post_logout_redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic', first_party: false, created_at: created.client.createdAt });
    const username = uniqueName('unverified');
    assert.equal((await server.client().post('/signup', { username, email: `${username}@example.com`, password: GOOD_PASSWORD })).status, 201);
    const browser = server.client();
    const page = await browse(browser, (await authorizationRequest(rp)).url.href);
    const refused = await submit(browser, page, { username, password: GOOD_PASSWORD });
    assert.equal(refused.kind, 'page');
    assert.equal(refused.res.status, 403);
    assert.match(refused.res.text, /verif/i);
    assert.equal((await browser.get('/check_session')).status, 204, 'no session');
    const user = await server.services.accounts.findByUsername(username);
    await markEmailVerified(server.services.db, user.id, `${username}@example.com`, new Date().toISOString());
    const consent = await submit(browser, refused, { username, password: GOOD_PASSWORD });
    assert.equal(consent.kind, 'page');
    assert.match(consent.res.text, /Allow access/);
  });
});

describe('OpenID Connect keys', () => {
  let server: TestServer;
  let clock: FakeClock;
  before(async () => {
    clock = fakeClock();
    server = await startOidcServer({ RATE_LIMIT_PER_IP: '100000', KEY_ENCRYPTION_SECRET }, { clock });
  });
  after(async () => server?.close());

  it('stores the RS256 key like the others (sealed), and picks up `gatehouse keys rotate` without a restart', async () => {
    const created = await server.services.oidc.clients.create({ clientName: 'Rotation', redirectUris: [REDIRECT_URI], firstParty: true }, { adminId: null, meta });
    const rows = await server.services.db.selectFrom('signing_keys').select(['kid', 'alg', 'purpose', 'private_jwk']).execute();
    const oidcKey = rows.find((row) => row.purpose === 'oidc');
    assert.equal(oidcKey?.alg, 'RS256');
    assert.ok(oidcKey?.private_jwk.startsWith('enc:v1:'), 'encrypted with KEY_ENCRYPTION_SECRET');
    assert.ok(rows.some((row) => row.purpose === 'access' && row.alg !== 'RS256'), 'beside the access token key');
    const published = JSON.parse((await server.client().get('/.well-known/jwks.json')).text) as { keys: Array<{ kid: string }> };
    assert.ok(!published.keys.some((key) => key.kid === oidcKey?.kid), 'the access token JWKS does not list the ID token key');

    const app: RegisteredClient = { client_id: created.client.clientId, client_secret: created.clientSecret!, client_name: 'Rotation', redirect_uris: [REDIRECT_URI], post_logout_redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic', first_party: true, created_at: created.client.createdAt };
    const username = uniqueName('rot');
    await server.services.accounts.signUp({ username, email: null, password: GOOD_PASSWORD }, meta, 'user', { byOperator: true });
    const browser = server.client();
    assert.equal((await browser.post('/login', { username, password: GOOD_PASSWORD })).status, 200);
    const rp = await relyingParty(server, app);
    async function idTokenKid(): Promise<string | undefined> {
      const request = await authorizationRequest(rp);
      const landing = await browse(browser, request.url.href);
      assert.equal(landing.kind, 'app');
      const tokens = await oidc.authorizationCodeGrant(rp, landing.url as URL, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
      return decodeProtectedHeader(tokens.id_token!).kid;
    }
    const before = await idTokenKid();
    assert.equal(before, oidcKey?.kid);

    const cli = await execFileAsync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'keys', 'rotate', '--now'], {
      env: { ...process.env, NODE_ENV: 'test', DATABASE_URL: server.config.databaseUrl, LOG_LEVEL: 'silent', KEY_ENCRYPTION_SECRET },
    });
    const rotated = /new ID token signing key (\S+) \(RS256\)/.exec(cli.stdout)?.[1];
    assert.ok(rotated && rotated !== before, cli.stdout);
    assert.equal(await idTokenKid(), before, 'this instance has not reloaded its keys yet');
    clock.advance(RELOAD_INTERVAL_MS + 1_000);
    assert.equal(await idTokenKid(), rotated, 'signed with the new key, no restart');
    const jwks = JSON.parse((await server.client().get('/oidc/jwks')).text) as { keys: Array<{ kid: string }> };
    assert.deepEqual(jwks.keys.map((key) => key.kid).sort(), [before, rotated].sort(), 'the old key still verifies (an id_token_hint at logout)');
  });
});

describe('OpenID Connect off (OIDC_ENABLED=false)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ OIDC_ENABLED: 'false' });
  });
  after(async () => server?.close());

  it('answers 404, as unknown routes, at every endpoint, the client admin routes and the grants routes', async () => {
    const client = server.client();
    for (const [method, path] of [
      ['GET', '/.well-known/openid-configuration'],
      ['GET', '/oidc/auth'],
      ['POST', '/oidc/token'],
      ['GET', '/oidc/jwks'],
      ['GET', '/oidc/interaction/abc'],
      ['GET', '/api/admin/oidc/clients'],
      ['POST', '/api/admin/oidc/clients'],
      ['DELETE', '/api/admin/oidc/clients/abc'],
      ['GET', '/api/me/oidc/grants'],
      ['DELETE', '/api/me/oidc/grants/abc'],
    ] as const) {
      const res = await client.request<{ error: { code: string } }>(method, path, { headers: { accept: 'application/json' } });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.body.error.code, 'not_found', `${method} ${path}`);
    }
  });

  it('has `gatehouse oidc-client create` say so', async () => {
    const run = execFileAsync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'oidc-client', 'create', '--name', 'X', '--redirect-uri', REDIRECT_URI], {
      env: { ...process.env, NODE_ENV: 'test', DATABASE_URL: server.config.databaseUrl, LOG_LEVEL: 'silent', OIDC_ENABLED: 'false' },
    });
    await assert.rejects(run, (error: { code?: number; stderr?: string }) => error.code === 1 && /OIDC_ENABLED=false/.test(error.stderr ?? ''));
  });
});
