/**
 * Forward authentication's return trip in a real browser: the login form, posted with `next` on a
 * FORWARD_AUTH_HOSTS host, brings Chromium back to the protected app. Browsers apply the page's
 * CSP `form-action` to the redirect that follows a form post, so the login page must name those
 * hosts there: with `form-action 'self'` alone Chromium blocks the 303 and stays on the login page
 * ("Sending form data to … violates … form-action 'self'", seen while building this). The protected
 * app is a small HTTP server that Chromium reaches as app.example.com (its host resolver maps the
 * name to the loopback: Playwright's request routing does not see the targets of redirects).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { GOOD_PASSWORD, signUpClient, startTestServer } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';
import { browserSkipReason, CHROMIUM_PATH, launchBrowser, newContext, watch } from './browser.js';

describe('the login brings the browser back to a protected app', { skip: browserSkipReason() }, () => {
  let server: TestServer;
  let browser: Browser;
  let app: Server;
  let appOrigin: string;
  const reached: string[] = [];
  before(async () => {
    // launchBrowser first: without Chromium (or the web build), fail before a server is left running.
    await (await launchBrowser()).close();
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox', '--disable-gpu', '--host-resolver-rules=MAP app.example.com 127.0.0.1'], headless: true });
    app = createServer((request, response) => {
      reached.push(request.url ?? '');
      response.setHeader('content-type', 'text/html; charset=utf-8');
      response.end('<!doctype html><title>Protected app</title><h1>Protected app</h1>');
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    const address = app.address();
    appOrigin = `http://app.example.com:${typeof address === 'object' && address ? address.port : 0}`;
    server = await startTestServer({ FORWARD_AUTH_HOSTS: 'app.example.com' });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await new Promise((resolve) => app?.close(resolve));
  });

  it('follows the 303 to the protected host after the form login, with no CSP violation', async () => {
    const { user } = await signUpClient(server);
    const context = await newContext(browser, server);
    const page = await context.newPage();
    const { problems } = watch(page);
    const target = `${appOrigin}/reports?year=2026`;
    await page.goto(`/login?next=${encodeURIComponent(target)}`);
    await page.getByLabel('Username or email').fill(user.username);
    await page.getByLabel('Password', { exact: true }).fill(GOOD_PASSWORD);
    await Promise.all([page.waitForURL(`${appOrigin}/**`), page.getByRole('button', { name: 'Log in' }).click()]);
    assert.equal(page.url(), target);
    assert.equal(await page.getByRole('heading').textContent(), 'Protected app');
    assert.deepEqual(reached.filter((path) => path !== '/favicon.ico'), ['/reports?year=2026']);
    assert.deepEqual(problems, []);
    await context.close();
  });
});
