import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { GOOD_PASSWORD, startTestServer } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';
import { apiInContext, browserSkipReason, describeViolations, launchBrowser, newContext, screenshot, seriousViolations, signedInContext, signUpInContext } from './browser.js';

/**
 * Every page, checked with axe-core (no serious or critical violation) at desktop width, and on a
 * 360 px phone for nothing wider than the screen, each saved as a screenshot. `npm run screenshots`
 * copies these to docs/screenshots/ for the README, so the data here is the README's example data.
 */

interface PageCase {
  name: string;
  path: string;
  signedIn: boolean;
  /** Text that shows the page is complete (the app has loaded its data). */
  ready: string;
  /** Put the page in the state worth checking (e.g. submit a form with mistakes). */
  act?: (page: Page) => Promise<void>;
}

const USERNAME = 'alice';

describe('accessibility and layout of every page', { skip: browserSkipReason() }, () => {
  let server: TestServer;
  let browser: Browser;
  let bucketlistId = 0;
  const contexts: BrowserContext[] = [];

  /**
   * A context for axe (it must bypass the CSP to inject its script), signed in as alice or not: one
   * per viewport and state, shared by the pages (each page is a new tab in it).
   */
  const shared = new Map<string, Promise<BrowserContext>>();
  function axeContext(signedIn: boolean, viewport: { width: number; height: number }): Promise<BrowserContext> {
    const key = `${signedIn}-${viewport.width}`;
    let context = shared.get(key);
    if (!context) {
      context = (async () => {
        const options = { bypassCSP: true, viewport };
        const made = await (signedIn ? signedInContext(browser, server, USERNAME, GOOD_PASSWORD, options) : newContext(browser, server, options));
        contexts.push(made);
        return made;
      })();
      shared.set(key, context);
    }
    return context;
  }

  before(async () => {
    browser = await launchBrowser(); // first: without Chromium, fail before a server is left running
    server = await startTestServer();
    const setup = await newContext(browser, server);
    await signUpInContext(setup, USERNAME, GOOD_PASSWORD);
    for (const name of ['Visit Kyoto', 'Learn to sail', 'Run a half marathon', 'Read War and Peace']) {
      const created = (await apiInContext(setup, 'POST', '/api/bucketlists', { name })) as { id: number };
      if (name === 'Visit Kyoto') bucketlistId = created.id;
    }
    for (const [name, done] of [
      ['Book the flights', true],
      ['Find a ryokan in Gion', false],
      ['Learn some basic Japanese', false],
    ] as const) {
      await apiInContext(setup, 'POST', `/api/bucketlists/${bucketlistId}/items`, { name, done });
    }
    await setup.close();
  });
  after(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await server?.close();
  });

  const cases = (): PageCase[] => [
    { name: 'login', path: '/login', signedIn: false, ready: 'Log in' },
    {
      name: 'login-error',
      path: '/login',
      signedIn: false,
      ready: 'Invalid username or password.',
      act: async (page) => {
        await page.getByLabel('Username or email').fill(USERNAME);
        await page.getByLabel('Password').fill('not the password');
        await page.getByRole('button', { name: 'Log in' }).click();
      },
    },
    { name: 'login-session-ended', path: '/login?expired=1&next=%2Fbucketlists', signedIn: false, ready: 'Your session has ended.' },
    { name: 'signup', path: '/signup', signedIn: false, ready: 'Create an account' },
    {
      name: 'signup-errors',
      path: '/signup',
      signedIn: false,
      ready: 'There is a problem',
      act: async (page) => {
        await page.getByLabel('Username').fill('al');
        await page.getByLabel('Email').fill('not-an-email');
        await page.getByLabel('Password', { exact: true }).fill('short');
        await page.getByRole('button', { name: 'Create an account' }).click();
      },
    },
    // Before the other signed-in pages: alice has two browser sessions, this context's and the setup's.
    { name: 'account', path: '/account', signedIn: true, ready: 'This device' },
    { name: 'home', path: '/', signedIn: true, ready: 'You have 4 bucketlists.' },
    { name: 'bucketlists', path: '/bucketlists', signedIn: true, ready: 'Showing 1–4 of 4 bucketlists.' },
    {
      name: 'bucketlists-rename',
      path: '/bucketlists',
      signedIn: true,
      ready: 'Showing 1–4 of 4 bucketlists.',
      act: async (page) => {
        await page.getByText('Showing 1–4 of 4 bucketlists.').waitFor();
        await page.getByRole('button', { name: 'Rename Learn to sail' }).click();
        await page.getByRole('button', { name: 'Delete Read War and Peace' }).click();
        await page.getByRole('button', { name: 'Yes, delete' }).waitFor();
      },
    },
    { name: 'bucketlist', path: `/bucketlists/${bucketlistId}`, signedIn: true, ready: '1 of 3 done.' },
    { name: 'not-found', path: '/no-such-page', signedIn: true, ready: 'Page not found' },
    { name: 'not-found-signed-out', path: '/bucketlists/abc', signedIn: false, ready: 'Page not found' },
  ];

  const pages: Page[] = [];
  async function open(context: BrowserContext, pageCase: PageCase): Promise<Page> {
    // One tab at a time: the last one's scripts stop before the next page loads.
    for (const previous of pages.splice(0)) await previous.close();
    const page = await context.newPage();
    pages.push(page);
    await page.goto(pageCase.path);
    if (pageCase.act) await pageCase.act(page);
    await page.getByText(pageCase.ready).first().waitFor();
    return page;
  }

  it('has no serious or critical axe violation on any page (1024 px)', async () => {
    const failures: string[] = [];
    for (const pageCase of cases()) {
      const page = await open(await axeContext(pageCase.signedIn, { width: 1024, height: 768 }), pageCase);
      await screenshot(page, pageCase.name);
      const violations = await seriousViolations(page);
      if (violations.length > 0) failures.push(`${pageCase.name} (${pageCase.path}):\n${describeViolations(violations)}`);
    }
    assert.equal(failures.length, 0, failures.join('\n\n'));
  });

  // axe runs at one width (above): the markup is the same at both widths and only the CSS differs;
  // here the phone layout is checked for sideways scrolling. Each axe run costs seconds of CI.
  it('fits a 360 px wide phone without sideways scrolling', async () => {
    const failures: string[] = [];
    for (const pageCase of cases()) {
      const page = await open(await axeContext(pageCase.signedIn, { width: 360, height: 740 }), pageCase);
      await screenshot(page, `${pageCase.name}-mobile`);
      const overflow = (await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
      if (overflow > 0) failures.push(`${pageCase.name}: ${overflow}px wider than the screen`);
    }
    assert.equal(failures.length, 0, failures.join('\n\n'));
  });
});
