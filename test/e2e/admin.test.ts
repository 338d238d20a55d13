/**
 * The admin console (/admin) in a real browser over the real server: an admin sees the dashboard,
 * finds a user, disables them (that user's open session stops at once), enables them again,
 * changes a role, deletes a user (confirmation, then the password once the sign-in is no longer
 * recent), registers an OpenID Connect app and reads its secret once, and filters the audit log;
 * creates a user with a first password, ends their sessions and clears a lost device's factors.
 * A non-admin sees no console and gets 403 from its API. axe on the dashboard, the users list and
 * a user's page, at 1024 and 360 px.
 *
 * One browser, one server on a fake clock (to move past REAUTH_MAX_AGE instead of waiting), few
 * contexts. Its screenshots (admin-*) are the ones docs/admin.md shows (`npm run screenshots`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { fakeClock, GOOD_PASSWORD, startTestServer } from '../helpers/app.js';
import { enableTotp, STEP_MS } from '../helpers/mfa.js';
import type { FakeClock, TestServer } from '../helpers/app.js';
import { browserSkipReason, describeViolations, launchBrowser, screenshot, seriousViolations, signedInContext, watch } from './browser.js';

/** Past REAUTH_MAX_AGE (600 s by default): the admin's sign-in is no longer recent. */
const PAST_REAUTH = 601_000;
const META = { ip: null, userAgent: 'e2e' };

function focusedText(page: Page): Promise<unknown> {
  return page.evaluate('document.activeElement ? document.activeElement.textContent : null');
}

/** The page's problems, minus Chromium's console line for the 403 reauthentication_required the delete flow expects. */
function unexpected(problems: string[]): string[] {
  return problems.filter((p) => !/^console: Failed to load resource: the server responded with a status of 403\b/.test(p));
}

