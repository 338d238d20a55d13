import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { GOOD_PASSWORD, startTestServer, uniqueName } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';
import { browserSkipReason, launchBrowser, newContext, screenshot, signUpInContext, watch } from './browser.js';

/** What the page has focused, by id (evaluated in the page). */
function focusedId(page: Page): Promise<unknown> {
  return page.evaluate('document.activeElement ? document.activeElement.id : null');
}

describe('signing up, logging in and out in a browser', { skip: browserSkipReason() }, () => {
  let server: TestServer;
  let browser: Browser;
  before(async () => {
    browser = await launchBrowser(); // first: without Chromium, fail before a server is left running
    server = await startTestServer();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('signs up through the form, lands on the welcome page, stays logged in on reload, and logs out', async () => {
    const context = await newContext(browser, server);
    const page = await context.newPage();
    const { problems } = watch(page);
    const username = uniqueName('Ada');

    await page.goto('/');
    assert.equal(new URL(page.url()).pathname, '/login', 'no session: the app sends us to log in');
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Email').fill(`${username}@example.com`);
    await page.getByLabel('Password', { exact: true }).fill(GOOD_PASSWORD);
    await page.getByLabel('Confirm password').fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Create an account' }).click();

    await page.waitForURL(`${server.url}/`);
    await page.getByRole('heading', { level: 1, name: `Welcome, ${username}!` }).waitFor();
    assert.equal(await page.title(), 'Home · Gatehouse');
    await page.getByText('You have no bucketlists yet.').waitFor();
    await screenshot(page, 'e2e-home-after-signup');

    await page.reload();
    await page.getByRole('heading', { level: 1, name: `Welcome, ${username}!` }).waitFor();
    await page.getByText(`Signed in as ${username}`).waitFor();

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${server.url}/login`);
    await page.getByRole('heading', { level: 1, name: 'Log in' }).waitFor();
    const cookies = await context.cookies();
    assert.ok(!cookies.some((c) => c.name === 'gatehouse_session'), 'the session cookie is gone');
    await page.goto('/');
    assert.equal(new URL(page.url()).pathname, '/login', 'and the app is closed again');
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('logs out even when the CSRF cookie has gone missing', async () => {
    const context = await newContext(browser, server);
    await signUpInContext(context, uniqueName('NoCsrf'), GOOD_PASSWORD);
    const page = await context.newPage();
    await page.goto('/');
    await page.getByRole('heading', { level: 1 }).waitFor();
    await context.clearCookies({ name: 'csrf_token' });
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${server.url}/login`);
    await page.goto('/');
    assert.equal(new URL(page.url()).pathname, '/login', 'the session really ended');
    await context.close();
  });

  it('shows a wrong password as an error, keeps the username, focuses the summary', async () => {
    const context = await newContext(browser, server);
    const username = uniqueName('Grace');
    await signUpInContext(await newContext(browser, server), username, GOOD_PASSWORD);
    const page = await context.newPage();
    const { problems } = watch(page);
    await page.goto('/login');
    await page.getByLabel('Username or email').fill(username);
    await page.getByLabel('Password').fill('definitely not it');
    const [response] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/login') && r.request().method() === 'POST'), page.getByRole('button', { name: 'Log in' }).click()]);
    assert.equal(response.status(), 401);
    await page.getByRole('alert').getByText('Invalid username or password.').waitFor();
    assert.equal(await page.getByLabel('Username or email').inputValue(), username);
    assert.equal(await page.getByLabel('Password').inputValue(), '');
    assert.equal(await focusedId(page), 'error-summary', 'the error summary has focus');
    assert.equal(await page.title(), 'Error: Log in · Gatehouse');
    await screenshot(page, 'e2e-login-wrong-password');

    // Correcting it works from the same form.
    await page.getByLabel('Password').fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { level: 1, name: `Welcome, ${username}!` }).waitFor();
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('logs in and out with JavaScript disabled', async () => {
    const username = uniqueName('NoJs');
    await signUpInContext(await newContext(browser, server), username, GOOD_PASSWORD);
    const context = await newContext(browser, server, { javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto('/bucketlists');
    assert.equal(new URL(page.url()).pathname, '/login');
    await page.getByLabel('Username or email').fill(username);
    await page.getByLabel('Password').fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${server.url}/bucketlists`);
    await page.goto('/');
    await page.getByRole('heading', { level: 1, name: `Welcome, ${username}!` }).waitFor();
    await screenshot(page, 'e2e-home-without-javascript');
    // The server-rendered logout button is a plain form: it works without the app too.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${server.url}/login`);
    await page.goto('/');
    assert.equal(new URL(page.url()).pathname, '/login');
    await context.close();
  });

  it('signs up with JavaScript disabled, with field errors shown first', async () => {
    const context = await newContext(browser, server, { javaScriptEnabled: false });
    const page = await context.newPage();
    const username = uniqueName('Form');
    await page.goto('/signup');
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password', { exact: true }).fill(GOOD_PASSWORD);
    await page.getByLabel('Confirm password').fill('a different one');
    await page.getByRole('button', { name: 'Create an account' }).click();
    const confirm = page.getByLabel('Confirm password');
    assert.equal(await confirm.getAttribute('aria-invalid'), 'true');
    const describedBy = (await confirm.getAttribute('aria-describedby')) ?? '';
    assert.ok((await page.locator(`#${describedBy}`).textContent())?.includes('match'), 'the field names its error');
    // The summary at the top links to the field with the same message.
    const fieldError = ((await page.locator(`#${describedBy}`).textContent()) ?? '').replace(/^Error: /, '');
    await page.getByRole('link', { name: fieldError, exact: true }).waitFor();
    assert.equal(await page.getByLabel('Username').inputValue(), username);
    await page.getByLabel('Password', { exact: true }).fill(GOOD_PASSWORD);
    await page.getByLabel('Confirm password').fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Create an account' }).click();
    await page.getByRole('heading', { level: 1, name: `Welcome, ${username}!` }).waitFor();
    await context.close();
  });

  it('logs in with the keyboard alone: Tab, type, Enter', async () => {
    const username = uniqueName('Keys');
    await signUpInContext(await newContext(browser, server), username, GOOD_PASSWORD);
    const context = await newContext(browser, server);
    const page = await context.newPage();
    const { problems } = watch(page);
    await page.goto('/login');
    await page.keyboard.press('Tab');
    assert.equal(await focusedId(page), 'field-username', 'the first Tab reaches the username');
    const outline = await page.evaluate('getComputedStyle(document.activeElement).outlineStyle');
    assert.equal(outline, 'solid', 'focus is visible');
    await page.keyboard.type(username);
    await page.keyboard.press('Tab');
    assert.equal(await focusedId(page), 'field-password');
    await page.keyboard.type(GOOD_PASSWORD);
    // Hold the app's script back, to tab into the server-rendered page before the app takes over.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route('**/assets/*.js', async (route) => {
      await held;
      await route.continue();
    });
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: `Welcome, ${username}!` }).waitFor();
    // The skip link comes first and leads to the content.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement.textContent'), 'Skip to main content');
    release();
    await page.getByText('You have no bucketlists yet.').waitFor();
    assert.equal(await page.evaluate('document.activeElement.textContent'), 'Skip to main content', 'focus survives the app taking over');
    await page.keyboard.press('Enter');
    assert.equal(await focusedId(page), 'main');
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('sends an expired session to the login page with a notice, and back afterwards', async () => {
    const username = uniqueName('Expired');
    const context = await newContext(browser, server);
    await signUpInContext(context, username, GOOD_PASSWORD);
    const page = await context.newPage();
    await page.goto('/bucketlists');
    await page.getByRole('heading', { level: 1, name: 'Your bucketlists' }).waitFor();
    await page.getByText('You have no bucketlists yet.').waitFor();

    // The session ends behind the page's back (logged out elsewhere, expired, revoked).
    const session = (await context.cookies()).find((c) => c.name === 'gatehouse_session');
    assert.ok(session);
    await server.services.sessions.revoke(session.value);

    await page.getByLabel('Name', { exact: true }).fill('Too late');
    await page.getByRole('button', { name: 'Create bucketlist' }).click();
    await page.waitForURL((url) => url.pathname === '/login');
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('expired'), '1');
    assert.equal(url.searchParams.get('next'), '/bucketlists');
    await page.getByRole('status').getByText('Your session has ended. Please log in again.').waitFor();
    await screenshot(page, 'e2e-login-session-ended');

    await page.getByLabel('Username or email').fill(username);
    await page.getByLabel('Password').fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${server.url}/bucketlists`);
    await page.getByRole('heading', { level: 1, name: 'Your bucketlists' }).waitFor();
    await context.close();
  });
});
