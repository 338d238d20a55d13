/**
 * One whole "log in with Gatehouse" in Chromium: an app (a tiny HTTP server on another origin,
 * with openid-client doing its side) sends the browser to Gatehouse, which shows its login form
 * and its consent page; Allow takes the browser back to the app, which exchanges the code and
 * checks the ID token. The pages run under their real CSP: the redirects to the app after each
 * form post must pass `form-action`, or the browser stops (and reports a violation). Then the
 * account page lists the app, and removing it there ends its tokens.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import type { Browser } from 'playwright-core';
import { GOOD_PASSWORD, uniqueName } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';
import { authorizationRequest, relyingParty, startOidcServer } from '../helpers/oidc.js';
import { browserSkipReason, describeViolations, launchBrowser, newContext, screenshot, seriousViolations, watch } from './browser.js';

describe('signing in to another app with Gatehouse (OpenID Connect)', { skip: browserSkipReason() }, () => {
  let server: TestServer;
  let browser: Browser;
  let app: Server;
  let appUrl: string;

  before(async () => {
    browser = await launchBrowser(); // first: without Chromium, fail before a server is left running
    server = await startOidcServer({ RATE_LIMIT_PER_IP: '100000' });
    app = createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>The app</title><h1>Signed in</h1>'));
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    const address = app.address();
    appUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  after(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (app ? app.close(() => resolve()) : resolve()));
    await server?.close();
  });

  it('logs in on the Gatehouse form, asks consent, and lands back at the app with a code that yields a valid ID token', async () => {
    const redirectUri = `${appUrl}/callback`;
    const created = await server.services.oidc.clients.create({ clientName: 'Photo Album', redirectUris: [redirectUri] }, { adminId: null, meta: { ip: null, userAgent: null } });
    const rp = await relyingParty(server, {
      client_id: created.client.clientId,
      client_secret: created.clientSecret!,
      client_name: 'Photo Album',
      redirect_uris: [redirectUri],
      post_logout_redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      first_party: false,
      created_at: created.client.createdAt,
    });
    const username = uniqueName('Ada');
    const user = await server.services.accounts.signUp({ username, email: `${username.toLowerCase()}@example.com`, password: GOOD_PASSWORD }, { ip: null, userAgent: 'e2e' }, 'user', { byOperator: true });
    const request = await authorizationRequest(rp, { redirect_uri: redirectUri });

    const context = await newContext(browser, server);
    const page = await context.newPage();
    const { problems } = watch(page);
    await page.goto(request.url.href);
    await page.getByRole('heading', { level: 1, name: 'Log in' }).waitFor();
    await page.getByText('Log in to continue to Photo Album.').waitFor();
    await screenshot(page, 'e2e-oidc-login');
    await page.getByLabel('Username or email').fill(username);
    await page.getByLabel('Password').fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();

    await page.getByRole('heading', { level: 1, name: 'Allow access?' }).waitFor();
    await page.getByText('See your email address and whether it is verified').waitFor();
    await screenshot(page, 'e2e-oidc-consent');
    await page.getByRole('button', { name: 'Allow' }).click();

    await page.waitForURL((url) => url.href.startsWith(redirectUri));
    await page.getByRole('heading', { name: 'Signed in' }).waitFor();
    const tokens = await oidc.authorizationCodeGrant(rp, new URL(page.url()), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
    const claims = tokens.claims()!;
    assert.equal(claims.sub, String(user.id));
    assert.equal(claims.preferred_username, username);
    assert.deepEqual(claims.amr, ['pwd']);
    assert.equal(typeof claims.auth_time, 'number');
    assert.deepEqual(problems, [], 'no script error or CSP violation on the way (form-action allowed the redirects to the app)');

    // The second time, signed in and consented: straight back to the app, no page.
    const again = await authorizationRequest(rp, { redirect_uri: redirectUri });
    await page.goto(again.url.href);
    await page.waitForURL((url) => url.href.startsWith(redirectUri));
    const second = await oidc.authorizationCodeGrant(rp, new URL(page.url()), { pkceCodeVerifier: again.verifier, expectedState: again.state, expectedNonce: again.nonce });

    // The account page lists the app; removing it ends its tokens, and the next sign-in asks again.
    await page.goto(`${server.url}/account`);
    const apps = page.getByRole('region', { name: 'Apps you let in' });
    await apps.getByRole('heading', { level: 3, name: 'Photo Album' }).waitFor();
    await apps.getByText('who you are on Gatehouse, your username, your email address').waitFor();
    await screenshot(page, 'e2e-oidc-account-apps');
    await apps.getByRole('button', { name: 'Remove Photo Album' }).click();
    await apps.getByRole('button', { name: 'Yes, remove' }).click();
    await apps.getByText('Removed Photo Album.').waitFor();
    await apps.getByText('No app signs in with your account.').waitFor();
    await assert.rejects(oidc.fetchUserInfo(rp, second.access_token, String(user.id)), 'the removed app\'s access token stopped working');
    await page.goto((await authorizationRequest(rp, { redirect_uri: redirectUri })).url.href);
    await page.getByRole('heading', { level: 1, name: 'Allow access?' }).waitFor();
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('keeps the sign-in and consent pages free of serious accessibility problems', async () => {
    const redirectUri = `${appUrl}/callback`;
    const created = await server.services.oidc.clients.create({ clientName: 'Accessible App', redirectUris: [redirectUri] }, { adminId: null, meta: { ip: null, userAgent: null } });
    const rp = await relyingParty(server, {
      client_id: created.client.clientId,
      client_secret: created.clientSecret!,
      client_name: 'Accessible App',
      redirect_uris: [redirectUri],
      post_logout_redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      first_party: false,
      created_at: created.client.createdAt,
    });
    const username = uniqueName('Axe');
    await server.services.accounts.signUp({ username, email: null, password: GOOD_PASSWORD }, { ip: null, userAgent: 'e2e' }, 'user', { byOperator: true });
    // axe is injected as a script: this context bypasses the CSP (the flow above ran under it).
    const context = await newContext(browser, server, { bypassCSP: true });
    const page = await context.newPage();
    await page.goto((await authorizationRequest(rp, { redirect_uri: redirectUri })).url.href);
    await page.getByRole('heading', { level: 1, name: 'Log in' }).waitFor();
    let violations = await seriousViolations(page);
    assert.deepEqual(violations, [], describeViolations(violations));
    await page.getByLabel('Username or email').fill(username);
    await page.getByLabel('Password').fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Allow access?' }).waitFor();
    violations = await seriousViolations(page);
    assert.deepEqual(violations, [], describeViolations(violations));
    await context.close();
  });
});
