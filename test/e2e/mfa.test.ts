/**
 * Two-step verification (TOTP) in a real browser over the real server: sign up, set up an
 * authenticator app from the account page (the key read from the page, a wrong code first, then
 * the right one; the recovery codes shown once), log out, log in through the server's form pages
 * with JavaScript disabled (the code step at /login/mfa, a wrong code first), then with a recovery
 * code; back on the account page new recovery codes and turning it off, each asking for the
 * password once the sign-in is no longer recent. Also axe (no violation of any impact) on
 * /login/mfa with and without an error and on the account section in each of its states.
 *
 * The server runs on a fake clock: codes come from test/helpers/mfa.ts for the clock's time, and
 * a test moves the clock past a spent time step or REAUTH_MAX_AGE instead of waiting.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { fakeClock, GOOD_PASSWORD, startTestServer, uniqueName } from '../helpers/app.js';
import type { FakeClock, TestServer } from '../helpers/app.js';
import { STEP_MS, totpCode, wrongCode } from '../helpers/mfa.js';
import { browserSkipReason, launchBrowser, newContext, screenshot, signUpInContext, watch } from './browser.js';
import type { AxeViolation } from './browser.js';

/** Past REAUTH_MAX_AGE (600 s by default): the sign-in is no longer recent. */
const PAST_REAUTH = 601_000;
const SECTION = 'Two-step verification';

/** The page's problems, minus Chromium's console line for the 403 reauthentication_required a flow expects. */
function unexpected(problems: string[]): string[] {
  return problems.filter((p) => !/^console: Failed to load resource: the server responded with a status of 403\b/.test(p));
}

let axeSource: string | undefined;

/** axe-core on the page, every violation whatever its impact. */
async function allViolations(page: Page): Promise<AxeViolation[]> {
  axeSource ??= readFileSync(join(process.cwd(), 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
  if (!(await page.evaluate('typeof axe !== "undefined"'))) await page.addScriptTag({ content: axeSource });
  return page.evaluate(async () => {
    const page = globalThis as unknown as { document: unknown; axe: { run: (context: unknown, options: object) => Promise<{ violations: AxeViolation[] }> } };
    const result = await page.axe.run(page.document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })) }));
  });
}

function describeAll(violations: AxeViolation[]): string {
  return violations.map((v) => `${v.impact} ${v.id}: ${v.help}\n${v.nodes.map((n) => `    ${JSON.stringify(n.target)} ${n.failureSummary ?? ''}`).join('\n')}`).join('\n');
}

/** The key as the page shows it, without the spaces between its groups. */
async function secretOn(section: Locator): Promise<string> {
  return ((await section.locator('#two-step-secret').textContent()) ?? '').replace(/\s+/g, '');
}

