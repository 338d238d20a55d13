/**
 * The account page (/account) in a real browser over the real server: where you are signed in
 * (signing one session out, or everywhere else), changing the password (a wrong current password
 * shown at the field, then success, and the app still working on the new session's cookies), and
 * deleting the account (confirmation; the password asked for when the sign-in is no longer
 * recent; the last admin refused). Also axe at 1024 and 360 px, and the forms by keyboard alone.
 *
 * The server runs on a fake clock, so a test can move past REAUTH_MAX_AGE instead of waiting.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { fakeClock, GOOD_PASSWORD, startTestServer, uniqueName } from '../helpers/app.js';
import type { FakeClock, TestServer } from '../helpers/app.js';
import { browserSkipReason, describeViolations, launchBrowser, newContext, screenshot, seriousViolations, signedInContext, signUpInContext, watch } from './browser.js';

const NEW_PASSWORD = 'a brand new passphrase 42';
/** Past REAUTH_MAX_AGE (600 s by default): the sign-in is no longer recent. */
const PAST_REAUTH = 601_000;

/** What the page has focused, by id (evaluated in the page). */
function focusedId(page: Page): Promise<unknown> {
  return page.evaluate('document.activeElement ? document.activeElement.id : null');
}

/** The focused element's text (buttons, links). */
function focusedText(page: Page): Promise<unknown> {
  return page.evaluate('document.activeElement ? document.activeElement.textContent : null');
}

/**
 * The page's problems, minus Chromium's console line for the one answer a flow expects: the 403
 * reauthentication_required of DELETE /api/me (browser.ts's watch already lets 401, 409 and 422 by).
 */
function unexpected(problems: string[]): string[] {
  return problems.filter((p) => !/^console: Failed to load resource: the server responded with a status of 403\b/.test(p));
}

