/**
 * Passkeys in real headless Chromium, with the DevTools WebAuthn virtual authenticator (CDP
 * `WebAuthn.addVirtualAuthenticator`: CTAP2, internal, resident keys, user verification) over the
 * real server: a passkey enrolled on the account page, a logout, the sign-in with the passkey
 * button of the server-rendered /login page (its script loaded under the strict CSP), a replayed
 * and a tampered assertion refused, the passkey renamed and removed (with the password step once
 * the sign-in is no longer recent), and axe on the account page's passkeys section. Also /login
 * without WebAuthn and without JavaScript: no button, and the form still logs in.
 *
 * WebAuthn needs a secure context and an RP id that is the page's host: the server's PUBLIC_URL
 * is http://localhost:PORT, the URL the browser opens (127.0.0.1 would be an IP: browsers refuse it).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, BrowserContextOptions, CDPSession, Page } from 'playwright-core';
import { createServices, openStorage, startHousekeeping } from '../../src/composition.js';
import { loadConfig } from '../../src/config.js';
import type { Config } from '../../src/config.js';
import { buildApp } from '../../src/server/app.js';
import type { GatehouseApp } from '../../src/server/app.js';
import { createLoggers } from '../../src/server/logging.js';
import type { Storage } from '../../src/storage/database.js';
import { fakeClock, GOOD_PASSWORD, TEST_OUTPUT, uniqueName } from '../helpers/app.js';
import type { FakeClock } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/database.js';
import type { TestDatabase } from '../helpers/database.js';
import { freePort } from '../helpers/ports.js';
import type { AxeViolation } from './browser.js';
import { browserSkipReason, launchBrowser, screenshot, signUpInContext, watch } from './browser.js';

/** Past REAUTH_MAX_AGE (600 s by default): the sign-in is no longer recent. */
const PAST_REAUTH = 601_000;
const SECTION = 'section[aria-labelledby="passkeys-heading"]';

/** The page's problems, minus Chromium's console lines for the answers a flow expects (403 reauthentication_required; 401 is let by already). */
function unexpected(problems: string[]): string[] {
  return problems.filter((p) => !/^console: Failed to load resource: the server responded with a status of 403\b/.test(p));
}

let axeSource: string | undefined;

/** axe-core on one part of the page, every violation whatever its impact. The context must bypass the CSP. */
async function violationsIn(page: Page, selector: string): Promise<AxeViolation[]> {
  axeSource ??= readFileSync(join(process.cwd(), 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
  if (!(await page.evaluate('typeof axe !== "undefined"'))) await page.addScriptTag({ content: axeSource });
  return page.evaluate(async (include) => {
    const page = globalThis as unknown as { axe: { run: (context: unknown, options: object) => Promise<{ violations: AxeViolation[] }> } };
    const result = await page.axe.run({ include: [[include]] }, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })) }));
  }, selector);
}

function describeAll(violations: AxeViolation[]): string {
  return violations.map((v) => `${v.impact} ${v.id}: ${v.help}\n${v.nodes.map((n) => `    ${JSON.stringify(n.target)} ${n.failureSummary ?? ''}`).join('\n')}`).join('\n');
}

/** A virtual platform authenticator for this page's tab: it keeps discoverable credentials and verifies the user at once. */
async function addVirtualAuthenticator(context: BrowserContext, page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { cdp, authenticatorId };
}