async function recoveryCodesOn(section: Locator): Promise<string[]> {
  return (await section.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').allTextContents()).map((code) => code.trim());
}

describe('two-step verification in the browser', { skip: browserSkipReason() }, () => {
  let browser: Browser;
  let server: TestServer;
  let clock: FakeClock;

  before(async () => {
    browser = await launchBrowser(); // first: without Chromium, fail before a server is left running
    clock = fakeClock();
    server = await startTestServer({ RATE_LIMIT_PER_IP: '100000' }, { clock });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  /** The form login's two pages in a browser without JavaScript, up to the code step. */
  async function toCodeStep(context: BrowserContext, username: string): Promise<Page> {
    const page = await context.newPage();
    await page.goto('/login');
    await page.getByLabel('Username or email').fill(username);
    await page.getByLabel('Password').fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${server.url}/login/mfa`);
    await page.getByRole('heading', { level: 1, name: 'Two-step verification' }).waitFor();
    return page;
  }

  it('sets TOTP up on the account page, logs in without JavaScript with a code and with a recovery code, makes new codes, turns it off', async () => {
    const username = uniqueName('Totp');
    const here = await newContext(browser, server);
    const page = await here.newPage();
    const { problems } = watch(page);

    await page.goto('/signup');
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password', { exact: true }).fill(GOOD_PASSWORD);
    await page.getByLabel('Confirm password').fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Create an account' }).click();
    await page.getByRole('heading', { level: 1, name: `Welcome, ${username}!` }).waitFor();

    // Set up: the sign-in is recent, so no password is asked.
    await page.goto('/account');
    const section = page.getByRole('region', { name: SECTION });
    await section.getByText('Signing in asks for your password only.', { exact: false }).waitFor();
    await section.getByRole('button', { name: 'Set up two-step verification' }).click();
    await section.getByRole('heading', { name: 'Set up your authenticator app' }).waitFor();
    assert.equal(await page.evaluate('document.activeElement.textContent'), 'Set up your authenticator app', 'the set-up takes focus');
    const qr = section.getByRole('img', { name: 'QR code for your authenticator app' });
    await qr.waitFor();
    assert.equal(await section.locator('svg[role="img"]').count(), 1, 'an SVG drawn by the app, no <img>');
    assert.ok((await qr.locator('path').getAttribute('d'))?.startsWith('M'), 'the QR code is drawn');
    const secret = await secretOn(section);
    assert.match(secret, /^[A-Z2-7]{32,}$/);

    // A wrong code: at the field, the summary focused; then the right one.
    await section.getByLabel('Code from the app').fill(wrongCode(secret, clock()));
    const [refused] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/api/me/mfa/totp/confirm')), section.getByRole('button', { name: 'Turn on' }).click()]);
    assert.equal(refused.status(), 422);
    await section.locator('#two-step-errors').waitFor();
    assert.equal(await page.evaluate('document.activeElement.id'), 'two-step-errors');
    assert.equal(await section.getByLabel('Code from the app').getAttribute('aria-invalid'), 'true');
    await section.getByLabel('Code from the app').fill(totpCode(secret, clock()));
    await section.getByRole('button', { name: 'Turn on' }).click();
    await section.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    await section.getByRole('status').getByText('Two-step verification is on.').waitFor();
    const codes = await recoveryCodesOn(section);
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    await screenshot(page, 'e2e-mfa-recovery-codes');
    await section.getByRole('button', { name: 'I have saved my codes' }).click();
    await section.getByText('You have 10 recovery codes left.', { exact: false }).waitFor();
    assert.equal(await section.getByRole('list', { name: 'Recovery codes' }).count(), 0, 'shown once');

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${server.url}/login`);

    // Without JavaScript: the password, then /login/mfa; a wrong code shows the page again with 401.
    clock.advance(STEP_MS);
    const noScript = await newContext(browser, server, { javaScriptEnabled: false });
    const plain = await toCodeStep(noScript, username);
    const plainWatch = watch(plain);
    await plain.getByLabel('Code', { exact: true }).fill(wrongCode(secret, clock()));
    const [wrong] = await Promise.all([plain.waitForResponse((r) => r.url().endsWith('/login/mfa') && r.request().method() === 'POST'), plain.getByRole('button', { name: 'Verify' }).click()]);
    assert.equal(wrong.status(), 401);
    await plain.getByRole('alert').getByText('There is a problem').waitFor();
    assert.equal(await plain.title(), 'Error: Two-step verification · Gatehouse');
    await screenshot(plain, 'e2e-mfa-login-error');
    await plain.getByLabel('Code', { exact: true }).fill(totpCode(secret, clock()));
    await plain.getByRole('button', { name: 'Verify' }).click();
    await plain.waitForURL(`${server.url}/`);
    await plain.getByRole('heading', { level: 1, name: `Welcome, ${username}!` }).waitFor();
    assert.ok(!(await noScript.cookies()).some((c) => c.name === 'gatehouse_mfa'), 'the second-step cookie is gone');
    assert.deepEqual(plainWatch.problems, []);
    await noScript.close();

    // Without JavaScript again, with a recovery code (typed in lower case, without dashes).
    const lost = await newContext(browser, server, { javaScriptEnabled: false });
    const lostPage = await toCodeStep(lost, username);
    await lostPage.getByText('Lost your device? Use a recovery code').click();
    await lostPage.getByLabel('Recovery code').fill((codes[0] ?? '').toLowerCase().replace(/-/g, ''));
    await lostPage.getByRole('button', { name: 'Verify' }).click();
    await lostPage.waitForURL(`${server.url}/`);
    await lostPage.getByRole('heading', { level: 1, name: `Welcome, ${username}!` }).waitFor();
    await lost.close();

    // Back here with JavaScript: the form login's second step, then the account page.
    await page.getByLabel('Username or email').fill(username);
    await page.getByLabel('Password').fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${server.url}/login/mfa`);
    clock.advance(STEP_MS);
    await page.getByLabel('Code', { exact: true }).fill(totpCode(secret, clock()));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { level: 1, name: `Welcome, ${username}!` }).waitFor();
    await page.goto('/account');
    await section.getByText('You have 9 recovery codes left.', { exact: false }).waitFor();

    // New recovery codes, no longer recent: a confirmation, then the password (a wrong one first).
    clock.advance(PAST_REAUTH);
    await section.getByRole('button', { name: 'New recovery codes' }).click();
    await section.getByRole('group').getByText('Make new recovery codes?', { exact: false }).waitFor();
    const [asked] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/api/me/mfa/recovery-codes')), section.getByRole('button', { name: 'Yes, make new codes' }).click()]);
    assert.equal(asked.status(), 403);
    const password = section.getByLabel('Your password');
    await password.waitFor();
    assert.equal(await page.evaluate('document.activeElement.id'), 'two-step-password', 'the password field takes focus');
    await password.fill('not the password');
    await section.getByRole('button', { name: 'Make new codes' }).click();
    await section.getByRole('alert').getByRole('link', { name: 'That is not your password.' }).waitFor();
    await password.fill(GOOD_PASSWORD);
    await section.getByRole('button', { name: 'Make new codes' }).click();
    await section.getByRole('heading', { name: 'Your new recovery codes' }).waitFor();
    const fresh = await recoveryCodesOn(section);
    assert.equal(fresh.length, 10);
    assert.equal(fresh.filter((code) => codes.includes(code)).length, 0);
    await section.getByRole('button', { name: 'I have saved my codes' }).click();
    await section.getByText('You have 10 recovery codes left.', { exact: false }).waitFor();
    assert.equal(await page.evaluate('document.activeElement.className'), 'summary', 'focus lands on what the section now says');

    // Turn it off: a confirmation, the password again (current_password is a one-time proof).
    await section.getByRole('button', { name: 'Turn off two-step verification' }).click();
    await section.getByRole('button', { name: 'Yes, turn it off' }).click();
    await password.fill(GOOD_PASSWORD);
    const [off] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/api/me/mfa/totp')), section.getByRole('button', { name: 'Turn off' }).click()]);
    assert.equal(off.status(), 204);
    await section.getByRole('status').getByText('Two-step verification is off.', { exact: false }).waitFor();
    await section.getByRole('button', { name: 'Set up two-step verification' }).waitFor();
    const login = await server.client().post<{ username?: string }>('/login', { username, password: GOOD_PASSWORD });
    assert.equal(login.body.username, username, 'the password alone signs in again');
    assert.deepEqual(unexpected(problems), []);
    await here.close();
  });

  it('has no axe violation on /login/mfa (with and without an error) or in any state of the account section', async () => {
    const username = uniqueName('AxeTotp');
    const failures: string[] = [];
    const context = await newContext(browser, server, { bypassCSP: true });
    const page = await context.newPage();
    const { problems } = watch(page);
    const check = async (state: string) => {
      const violations = await allViolations(page);
      if (violations.length > 0) failures.push(`${state}:\n${describeAll(violations)}`);
    };
    const fitsPhone = async (state: string) => {
      await page.setViewportSize({ width: 360, height: 740 });
      const overflow = (await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
      if (overflow > 0) failures.push(`${state} at 360 px: ${overflow}px wider than the screen`);
      await page.setViewportSize({ width: 1024, height: 768 });
    };
    await signUpInContext(context, username, GOOD_PASSWORD);

    await page.goto('/account');
    const section = page.getByRole('region', { name: SECTION });
    await section.getByRole('button', { name: 'Set up two-step verification' }).waitFor();
    await check('account: off');
    await section.getByRole('button', { name: 'Set up two-step verification' }).click();
    await section.getByRole('heading', { name: 'Set up your authenticator app' }).waitFor();
    await check('account: set-up');
    await fitsPhone('account: set-up');
    await screenshot(page, 'e2e-mfa-setup');
    await section.getByRole('button', { name: 'Turn on' }).click();
    await section.locator('#two-step-errors').waitFor();
    await check('account: set-up with an error');
    const secret = await secretOn(section);
    await section.getByLabel('Code from the app').fill(totpCode(secret, clock()));
    await section.getByRole('button', { name: 'Turn on' }).click();
    await section.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
    await check('account: recovery codes');
    await fitsPhone('account: recovery codes');
    await section.getByRole('button', { name: 'I have saved my codes' }).click();
    await section.getByText('You have 10 recovery codes left.', { exact: false }).waitFor();
    await check('account: on');
    await section.getByRole('button', { name: 'Turn off two-step verification' }).click();
    await section.getByRole('button', { name: 'Yes, turn it off' }).waitFor();
    await check('account: turn-off confirmation');
    await section.getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await page.evaluate('document.activeElement.textContent'), 'Turn off two-step verification', 'Cancel gives focus back');
    clock.advance(PAST_REAUTH);
    await section.getByRole('button', { name: 'New recovery codes' }).click();
    await section.getByRole('button', { name: 'Yes, make new codes' }).click();
    await section.getByLabel('Your password').waitFor();
    await section.getByRole('button', { name: 'Make new codes' }).click();
    await section.locator('#two-step-errors').getByRole('link', { name: 'Enter your password.' }).waitFor();
    await check('account: the password step with its error');
    await fitsPhone('account: the password step');

    // The form login's second step: the page, then the page with an error.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${server.url}/login`);
    await page.getByLabel('Username or email').fill(username);
    await page.getByLabel('Password').fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${server.url}/login/mfa`);
    await page.getByRole('heading', { level: 1, name: 'Two-step verification' }).waitFor();
    await check('/login/mfa');
    await fitsPhone('/login/mfa');
    await screenshot(page, 'e2e-mfa-login');
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('alert').getByText('There is a problem').waitFor();
    await check('/login/mfa with an error (no code)');
    clock.advance(STEP_MS);
    await page.getByLabel('Code', { exact: true }).fill(wrongCode(secret, clock()));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('alert').getByText('There is a problem').waitFor();
    await check('/login/mfa with an error (a wrong code)');

    assert.equal(failures.length, 0, failures.join('\n\n'));
    assert.deepEqual(unexpected(problems), []);
    await context.close();
  });
});
