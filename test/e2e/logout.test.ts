/**
 * Logout CSRF in a real browser (security review, finding 11): a link on another site to
 * /logout shows a confirmation page instead of ending the session; its button logs out. The
 * other site is played by Playwright's request routing, so Chromium itself decides what
 * `Sec-Fetch-Site` and `Referer` to send.
 *
 * Checked against the old code (this file run from a copy of HEAD's tree, with its web build):
 * the link ended the session at once (the browser landed on /login), so the first test fails.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { GOOD_PASSWORD, startTestServer, uniqueName } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';
import { browserSkipReason, describeViolations, launchBrowser, newContext, screenshot, seriousViolations, signUpInContext, watch } from './browser.js';

const EVIL = 'https://evil.example';

describe('logging out from a link on another site', { skip: browserSkipReason() }, () => {
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

  it('shows a confirmation page and keeps the session; its button logs out', async () => {
    const context = await newContext(browser, server);
    await signUpInContext(context, uniqueName('Lured'), GOOD_PASSWORD);
    await context.route(`${EVIL}/**`, (route) =>
      route.fulfill({ contentType: 'text/html', body: `<!doctype html><title>Cute cats</title><a href="${server.url}/logout">See the cats</a>` }),
    );
    const page = await context.newPage();
    const { problems } = watch(page);
    await page.goto(`${EVIL}/cats`);
    await page.getByRole('link', { name: 'See the cats' }).click();
    await page.waitForURL(`${server.url}/logout`);
    await page.getByRole('heading', { level: 1, name: 'Log out' }).waitFor();
    assert.equal(await page.title(), 'Log out · Gatehouse');
    await screenshot(page, 'e2e-logout-confirmation');
    assert.equal((await context.request.get('/api/me')).status(), 200, 'the link alone ended nothing');

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${server.url}/login`);
    assert.ok(!(await context.cookies()).some((c) => c.name === 'gatehouse_session'), 'the session cookie is gone');
    assert.equal((await context.request.get('/api/me')).status(), 401);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('"Stay signed in" goes home with the session intact', async () => {
    const context = await newContext(browser, server);
    const username = uniqueName('Stays');
    await signUpInContext(context, username, GOOD_PASSWORD);
    await context.route(`${EVIL}/**`, (route) => route.fulfill({ contentType: 'text/html', body: `<!doctype html><a href="${server.url}/logout">out</a>` }));
    const page = await context.newPage();
    await page.goto(`${EVIL}/`);
    await page.getByRole('link', { name: 'out' }).click();
    await page.getByRole('link', { name: 'Stay signed in' }).click();
    await page.getByRole('heading', { level: 1, name: `Welcome, ${username}!` }).waitFor();
    await context.close();
  });

  it('has no serious accessibility violation', async () => {
    const context = await newContext(browser, server, { bypassCSP: true });
    await signUpInContext(context, uniqueName('Axe'), GOOD_PASSWORD);
    await context.route(`${EVIL}/**`, (route) => route.fulfill({ contentType: 'text/html', body: `<!doctype html><a href="${server.url}/logout">out</a>` }));
    const page = await context.newPage();
    await page.goto(`${EVIL}/`);
    await page.getByRole('link', { name: 'out' }).click();
    await page.getByRole('heading', { level: 1, name: 'Log out' }).waitFor();
    const violations = await seriousViolations(page);
    assert.deepEqual(violations, [], describeViolations(violations));
    await context.close();
  });

  it('a typed /logout address (Sec-Fetch-Site: none) still logs out at once', async () => {
    const context = await newContext(browser, server);
    await signUpInContext(context, uniqueName('Own'), GOOD_PASSWORD);
    const page = await context.newPage();
    await page.goto('/logout');
    await page.waitForURL(`${server.url}/login`);
    assert.equal((await context.request.get('/api/me')).status(), 401);
    await context.close();
  });
});