describe('the admin console', { skip: browserSkipReason() }, () => {
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

  /** A user made as the CLI makes them; fixed, readable names (each server has its own database) for the docs' screenshots. */
  async function seed(username: string, role: 'user' | 'admin' = 'user'): Promise<{ id: number; username: string }> {
    const user = await server.services.accounts.signUp({ username, email: `${username.toLowerCase()}@example.com`, password: GOOD_PASSWORD }, META, role, { byOperator: true });
    return { id: Number(user.id), username };
  }

  /** A browser context signed in as `username` (through the JSON login route). */
  function signedIn(username: string, options: BrowserContextOptions = {}): Promise<BrowserContext> {
    return signedInContext(browser, server, username, GOOD_PASSWORD, options);
  }

  it('lets an admin find, disable, enable, promote and delete users, register an app and filter the audit log', async () => {
    const admin = await seed('ada', 'admin');
    const target = await seed('bob');
    const doomed = await seed('carol');
    const here = await signedIn(admin.username);
    const theirs = await signedIn(target.username);
    assert.equal((await theirs.request.get('/api/me')).status(), 200);

    const page = await here.newPage();
    const { problems } = watch(page);
    await page.goto('/');
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Admin' }).click();
    await page.waitForURL(`${server.url}/admin`);
    await page.getByRole('heading', { level: 1, name: 'Admin' }).waitFor();
    assert.equal(await page.title(), 'Admin · Gatehouse');
    assert.equal(await nav.getByRole('link', { name: 'Admin' }).getAttribute('aria-current'), 'page');
    // The dashboard: 3 accounts, 1 admin, 2 live browser sessions (theirs and ours).
    const users = page.getByRole('region', { name: 'Users' });
    assert.equal(await users.getByRole('definition').first().textContent(), '3');
    const signedInNow = page.getByRole('region', { name: 'Signed in now' });
    assert.equal(await signedInNow.getByRole('definition').first().textContent(), '2');
    await page.getByRole('region', { name: 'Last hour' }).getByText('Failed logins').waitFor();
    await screenshot(page, 'admin-dashboard');

    // Find the user.
    const adminNav = page.getByRole('navigation', { name: 'Admin' });
    await adminNav.getByRole('link', { name: 'Users' }).click();
    await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
    await page.getByText('Showing 1–3 of 3 users.').waitFor();
    await page.getByLabel('Search by username or email').fill(target.username);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText(`Showing 1–1 of 1 user matching “${target.username}”.`).waitFor();
    assert.equal(new URL(page.url()).search, `?q=${target.username}`);
    await screenshot(page, 'admin-users');
    await page.getByRole('link', { name: target.username }).click();
    await page.waitForURL(`${server.url}/admin/users/${target.id}`);
    await page.getByRole('heading', { level: 1, name: target.username }).waitFor();
    await page.getByText('1 live sign-in.').waitFor();
    await screenshot(page, 'admin-user');

    // Disable: confirmation first (it takes focus), then their open session stops.
    await page.getByRole('button', { name: `Disable ${target.username}` }).click();
    assert.equal(await focusedText(page), 'Yes, disable', 'the confirmation takes focus');
    await page.getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await focusedText(page), `Disable ${target.username}`, 'Cancel gives focus back');
    assert.equal((await theirs.request.get('/api/me')).status(), 200, 'Cancel changed nothing');
    await page.keyboard.press('Enter');
    await screenshot(page, 'admin-user-disable-confirm');
    const [disabled] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().endsWith(`/api/admin/users/${target.id}`)),
      page.keyboard.press('Enter'),
    ]);
    assert.equal(disabled.status(), 200);
    await page.getByRole('status').getByText(`Disabled “${target.username}”. Their sessions have ended.`).waitFor();
    assert.equal(await focusedText(page), `Disabled “${target.username}”. Their sessions have ended.`, 'focus moves to the announcement');
    await page.getByText('Not signed in anywhere.').waitFor();
    assert.equal((await theirs.request.get('/api/me')).status(), 401, "the user's open session stops");
    assert.equal((await server.client().post('/login', { username: target.username, password: GOOD_PASSWORD })).status, 401, 'and they cannot log in');

    // Enable again: they can log in.
    await page.getByRole('button', { name: 'Enable' }).click();
    await page.getByRole('status').getByText(`Enabled “${target.username}”. They can log in again.`).waitFor();
    assert.equal((await server.client().post('/login', { username: target.username, password: GOOD_PASSWORD })).status, 200);

    // Role change.
    await page.getByRole('button', { name: 'Make admin' }).click();
    await page.getByRole('button', { name: 'Yes, make admin' }).click();
    await page.getByRole('status').getByText(`“${target.username}” is now an admin.`).waitFor();
    const detail = (await (await here.request.get(`/api/admin/users/${target.id}`)).json()) as { user: { role: string } };
    assert.equal(detail.user.role, 'admin');
    await page.getByRole('region', { name: 'Recent activity' }).getByText('role_changed').waitFor();

    // Delete a user, no longer recent: the password is asked for.
    clock.advance(PAST_REAUTH);
    await page.goto(`/admin/users/${doomed.id}`);
    await page.getByRole('heading', { level: 1, name: doomed.username }).waitFor();
    await page.getByRole('button', { name: `Delete user ${doomed.username}` }).click();
    const [notRecent] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().endsWith(`/api/admin/users/${doomed.id}`)),
      page.getByRole('button', { name: 'Yes, delete the user' }).click(),
    ]);
    assert.equal(notRecent.status(), 403);
    const password = page.getByLabel('Your password');
    await password.waitFor();
    assert.equal(await page.evaluate('document.activeElement.id'), 'delete-user-reauth-password', 'the password field takes focus');
    await password.fill(GOOD_PASSWORD);
    const [deleted] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().endsWith(`/api/admin/users/${doomed.id}`)),
      page.getByRole('button', { name: 'Yes, delete the user' }).click(),
    ]);
    assert.equal(deleted.status(), 204);
    await page.waitForURL(`${server.url}/admin/users`);
    await page.getByRole('status').getByText(`Deleted the user “${doomed.username}”.`).waitFor();
    await page.getByText('Showing 1–2 of 2 users.').waitFor();
    assert.equal((await server.client().post('/login', { username: doomed.username, password: GOOD_PASSWORD })).status, 401, 'the user is gone');

    // Register an app; its secret is shown once.
    await adminNav.getByRole('link', { name: 'Apps' }).click();
    await page.getByRole('heading', { level: 1, name: 'Apps' }).waitFor();
    await page.getByText('No apps are registered.').waitFor();
    await page.getByLabel('Name').fill('Photo Album');
    await page.getByLabel('Redirect URIs').fill('https://photos.example.com/callback\nhttps://photos.example.com/other');
    await page.getByLabel('First-party app').check();
    const [createdAnswer] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/api/admin/oidc/clients')),
      page.getByRole('button', { name: 'Register app' }).click(),
    ]);
    assert.equal(createdAnswer.status(), 201);
    const created = (await createdAnswer.json()) as { client_id: string; client_secret: string };
    const secretHeading = page.getByRole('heading', { level: 2, name: 'Registered “Photo Album”' });
    await secretHeading.waitFor();
    assert.equal(await focusedText(page), 'Registered “Photo Album”', 'the secret box takes focus');
    assert.equal(await page.locator('#new-secret-value').textContent(), created.client_secret);
    await page.getByText('This is the only time it is shown').waitFor();
    await page.getByText('1 app is registered.').waitFor();
    await screenshot(page, 'admin-apps-secret');
    await page.getByRole('button', { name: 'I have copied the secret' }).click();
    assert.equal(await secretHeading.count(), 0);
    assert.ok(!((await page.content()).includes(created.client_secret)), 'the secret is shown no more');
    await page.reload();
    await page.getByRole('heading', { level: 3, name: 'Photo Album' }).waitFor();
    assert.ok(!((await page.content()).includes(created.client_secret)), 'not after a reload either');
    assert.ok(!(await (await here.request.get('/api/admin/oidc/clients')).text()).includes(created.client_secret), 'nor in the API list');
    await page.getByText(created.client_id).waitFor();

    // The audit log, filtered by event.
    await adminNav.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
    await page.getByText(/^Showing 1–\d+ of \d+ events, newest first\.$/).waitFor();
    await page.getByLabel('Event', { exact: true }).selectOption('user_disabled');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByText('Showing 1–1 of 1 event matching the filters, newest first.').waitFor();
    assert.equal(new URL(page.url()).searchParams.get('event'), 'user_disabled');
    const table = page.getByRole('table', { name: 'Audit events, newest first' });
    assert.equal(await table.getByRole('row').count(), 2, 'a header and one event');
    await table.getByRole('link', { name: target.username }).waitFor();
    await screenshot(page, 'admin-audit');

    assert.deepEqual(unexpected(problems), []);
    await here.close();
    await theirs.close();
  });

  it('creates a user with a first password, ends their sessions and clears a lost device', async () => {
    const admin = await seed('dora', 'admin');
    const here = await signedIn(admin.username);
    const page = await here.newPage();
    const { problems } = watch(page);
    await page.goto('/admin/users');
    const form = page.getByRole('region', { name: 'Create a user' });
    await form.waitFor();

    // Mistakes are named in the error summary, which takes focus; a taken name is the server's answer.
    await form.getByRole('button', { name: 'Create user' }).click();
    await form.getByText('Enter a username.').first().waitFor();
    await form.getByText('Enter a first password.').first().waitFor();
    await form.getByLabel('Username').fill(admin.username);
    await form.getByLabel('First password').fill(GOOD_PASSWORD);
    const [taken] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/api/admin/users')),
      form.getByRole('button', { name: 'Create user' }).click(),
    ]);
    assert.equal(taken.status(), 409);
    await form.getByRole('link', { name: /taken/i }).waitFor();

    await form.getByLabel('Username').fill('gwen');
    await form.getByLabel('Email address (optional)').fill('gwen@example.com');
    const [created] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/api/admin/users')),
      form.getByRole('button', { name: 'Create user' }).click(),
    ]);
    assert.equal(created.status(), 201);
    const gwen = (await created.json()) as { id: number };
    await page.waitForURL(`${server.url}/admin/users/${gwen.id}`);
    await page.getByRole('status').getByText('Created the user “gwen”. Tell them their first password and ask them to change it.').waitFor();
    const detail = (await (await here.request.get(`/api/admin/users/${gwen.id}`)).json()) as { user: { email: string; email_verified: boolean; role: string } };
    assert.deepEqual([detail.user.email, detail.user.email_verified, detail.user.role], ['gwen@example.com', true, 'user'], 'the address an admin gives is stored verified');

    // Gwen logs in with the first password and turns on two-step verification.
    const theirs = server.client();
    assert.equal((await theirs.post('/login', { username: 'gwen', password: GOOD_PASSWORD })).status, 200, 'the first password works');
    await enableTotp(theirs, clock());
    clock.advance(STEP_MS);

    // End all sessions: Gwen's stops, the account stays.
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'gwen' }).waitFor();
    await page.getByText('1 live sign-in.').waitFor();
    await page.getByRole('button', { name: 'End all sessions' }).click();
    await page.getByRole('button', { name: 'Yes, end all sessions' }).click();
    await page.getByRole('status').getByText('Ended 1 session of “gwen”.').waitFor();
    await page.getByText('Not signed in anywhere.').waitFor();
    assert.equal((await theirs.get('/api/me')).status, 401, 'her session ended');
    const secondStep = await server.client().post<{ mfa_required?: boolean }>('/login', { username: 'gwen', password: GOOD_PASSWORD });
    assert.equal(secondStep.body.mfa_required, true, 'she can still log in, with her code');

    // A lost device: the factors go, and the password alone signs her in.
    await page.getByRole('button', { name: 'Clear two-step verification and passkeys' }).click();
    await page.getByRole('button', { name: 'Yes, clear them' }).click();
    await page.getByRole('status').getByText('Cleared the second factors and passkeys of “gwen”.').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Clear two-step verification and passkeys' }).count(), 0, 'nothing left to clear');
    const passwordOnly = await server.client().post<{ mfa_required?: boolean; username?: string }>('/login', { username: 'gwen', password: GOOD_PASSWORD });
    assert.equal(passwordOnly.status, 200);
    assert.equal(passwordOnly.body.mfa_required, undefined, 'no second step any more');
    await page.getByRole('region', { name: 'Recent activity' }).getByText('mfa_reset').waitFor();

    assert.deepEqual(
      unexpected(problems).filter((p) => !/status of 409\b/.test(p)),
      [],
      'nothing but the 409 of the taken name',
    );
    await here.close();
  });

  it('shows a non-admin no console, and its API refuses them', async () => {
    const plain = await seed('dave');
    const context = await signedIn(plain.username);
    const page = await context.newPage();
    const { problems } = watch(page);
    await page.goto('/');
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Account' }).waitFor();
    assert.equal(await nav.getByRole('link', { name: 'Admin' }).count(), 0, 'no Admin link');
    for (const path of ['/admin', '/admin/users']) {
      const res = await page.goto(path);
      assert.equal(res?.status(), 404, `${path}: the server answers the not-found page with 404`);
      await page.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor();
      assert.equal(await page.title(), 'Page not found · Gatehouse');
    }
    assert.equal((await context.request.get('/api/admin/users')).status(), 403);
    assert.equal((await context.request.get('/api/admin/dashboard')).status(), 403);
    // Chromium reports each 404 page load on the console; nothing else may appear.
    assert.deepEqual(problems.filter((problem) => !/status of 404 \(Not Found\)/.test(problem)), []);
    await context.close();
  });

  it('leaves Apps out when the server has no OpenID Connect provider', async () => {
    const plain = await startTestServer({ OIDC_ENABLED: 'false' });
    try {
      const username = 'olga';
      await plain.services.accounts.signUp({ username, email: null, password: GOOD_PASSWORD }, META, 'admin', { byOperator: true });
      const context = await signedInContext(browser, plain, username, GOOD_PASSWORD);
      const page = await context.newPage();
      const [probe] = await Promise.all([page.waitForResponse((r) => r.url().includes('/api/admin/oidc/clients')), page.goto('/admin')]);
      assert.equal(probe.status(), 404);
      const adminNav = page.getByRole('navigation', { name: 'Admin' });
      await adminNav.getByRole('link', { name: 'Audit log' }).waitFor();
      await page.waitForFunction('!document.querySelector(\'nav[aria-label="Admin"] a[href="/admin/apps"]\')');
      await page.goto('/admin/apps');
      await page.getByText('This server has no OpenID Connect provider').waitFor();
      await context.close();
    } finally {
      await plain.close();
    }
  });

  it('has no serious or critical axe violation on the dashboard, the users list and a user page, at 1024 and 360 px', async () => {
    const admin = await seed('erin', 'admin');
    const target = await seed('frank');
    const context = await signedIn(admin.username, { bypassCSP: true });
    const page = await context.newPage();
    const failures: string[] = [];
    const pages = [
      { path: '/admin', ready: () => page.getByRole('region', { name: 'Signed in now' }).waitFor() },
      { path: '/admin/users', ready: () => page.getByText(/^Showing 1–\d+ of \d+ users\./).waitFor() },
      { path: `/admin/users/${target.id}`, ready: () => page.getByText('Not signed in anywhere.').waitFor() },
    ];
    for (const { path, ready } of pages) {
      await page.setViewportSize({ width: 1024, height: 768 });
      await page.goto(path);
      await ready();
      if (path.startsWith('/admin/users/')) {
        // With a confirmation open too.
        await page.getByRole('button', { name: `Disable ${target.username}` }).click();
        await page.getByRole('button', { name: 'Yes, disable' }).waitFor();
      }
      for (const width of [1024, 360]) {
        await page.setViewportSize({ width, height: width === 360 ? 740 : 768 });
        const violations = await seriousViolations(page);
        if (violations.length > 0) failures.push(`${path} at ${width} px:\n${describeViolations(violations)}`);
        const overflow = (await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
        if (overflow > 0) failures.push(`${path} at ${width} px scrolls sideways by ${overflow} px`);
      }
    }
    await screenshot(page, 'admin-user-mobile');
    assert.deepEqual(failures, []);
    await context.close();
  });
});