describe('the account page', { skip: browserSkipReason() }, () => {
  let server: TestServer;
  let browser: Browser;
  let clock: FakeClock;
  before(async () => {
    browser = await launchBrowser(); // first: without Chromium, fail before a server is left running
    clock = fakeClock();
    server = await startTestServer({}, { clock });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  /** Log in through the JSON route in another context: a second browser session. */
  function secondBrowser(username: string, password = GOOD_PASSWORD): Promise<BrowserContext> {
    return signedInContext(browser, server, username, password);
  }

  async function loginStatus(username: string, password: string): Promise<number> {
    return (await server.client().post('/login', { username, password })).status;
  }

  it('lists two browser sessions, signs the other out, changes the password, and deletes the account', async () => {
    const username = uniqueName('Acct');
    const here = await newContext(browser, server);
    await signUpInContext(here, username, GOOD_PASSWORD);
    const elsewhere = await secondBrowser(username);
    assert.equal((await elsewhere.request.get('/api/me')).status(), 200);

    const page = await here.newPage();
    const { problems } = watch(page);
    await page.goto('/');
    await page.getByRole('heading', { level: 1, name: `Welcome, ${username}!` }).waitFor();
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Account' }).click();
    await page.waitForURL(`${server.url}/account`);
    await page.getByRole('heading', { level: 1, name: 'Your account' }).waitFor();
    assert.equal(await page.title(), 'Account · Gatehouse');
    assert.equal(await nav.getByRole('link', { name: 'Account' }).getAttribute('aria-current'), 'page');

    // Where you are signed in: two browser sessions, this one marked and without a sign-out button.
    await page.getByText('You are signed in with 2 browser sessions.').waitFor();
    const rows = page.getByRole('list', { name: 'Where you are signed in' }).getByRole('listitem');
    assert.equal(await rows.count(), 2);
    const current = rows.filter({ hasText: 'This device' });
    assert.equal(await current.count(), 1);
    assert.equal(await current.getByRole('button', { name: /^Sign out/ }).count(), 0, 'no sign-out button on this device');
    assert.match((await current.textContent()) ?? '', /Browser session.*Signed in.*Last active.*IP address.*127\.0\.0\.1.*User agent/s);
    await screenshot(page, 'e2e-account');

    const other = rows.filter({ hasNotText: 'This device' });
    await other.getByRole('button', { name: /^Sign out/ }).click();
    assert.equal(await focusedText(page), 'Yes, sign out', 'the confirmation takes focus');
    const [ended] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().includes('/api/me/sessions/')),
      other.getByRole('button', { name: 'Yes, sign out' }).click(),
    ]);
    assert.equal(ended.status(), 204);
    await page.getByRole('status').getByText('Signed out the browser session from 127.0.0.1.').waitFor();
    await page.getByText('You are signed in with 1 browser session.').waitFor();
    assert.equal(await rows.count(), 1, 'the row is gone');
    assert.equal(await page.evaluate('document.activeElement.className'), 'summary', 'focus lands on the list summary');
    assert.equal((await elsewhere.request.get('/api/me')).status(), 401, "the other browser's next request is refused");

    // Change password: a wrong current password is shown at the field and in the summary.
    const sessionBefore = (await here.cookies()).find((c) => c.name === 'gatehouse_session')?.value;
    const csrfBefore = (await here.cookies()).find((c) => c.name === 'csrf_token')?.value;
    await page.getByLabel('Current password').fill('not the password');
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('Repeat new password').fill(NEW_PASSWORD);
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/me/password')),
      page.getByRole('button', { name: 'Change password' }).click(),
    ]);
    assert.equal(refused.status(), 422);
    const summary = page.locator('#password-errors');
    await summary.getByRole('link', { name: 'That is not your password.' }).waitFor();
    assert.equal(await summary.getAttribute('role'), 'alert');
    assert.equal(await focusedId(page), 'password-errors', 'the error summary takes focus');
    assert.equal(await page.title(), 'Error: Account · Gatehouse');
    const currentField = page.getByLabel('Current password');
    assert.equal(await currentField.getAttribute('aria-invalid'), 'true');
    const describedBy = (await currentField.getAttribute('aria-describedby')) ?? '';
    assert.equal(await page.locator(`#${describedBy}`).textContent(), 'Error: That is not your password.');
    await screenshot(page, 'e2e-account-password-error');
    await summary.getByRole('link', { name: 'That is not your password.' }).click();
    assert.equal(await focusedId(page), 'current-password', "the summary's link moves focus to the field");
    assert.equal(new URL(page.url()).pathname, '/account');

    await currentField.fill(GOOD_PASSWORD);
    const [changed] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/me/password')),
      page.getByRole('button', { name: 'Change password' }).click(),
    ]);
    assert.equal(changed.status(), 200);
    await page.getByRole('status').getByText('Your password has been changed.').waitFor();
    assert.equal(await page.locator('#password-errors').count(), 0, 'the summary is gone');
    assert.equal(await page.title(), 'Account · Gatehouse');
    for (const label of ['Current password', 'New password', 'Repeat new password']) assert.equal(await page.getByLabel(label, { exact: true }).inputValue(), '', `${label} is emptied`);
    await page.getByText('You are signed in with 1 browser session.').waitFor();
    const cookies = await here.cookies();
    assert.notEqual(cookies.find((c) => c.name === 'gatehouse_session')?.value, sessionBefore, 'the server replaced the session');
    assert.notEqual(cookies.find((c) => c.name === 'csrf_token')?.value, csrfBefore, 'and its CSRF token');
    assert.equal(await loginStatus(username, GOOD_PASSWORD), 401, 'the old password no longer logs in');
    assert.equal(await loginStatus(username, NEW_PASSWORD), 200, 'the new one does');

    // The app keeps working on the new cookies: an unsafe request needs the new CSRF token.
    await nav.getByRole('link', { name: 'Bucketlists' }).click();
    await page.getByText('You have no bucketlists yet.').waitFor();
    await page.getByLabel('Name', { exact: true }).fill('After the change');
    await page.getByRole('button', { name: 'Create bucketlist' }).click();
    await page.getByRole('status').getByText('Created “After the change”.').waitFor();
    await page.reload();
    await page.getByRole('link', { name: 'After the change' }).waitFor();

    // Delete the account, no longer recent: confirmation, then the password is asked for.
    clock.advance(PAST_REAUTH);
    await nav.getByRole('link', { name: 'Account' }).click();
    await page.getByRole('heading', { level: 1, name: 'Your account' }).waitFor();
    await page.getByRole('button', { name: 'Delete my account', exact: true }).click();
    assert.equal(await focusedText(page), 'Yes, delete my account', 'the confirmation takes focus');
    await screenshot(page, 'e2e-account-delete-confirm');
    const [notRecent] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().endsWith('/api/me')),
      page.getByRole('button', { name: 'Yes, delete my account' }).click(),
    ]);
    assert.equal(notRecent.status(), 403);
    assert.equal((await notRecent.json()).error.code, 'reauthentication_required');
    const passwordField = page.getByLabel('Your password');
    await passwordField.waitFor();
    assert.equal(await focusedId(page), 'delete-password', 'the password field takes focus');

    await passwordField.fill('not the password either');
    const [wrong] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().endsWith('/api/me')),
      page.getByRole('button', { name: 'Delete my account for good' }).click(),
    ]);
    assert.equal(wrong.status(), 422);
    assert.equal(wrong.request().postDataJSON().current_password, 'not the password either', 'the password goes in the JSON body');
    await page.locator('#delete-errors').getByRole('link', { name: 'That is not your password.' }).waitFor();
    assert.equal(await focusedId(page), 'delete-errors');
    assert.equal(await passwordField.getAttribute('aria-invalid'), 'true');
    await screenshot(page, 'e2e-account-delete-password');

    await passwordField.fill(NEW_PASSWORD);
    const [deleted] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().endsWith('/api/me')),
      page.getByRole('button', { name: 'Delete my account for good' }).click(),
    ]);
    assert.equal(deleted.status(), 204);
    await page.waitForURL(`${server.url}/login`);
    await page.getByRole('heading', { level: 1, name: 'Log in' }).waitFor();
    assert.equal(await loginStatus(username, NEW_PASSWORD), 401, 'the account is gone');
    assert.equal((await here.request.get('/api/me')).status(), 401);
    assert.deepEqual(unexpected(problems), []);
    await here.close();
    await elsewhere.close();
  });

  it('signs out everywhere else, token logins included, after a confirmation that can be cancelled', async () => {
    const username = uniqueName('Many');
    const here = await newContext(browser, server);
    await signUpInContext(here, username, GOOD_PASSWORD);
    const others = [await secondBrowser(username), await secondBrowser(username)];
    const token = (await server.client().post<{ access_token: string }>('/api/token', { username, password: GOOD_PASSWORD })).body.access_token;
    const bearerStatus = async () => (await server.client().get('/api/me', { headers: { authorization: `Bearer ${token}` } })).status;
    assert.equal(await bearerStatus(), 200);

    const page = await here.newPage();
    const { problems } = watch(page);
    await page.goto('/account');
    await page.getByText('You are signed in with 3 browser sessions and 1 token login.').waitFor();
    const rows = page.getByRole('list', { name: 'Where you are signed in' }).getByRole('listitem');
    assert.equal(await rows.filter({ hasText: 'Token login' }).count(), 1);

    const everywhere = page.getByRole('button', { name: 'Sign out everywhere else', exact: true });
    await everywhere.click();
    await page.getByText('Sign out everywhere else (3 other sessions)?').waitFor();
    assert.equal(await focusedText(page), 'Yes, sign out everywhere else');
    await page.getByRole('group').getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await focusedText(page), 'Sign out everywhere else', 'Cancel gives focus back');
    assert.equal(await bearerStatus(), 200, 'nothing ended');

    await everywhere.click();
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().endsWith('/api/me/sessions')),
      page.getByRole('button', { name: 'Yes, sign out everywhere else' }).click(),
    ]);
    assert.equal(answer.status(), 200);
    assert.deepEqual(await answer.json(), { revoked: 3 });
    await page.getByRole('status').getByText('Signed out everywhere else: 3 sessions ended.').waitFor();
    await page.getByText('You are signed in with 1 browser session.').waitFor();
    assert.equal(await rows.count(), 1);
    assert.equal(await page.getByRole('button', { name: 'Sign out everywhere else', exact: true }).count(), 0, 'nothing else to sign out');
    for (const other of others) assert.equal((await other.request.get('/api/me')).status(), 401);
    assert.equal(await bearerStatus(), 401, 'the token login ended too');
    assert.equal((await here.request.get('/api/me')).status(), 200, 'this browser stays signed in');
    assert.deepEqual(problems, []);
    for (const context of [here, ...others]) await context.close();
  });

  it('works with the keyboard alone: change the password, then delete the account', async () => {
    const username = uniqueName('Keys');
    const context = await newContext(browser, server);
    await signUpInContext(context, username, GOOD_PASSWORD);
    const page = await context.newPage();
    const { problems } = watch(page);
    await page.goto('/account');
    await page.getByText('You are signed in with 1 browser session.').waitFor();

    /** Tab forward until `done` holds, at most 40 times. */
    async function tabUntil(done: () => Promise<boolean>, what: string): Promise<void> {
      for (let i = 0; i < 40; i++) {
        await page.keyboard.press('Tab');
        if (await done()) return;
      }
      assert.fail(`Tab never reached ${what}`);
    }

    await tabUntil(async () => (await focusedId(page)) === 'current-password', 'the current password');
    assert.equal(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle'), 'solid', 'focus is visible');
    await page.keyboard.type(GOOD_PASSWORD);
    await page.keyboard.press('Tab');
    assert.equal(await focusedId(page), 'new-password');
    await page.keyboard.type(NEW_PASSWORD);
    await page.keyboard.press('Tab');
    assert.equal(await focusedId(page), 'new-password-confirmation');
    await page.keyboard.type(NEW_PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('status').getByText('Your password has been changed.').waitFor();
    assert.equal(await loginStatus(username, NEW_PASSWORD), 200);

    // Still recent (the password change made a new session): no password step.
    await tabUntil(async () => (await focusedText(page)) === 'Delete my account', 'Delete my account');
    await page.keyboard.press('Enter');
    assert.equal(await focusedText(page), 'Yes, delete my account');
    await page.keyboard.press('Tab');
    assert.equal(await focusedText(page), 'Cancel');
    await page.keyboard.press('Enter');
    assert.equal(await focusedText(page), 'Delete my account', 'Cancel gives focus back');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${server.url}/login`);
    assert.equal(await loginStatus(username, NEW_PASSWORD), 401, 'the account is gone');
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("shows the server's refusal for the last active admin and keeps the account", async () => {
    const username = uniqueName('Admin');
    await server.services.accounts.signUp({ username, password: GOOD_PASSWORD }, { ip: null, userAgent: null }, 'admin');
    const context = await secondBrowser(username);
    const page = await context.newPage();
    const { problems } = watch(page);
    await page.goto('/account');
    await page.getByText('You are signed in with 1 browser session.').waitFor();
    await page.getByRole('button', { name: 'Delete my account', exact: true }).click();
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().endsWith('/api/me')),
      page.getByRole('button', { name: 'Yes, delete my account' }).click(),
    ]);
    assert.equal(refused.status(), 409);
    const alert = page.getByRole('alert').filter({ hasText: 'Your account was not deleted.' });
    await alert.getByText('The last active admin cannot be deleted.').waitFor();
    assert.equal(new URL(page.url()).pathname, '/account');
    assert.equal((await context.request.get('/api/me')).status(), 200, 'still signed in, still there');
    await screenshot(page, 'e2e-account-last-admin');
    assert.deepEqual(problems, []);
    await context.close();
  });

  for (const viewport of [
    { width: 1024, height: 768 },
    { width: 360, height: 740 },
  ]) {
    it(`has no serious or critical axe violation at ${viewport.width} px, also with its confirmations and errors open`, async () => {
      const username = uniqueName('Axe');
      const context = await newContext(browser, server, { bypassCSP: true, viewport });
      await signUpInContext(context, username, GOOD_PASSWORD);
      const other = await secondBrowser(username);
      const page = await context.newPage();
      await page.goto('/account');
      await page.getByText('You are signed in with 2 browser sessions.').waitFor();
      const suffix = viewport.width < 400 ? '-mobile' : '';
      await screenshot(page, `e2e-account-axe${suffix}`);
      const failures: string[] = [];
      const check = async (state: string) => {
        const overflow = (await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
        if (overflow > 0) failures.push(`${state}: ${overflow}px wider than the screen`);
        const violations = await seriousViolations(page);
        if (violations.length > 0) failures.push(`${state}:\n${describeViolations(violations)}`);
      };
      await check('loaded');

      await page.getByRole('list', { name: 'Where you are signed in' }).getByRole('button', { name: /^Sign out/ }).click();
      await page.getByRole('button', { name: 'Sign out everywhere else', exact: true }).click();
      await page.getByLabel('Current password').fill('not the password');
      await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
      await page.getByLabel('Repeat new password').fill('something else entirely');
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.locator('#password-errors').getByText('Passwords do not match.').waitFor();
      await page.getByRole('button', { name: 'Delete my account', exact: true }).click();
      await page.getByRole('button', { name: 'Yes, delete my account' }).waitFor();
      await screenshot(page, `e2e-account-axe-open${suffix}`);
      await check('confirmations and errors open');
      assert.equal(failures.length, 0, failures.join('\n\n'));
      await context.close();
      await other.close();
    });
  }
});