describe('passkeys in the browser', { skip: browserSkipReason() }, () => {
  let browser: Browser;
  let clock: FakeClock;
  let database: TestDatabase;
  let storage: Storage;
  let app: GatehouseApp;
  let config: Readonly<Config>;
  let baseURL: string;

  before(async () => {
    browser = await launchBrowser(); // first: without Chromium, fail before a server is left running
    clock = fakeClock();
    // As helpers/app.ts's startTestServer, but on a port known before the config: PUBLIC_URL must
    // be the localhost URL the browser opens.
    const port = await freePort();
    baseURL = `http://localhost:${port}`;
    database = await createTestDatabase(process.env.TEST_DATABASE_URL, TEST_OUTPUT);
    config = loadConfig({ NODE_ENV: 'test', BCRYPT_COST: '4', DATABASE_URL: database.url, PORT: String(port), PUBLIC_URL: baseURL, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', MAIL_DIR: join(TEST_OUTPUT, 'mail') });
    storage = await openStorage(config);
    const loggers = createLoggers(config);
    const services = createServices(config, { storage, log: loggers.log, clock });
    app = await buildApp(config, services, { loggers });
    const stopHousekeeping = startHousekeeping(services, loggers.log);
    app.addHook('onClose', async () => stopHousekeeping());
    await app.listen({ port, host: '127.0.0.1' });
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await storage?.close();
    await database?.drop();
  });

  function newContext(options: BrowserContextOptions = {}): Promise<BrowserContext> {
    return browser.newContext({ baseURL, viewport: { width: 1024, height: 768 }, ...options });
  }

  it('enrols a passkey on the account page, signs in with it on /login, refuses a replay and a tampered assertion, removes it', async () => {
    assert.equal(config.webauthnRpId, 'localhost');
    const username = uniqueName('Pk');
    const context = await newContext();
    await signUpInContext(context, username, GOOD_PASSWORD);
    const page = await context.newPage();
    const { problems } = watch(page);
    const { cdp, authenticatorId } = await addVirtualAuthenticator(context, page);

    // Enrol on the account page.
    await page.goto('/account');
    const section = page.locator(SECTION);
    await section.getByRole('heading', { level: 2, name: 'Passkeys' }).waitFor();
    await section.getByText('You have no passkeys yet.').waitFor();
    await section.getByLabel('Name for a new passkey (optional)').fill('Test laptop');
    const [added] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/api/me/passkeys')),
      section.getByRole('button', { name: 'Add a passkey' }).click(),
    ]);
    assert.equal(added.status(), 201, await added.text());
    await section.getByRole('status').getByText('The passkey “Test laptop” was added. You can now sign in with it.').waitFor();
    await section.getByText('You have 1 passkey.').waitFor();
    assert.equal(await page.evaluate('document.activeElement.className'), 'summary', 'focus lands on the list summary');
    const rows = section.getByRole('list', { name: 'Passkeys' }).getByRole('listitem');
    assert.equal(await rows.count(), 1);
    assert.match((await rows.first().textContent()) ?? '', /Test laptop.*Added .*Not used yet/s);
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0]?.rpId, 'localhost');
    assert.equal(credentials[0]?.isResidentCredential, true, 'a discoverable credential');
    await screenshot(page, 'e2e-account-passkeys');

    // Rename it inline.
    await section.getByRole('button', { name: 'Rename Test laptop' }).click();
    const renameInput = section.getByLabel('New name for the passkey “Test laptop”');
    await renameInput.fill('Work laptop');
    await renameInput.press('Enter');
    await section.getByRole('status').getByText('Renamed the passkey to “Work laptop”.').waitFor();
    assert.equal(await page.evaluate('document.activeElement.textContent'), 'Rename Work laptop', 'focus returns to the Rename button');

    // Log out, then sign in with the passkey button of the server's login page.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${baseURL}/login`);
    const passkeyButton = page.getByRole('button', { name: 'Sign in with a passkey' });
    await passkeyButton.waitFor();
    await screenshot(page, 'e2e-login-passkey');
    const [signInRequest, signedIn] = await Promise.all([
      page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/login/passkey')),
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/login/passkey')),
      passkeyButton.click(),
    ]);
    assert.equal(signedIn.status(), 200);
    await page.waitForURL(`${baseURL}/`);
    await page.getByRole('heading', { level: 1, name: `Welcome, ${username}!` }).waitFor();

    // The same assertion again: its challenge is spent.
    const replayed = await context.request.post('/login/passkey', { headers: { 'content-type': 'application/json' }, data: signInRequest.postData() ?? '' });
    assert.equal(replayed.status(), 401, await replayed.text());
    assert.equal((await replayed.json()).error.code, 'invalid_credentials');

    // A tampered assertion (one bit of the signature flipped on its way): refused, said on the page.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${baseURL}/login`);
    await page.route('**/login/passkey', async (route) => {
      const body = JSON.parse(route.request().postData() ?? '{}') as { response: { response: { signature: string } } };
      const signature = Buffer.from(body.response.response.signature, 'base64url');
      signature[signature.length - 1] = (signature[signature.length - 1] ?? 0) ^ 0x01;
      body.response.response.signature = signature.toString('base64url');
      await route.continue({ postData: JSON.stringify(body) });
    });
    const [tampered] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/login/passkey')),
      page.getByRole('button', { name: 'Sign in with a passkey' }).click(),
    ]);
    assert.equal(tampered.status(), 401);
    await page.getByRole('alert').getByText('That passkey could not sign you in. Try again, or log in with your password.').waitFor();
    assert.equal(page.url(), `${baseURL}/login`, 'still on the login page');
    await page.unroute('**/login/passkey');

    // Signed in again by the passkey; later (no longer recent) it is removed, with the password step.
    await Promise.all([page.waitForURL(`${baseURL}/`), page.getByRole('button', { name: 'Sign in with a passkey' }).click()]);
    await page.goto('/account');
    await section.getByText(/Last used /).waitFor();
    clock.advance(PAST_REAUTH);
    await section.getByRole('button', { name: 'Remove Work laptop' }).click();
    assert.equal(await page.evaluate('document.activeElement.textContent'), 'Yes, remove', 'the confirmation takes focus');
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().includes('/api/me/passkeys/')),
      section.getByRole('button', { name: 'Yes, remove' }).click(),
    ]);
    assert.equal(refused.status(), 403);
    const password = section.getByLabel('Your password');
    await password.waitFor();
    assert.equal(await page.evaluate('document.activeElement.type'), 'password', 'the password step takes focus');
    await password.fill('not my password');
    await section.getByRole('button', { name: 'Remove passkey' }).click();
    await section.getByRole('alert').getByRole('link', { name: 'That is not your password.' }).waitFor();
    await password.fill(GOOD_PASSWORD);
    const [removed] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().includes('/api/me/passkeys/')),
      section.getByRole('button', { name: 'Remove passkey' }).click(),
    ]);
    assert.equal(removed.status(), 204);
    await section.getByRole('status').getByText('The passkey “Work laptop” was removed.').waitFor();
    await section.getByText('You have no passkeys yet.').waitFor();

    // The authenticator still holds the credential; the server no longer knows it.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${baseURL}/login`);
    const [unknown] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/login/passkey')),
      page.getByRole('button', { name: 'Sign in with a passkey' }).click(),
    ]);
    assert.equal(unknown.status(), 401);
    await page.getByRole('alert').getByText(/That passkey could not sign you in/).waitFor();

    assert.deepEqual(unexpected(problems), [], 'no script errors or CSP violations');
    await context.close();
  });

  it('adds a passkey after the password step once the sign-in is no longer recent', async () => {
    const username = uniqueName('PkR');
    const context = await newContext();
    await signUpInContext(context, username, GOOD_PASSWORD);
    const page = await context.newPage();
    const { problems } = watch(page);
    await addVirtualAuthenticator(context, page);
    await page.goto('/account');
    const section = page.locator(SECTION);
    await section.getByText('You have no passkeys yet.').waitFor();
    clock.advance(PAST_REAUTH);
    await section.getByRole('button', { name: 'Add a passkey' }).click();
    await section.getByText('Confirm it is you: enter your password to add a passkey.').waitFor();
    await section.getByLabel('Your password').fill(GOOD_PASSWORD);
    await section.getByRole('button', { name: 'Continue' }).click();
    await section.getByRole('status').getByText('The passkey “Passkey 1” was added. You can now sign in with it.').waitFor();
    assert.deepEqual(unexpected(problems), []);
    await context.close();
  });

  it('the passkeys section passes axe (every impact): with a passkey listed, confirming a removal, renaming', async () => {
    const username = uniqueName('PkA');
    const context = await newContext({ bypassCSP: true }); // only to inject axe
    await signUpInContext(context, username, GOOD_PASSWORD);
    const page = await context.newPage();
    await addVirtualAuthenticator(context, page);
    await page.goto('/account');
    const section = page.locator(SECTION);
    await section.getByRole('button', { name: 'Add a passkey' }).click();
    await section.getByText('You have 1 passkey.').waitFor();
    let violations = await violationsIn(page, SECTION);
    assert.deepEqual(violations, [], describeAll(violations));
    await section.getByRole('button', { name: 'Remove Passkey 1' }).click();
    violations = await violationsIn(page, SECTION);
    assert.deepEqual(violations, [], describeAll(violations));
    await section.getByRole('button', { name: 'Cancel' }).click();
    await section.getByRole('button', { name: 'Rename Passkey 1' }).click();
    violations = await violationsIn(page, SECTION);
    assert.deepEqual(violations, [], describeAll(violations));
    await page.setViewportSize({ width: 360, height: 740 });
    violations = await violationsIn(page, SECTION);
    assert.deepEqual(violations, [], describeAll(violations));

    // The login page with its passkey button shown.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('button', { name: 'Sign in with a passkey' }).waitFor();
    violations = await violationsIn(page, 'main');
    assert.deepEqual(violations, [], describeAll(violations));
    await context.close();
  });

  it('without WebAuthn, or without JavaScript, /login shows no passkey button and the form still logs in', async () => {
    const username = uniqueName('PkN');
    const setup = await newContext();
    await signUpInContext(setup, username, GOOD_PASSWORD);
    await setup.close();

    const noWebAuthn = await newContext();
    await noWebAuthn.addInitScript('delete window.PublicKeyCredential');
    const page = await noWebAuthn.newPage();
    const { problems } = watch(page);
    const loaded = page.waitForResponse((r) => r.url().endsWith('/login-passkey.js'));
    await page.goto('/login');
    assert.equal((await loaded).status(), 200, 'the script loads');
    assert.match((await loaded).headers()['content-type'] ?? '', /^text\/javascript/);
    await page.waitForLoadState('load');
    assert.equal(await page.getByRole('button', { name: 'Sign in with a passkey' }).isVisible(), false);
    assert.deepEqual(problems, []);
    await noWebAuthn.close();

    const noScript = await newContext({ javaScriptEnabled: false });
    const bare = await noScript.newPage();
    await bare.goto('/login');
    assert.equal(await bare.getByRole('button', { name: 'Sign in with a passkey' }).isVisible(), false);
    await bare.getByLabel('Username or email').fill(username);
    await bare.getByLabel('Password').fill(GOOD_PASSWORD);
    await Promise.all([bare.waitForURL(`${baseURL}/`), bare.getByRole('button', { name: 'Log in' }).click()]);
    await bare.getByRole('heading', { level: 1, name: `Welcome, ${username}!` }).waitFor();
    await noScript.close();
  });
});
