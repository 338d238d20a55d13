/**
 * Self-service over mail, in a real browser over the real server with a real SMTP server on a
 * loopback port: signing up with an email through the page, verifying it from the mailed link
 * (after "Send a new link" on the account page, which voids the first link), a forgotten password
 * reset through the server's pages in a browser with JavaScript disabled, logging in with the new
 * password, then on the account page the address shown verified, changed (confirmed from the
 * mail), another session signed out, the address removed and the account deleted, each asking for
 * the password once the sign-in is no longer recent. Also axe (no violation of any impact) on
 * every page a mail or a forgotten password leads to, and on the account page's email section.
 *
 * The server runs on a fake clock, so a test can move past REAUTH_MAX_AGE instead of waiting.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { fakeClock, GOOD_PASSWORD, startTestServer, uniqueName } from '../helpers/app.js';
import type { FakeClock, TestServer } from '../helpers/app.js';
import { startSmtpServer, until } from '../helpers/smtp.js';
import type { ReceivedMail, TestSmtpServer } from '../helpers/smtp.js';
import { apiInContext, browserSkipReason, launchBrowser, newContext, screenshot, watch } from './browser.js';
import type { AxeViolation } from './browser.js';

const NEW_PASSWORD = 'a brand new passphrase 42';
/** Past REAUTH_MAX_AGE (600 s by default): the sign-in is no longer recent. */
const PAST_REAUTH = 601_000;
const VERIFY_SUBJECT = 'Confirm your email address';
const RESET_SUBJECT = 'Reset your password';
const CHANGE_SUBJECT = 'Confirm your new email address';
const CHANGE_NOTICE_SUBJECT = 'Your email address is being changed';

interface User {
  username: string;
  email: string | null;
  email_verified: boolean;
}

/** A fresh address for this run (addresses are compared in lower case). */
function addressFor(username: string, domain = 'example.com'): string {
  return `${username.toLowerCase()}@${domain}`;
}

/** The page's problems, minus Chromium's console line for the 403 reauthentication_required a flow expects. */
function unexpected(problems: string[]): string[] {
  return problems.filter((p) => !/^console: Failed to load resource: the server responded with a status of 403\b/.test(p));
}

/** What the page has focused: its class name (evaluated in the page). */
function focusedClass(page: Page): Promise<unknown> {
  return page.evaluate('document.activeElement ? document.activeElement.className : null');
}

let axeSource: string | undefined;

/** axe-core on the page, every violation whatever its impact (browser.ts's seriousViolations keeps only serious and critical). */
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

describe('self-service over mail: verification, password reset, email change', { skip: browserSkipReason() }, () => {
  let browser: Browser;
  let smtp: TestSmtpServer;
  let server: TestServer;
  let clock: FakeClock;
  const taken = new Set<ReceivedMail>();

  before(async () => {
    browser = await launchBrowser(); // first: without Chromium, fail before a server is left running
    smtp = await startSmtpServer();
    clock = fakeClock();
    server = await startTestServer({ SMTP_URL: smtp.url }, { clock });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await smtp?.close();
  });

  /** The next mail with this subject to this address that no step has taken yet. */
  async function nextMail(to: string, subject: string): Promise<ReceivedMail> {
    const find = () => smtp.received.find((mail) => !taken.has(mail) && mail.envelope.to.includes(to) && mail.parsed.subject === subject);
    await until(() => find() !== undefined, `a mail "${subject}" to ${to}`);
    const mail = find();
    assert.ok(mail);
    taken.add(mail);
    return mail;
  }

  /**
   * The link in a mail's plain-text part (PUBLIC_URL + path + ?token=…), as a path on the test
   * server: PUBLIC_URL is the default http://127.0.0.1:3000, the server listens on a free port.
   */
  function linkIn(mail: ReceivedMail): string {
    const match = /^(https?:\/\/\S+\?token=[A-Za-z0-9_-]+)$/m.exec(mail.parsed.text ?? '');
    assert.ok(match?.[1], `a link in the mail: ${mail.parsed.text}`);
    const url = new URL(match[1]);
    assert.equal(url.origin, server.config.publicUrl);
    return url.pathname + url.search;
  }

  function assertLinkPage(response: Response | null, status: number): void {
    assert.ok(response);
    assert.equal(response.status(), status, response.url());
    assert.equal(response.headers()['referrer-policy'], 'strict-origin');
    assert.match(response.headers()['cache-control'] ?? '', /no-store/);
  }

  async function loginStatus(username: string, password: string): Promise<number> {
    return (await server.client().post('/login', { username, password })).status;
  }

  it('signs up with an email, verifies it, resets the password without JavaScript, changes the address, signs out another session, deletes the account', async () => {
    const username = uniqueName('Self');
    const address = addressFor(username);
    const newAddress = addressFor(username, 'example.org');
    const here = await newContext(browser, server);
    const page = await here.newPage();
    const { problems } = watch(page);

    // Sign up with an email through the page.
    await page.goto('/signup');
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Email').fill(address);
    await page.getByLabel('Password', { exact: true }).fill(GOOD_PASSWORD);
    await page.getByLabel('Confirm password').fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Create an account' }).click();
    await page.getByRole('heading', { level: 1, name: `Welcome, ${username}!` }).waitFor();
    const firstLink = linkIn(await nextMail(address, VERIFY_SUBJECT));

    // The account page: not verified yet; a new link voids the first one.
    await page.goto('/account');
    const email = page.getByRole('region', { name: 'Email address' });
    await email.getByText(`Your email address is ${address}.`).waitFor();
    await email.getByText('Not verified', { exact: true }).waitFor();
    const [resent] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/api/me/email/verification')), email.getByRole('button', { name: 'Send a new link' }).click()]);
    assert.equal(resent.status(), 202);
    await email.getByRole('status').getByText(`We sent a new link to ${address}.`, { exact: false }).waitFor();
    const verifyLink = linkIn(await nextMail(address, VERIFY_SUBJECT));
    assert.notEqual(verifyLink, firstLink);
    assertLinkPage(await page.goto(firstLink), 401);
    await page.getByRole('heading', { level: 1, name: 'This link does not work' }).waitFor();

    // Open the new link from the mail and press its button: verified.
    assertLinkPage(await page.goto(verifyLink), 200);
    await page.getByRole('heading', { level: 1, name: 'Confirm your email address' }).waitFor();
    await page.getByRole('button', { name: 'Confirm email address' }).click();
    await page.waitForURL(`${server.url}/`);
    await page.getByRole('heading', { level: 1, name: `Welcome, ${username}!` }).waitFor();
    assert.equal(((await apiInContext(here, 'GET', '/api/me')) as User).email_verified, true);

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${server.url}/login`);

    // A forgotten password, in a browser without JavaScript: the server's pages alone.
    const noScript = await newContext(browser, server, { javaScriptEnabled: false });
    const plain = await noScript.newPage();
    const plainWatch = watch(plain);
    await plain.goto('/login');
    await plain.getByRole('link', { name: 'Forgot your password?' }).click();
    await plain.waitForURL(`${server.url}/password/forgot`);
    await plain.getByLabel('Email').fill(address);
    await plain.getByRole('button', { name: 'Send the link' }).click();
    await plain.getByRole('heading', { level: 1, name: 'Check your email' }).waitFor();
    await plain.getByText('If this address belongs to an account, a link to choose a new password is on its way.', { exact: false }).waitFor();
    const resetLink = linkIn(await nextMail(address, RESET_SUBJECT));
    assertLinkPage(await plain.goto(resetLink), 200);
    await plain.getByRole('heading', { level: 1, name: 'Choose a new password' }).waitFor();

    // A mismatch first: the form again with the JSON route's status, the link still good.
    await plain.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await plain.getByLabel('Confirm new password').fill('something else entirely');
    const [mismatch] = await Promise.all([plain.waitForResponse((r) => r.url().endsWith('/password/reset') && r.request().method() === 'POST'), plain.getByRole('button', { name: 'Set new password' }).click()]);
    assert.equal(mismatch.status(), 422);
    await plain.getByRole('alert').getByText('There is a problem').waitFor();
    assert.equal(await plain.title(), 'Error: Choose a new password · Gatehouse');
    assert.equal(await plain.getByLabel('Confirm new password').getAttribute('aria-invalid'), 'true');
    await screenshot(plain, 'e2e-self-service-reset-error');

    await plain.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await plain.getByLabel('Confirm new password').fill(NEW_PASSWORD);
    await plain.getByRole('button', { name: 'Set new password' }).click();
    await plain.waitForURL(`${server.url}/login`);
    await nextMail(address, 'Your password was changed');
    assert.equal(await loginStatus(username, GOOD_PASSWORD), 401, 'the old password no longer logs in');
    assert.equal((await plain.goto(resetLink))?.status(), 401, 'the reset link is spent');

    // Log in there with the new password (and the address): the second browser session.
    await plain.goto('/login');
    await plain.getByLabel('Username or email').fill(address);
    await plain.getByLabel('Password').fill(NEW_PASSWORD);
    await plain.getByRole('button', { name: 'Log in' }).click();
    await plain.waitForURL(`${server.url}/`);
    await plain.getByRole('heading', { level: 1, name: `Welcome, ${username}!` }).waitFor();
    assert.deepEqual(plainWatch.problems, []);

    // Log in here with the new password, then the account page.
    await page.getByLabel('Username or email').fill(username);
    await page.getByLabel('Password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { level: 1, name: `Welcome, ${username}!` }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account' }).click();
    await page.waitForURL(`${server.url}/account`);
    await email.getByText(`Your email address is ${address}.`).waitFor();
    await email.getByText('Verified', { exact: true }).waitFor();
    assert.equal(await email.getByRole('button', { name: 'Send a new link' }).count(), 0, 'nothing to send for a verified address');

    // Change the address (the sign-in is recent: no password asked); it changes once confirmed.
    await email.getByLabel('New email address').fill(newAddress);
    const [asked] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/api/me/email')), email.getByRole('button', { name: 'Change email address' }).click()]);
    assert.equal(asked.status(), 202);
    await email.getByRole('status').getByText(`We sent a link to ${newAddress}. Your address changes when you open it.`).waitFor();
    assert.equal(await email.getByLabel('New email address').inputValue(), '', 'the field is emptied');
    await email.getByText(`Your email address is ${address}.`).waitFor();
    await nextMail(address, CHANGE_NOTICE_SUBJECT);
    const confirmLink = linkIn(await nextMail(newAddress, CHANGE_SUBJECT));
    assertLinkPage(await page.goto(confirmLink), 200);
    await page.getByRole('heading', { level: 1, name: 'Confirm your new email address' }).waitFor();
    await page.getByRole('button', { name: 'Confirm new address' }).click();
    await page.waitForURL(`${server.url}/`);
    await page.getByRole('heading', { level: 1, name: `Welcome, ${username}!` }).waitFor();
    await page.goto('/account');
    await email.getByText(`Your email address is ${newAddress}.`).waitFor();
    await email.getByText('Verified', { exact: true }).waitFor();
    await screenshot(page, 'e2e-self-service-account');

    // Sign out the other browser session (the one without JavaScript) with its row's button.
    await page.getByText('You are signed in with 2 browser sessions.').waitFor();
    const other = page.getByRole('list', { name: 'Where you are signed in' }).getByRole('listitem').filter({ hasNotText: 'This device' });
    await other.getByRole('button', { name: /^Sign out/ }).click();
    const [ended] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().includes('/api/me/sessions/')),
      other.getByRole('button', { name: 'Yes, sign out' }).click(),
    ]);
    assert.equal(ended.status(), 204);
    await page.getByText('You are signed in with 1 browser session.').waitFor();
    assert.equal((await noScript.request.get('/api/me')).status(), 401, 'the other browser is signed out');
    await plain.goto('/account');
    await plain.waitForURL(/\/login\?/);
    await noScript.close();

    // No longer recent: removing the address asks for the password, after a confirmation.
    clock.advance(PAST_REAUTH);
    await email.getByRole('button', { name: 'Remove address' }).click();
    await email.getByRole('group').getByText(`Remove the address ${newAddress} from your account?`, { exact: false }).waitFor();
    const [refused] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/api/me/email')), email.getByRole('button', { name: 'Yes, remove address' }).click()]);
    assert.equal(refused.status(), 403);
    const emailPassword = email.getByLabel('Your password');
    await emailPassword.waitFor();
    assert.equal(await page.evaluate('document.activeElement.id'), 'email-password', 'the password field takes focus');
    await emailPassword.fill('not the password');
    const [wrong] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/api/me/email')), email.getByRole('button', { name: 'Remove address' }).click()]);
    assert.equal(wrong.status(), 422);
    await email.getByRole('alert').getByRole('link', { name: 'That is not your password.' }).waitFor();
    assert.equal(await page.title(), 'Error: Account · Gatehouse');
    await emailPassword.fill(NEW_PASSWORD);
    const [removed] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/api/me/email')), email.getByRole('button', { name: 'Remove address' }).click()]);
    assert.equal(removed.status(), 200);
    await email.getByRole('status').getByText('Your email address has been removed.').waitFor();
    await email.getByText('Your account has no email address.', { exact: false }).waitFor();
    assert.equal(await focusedClass(page), 'summary', 'focus lands on what the section now says');
    assert.equal(await page.title(), 'Account · Gatehouse');
    assert.equal(((await apiInContext(here, 'GET', '/api/me')) as User).email, null);

    // Delete the account: a confirmation, then the password (still not recent).
    const danger = page.getByRole('region', { name: 'Delete account' });
    await danger.getByRole('button', { name: 'Delete my account', exact: true }).click();
    await danger.getByRole('button', { name: 'Yes, delete my account' }).click();
    const deletePassword = danger.getByLabel('Your password');
    await deletePassword.fill(NEW_PASSWORD);
    const [deleted] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().endsWith('/api/me')),
      danger.getByRole('button', { name: 'Delete my account for good' }).click(),
    ]);
    assert.equal(deleted.status(), 204);
    await page.waitForURL(`${server.url}/login`);
    assert.equal(await loginStatus(username, NEW_PASSWORD), 401, 'the account is gone');
    assert.deepEqual(unexpected(problems), []);
    await here.close();
  });

  it('has no axe violation on the link pages, the forgot-password pages, the invalid-link page and the email section', async () => {
    const username = uniqueName('AxeMail');
    const address = addressFor(username);
    const failures: string[] = [];
    const context: BrowserContext = await newContext(browser, server, { bypassCSP: true });
    const check = async (page: Page, state: string) => {
      const violations = await allViolations(page);
      if (violations.length > 0) failures.push(`${state}:\n${describeAll(violations)}`);
    };
    /** Nothing wider than a 360 px phone; back to the desktop size after. */
    const fitsPhone = async (page: Page, state: string) => {
      await page.setViewportSize({ width: 360, height: 740 });
      const overflow = (await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
      if (overflow > 0) failures.push(`${state} at 360 px: ${overflow}px wider than the screen`);
      await page.setViewportSize({ width: 1024, height: 768 });
    };

    // A user with an unverified address, a reset link and an email-change link.
    const signup = await context.request.post('/signup', { data: { username, password: GOOD_PASSWORD, email: address } });
    assert.equal(signup.status(), 201, await signup.text());
    const verifyLink = linkIn(await nextMail(address, VERIFY_SUBJECT));
    const changeTo = addressFor(username, 'example.net');
    await apiInContext(context, 'POST', '/api/me/email', { email: changeTo });
    const confirmLink = linkIn(await nextMail(changeTo, CHANGE_SUBJECT));
    const forgot = await server.client().post('/password/forgot', { email: address });
    assert.equal(forgot.status, 202);
    const resetLink = linkIn(await nextMail(address, RESET_SUBJECT));

    const page = await context.newPage();
    const { problems } = watch(page);
    const pages: Array<[string, string, number, string]> = [
      ['verify-email', verifyLink, 200, 'Confirm your email address'],
      ['confirm-email', confirmLink, 200, 'Confirm your new email address'],
      ['reset-password', resetLink, 200, 'Choose a new password'],
      ['invalid-link', '/verify-email?token=not-a-live-token', 401, 'This link does not work'],
      ['invalid-link-confirm', '/email/confirm?token=not-a-live-token', 401, 'This link does not work'],
      ['invalid-link-reset', '/password/reset', 401, 'This link does not work'],
    ];
    for (const [name, path, status, heading] of pages) {
      assertLinkPage(await page.goto(path), status);
      await page.getByRole('heading', { level: 1, name: heading }).waitFor();
      await check(page, name);
      await screenshot(page, `e2e-self-service-${name}`);
      await fitsPhone(page, name);
    }

    // The reset form with its errors (422; the link still good).
    await page.goto(resetLink);
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('Confirm new password').fill('something else entirely');
    await page.getByRole('button', { name: 'Set new password' }).click();
    await page.getByRole('alert').getByText('There is a problem').waitFor();
    await check(page, 'reset-password with errors');

    // Forgot password: the form, the form with its error, the answer.
    await page.goto('/password/forgot');
    await page.getByRole('heading', { level: 1, name: 'Forgot your password?' }).waitFor();
    await check(page, 'forgot-password');
    await page.getByRole('button', { name: 'Send the link' }).click();
    await page.getByRole('alert').getByText('There is a problem').waitFor();
    assert.equal(await focusedClass(page), 'error-summary', 'the error summary has focus (autofocus, no script needed)');
    await check(page, 'forgot-password with errors');
    await page.getByLabel('Email').fill('nobody-here@example.com');
    await page.getByRole('button', { name: 'Send the link' }).click();
    await page.getByRole('heading', { level: 1, name: 'Check your email' }).waitFor();
    await check(page, 'forgot-password sent');

    // The account page's email section: not verified, a new link sent, an error, the confirmation, the password step.
    await page.goto('/account');
    const email = page.getByRole('region', { name: 'Email address' });
    await email.getByText('Not verified', { exact: true }).waitFor();
    await page.getByText('You are signed in with 1 browser session.').waitFor();
    await check(page, 'account');
    await email.getByRole('button', { name: 'Send a new link' }).click();
    await email.getByRole('status').getByText(`We sent a new link to ${address}.`, { exact: false }).waitFor();
    await email.getByLabel('New email address').fill('not-an-email');
    await email.getByRole('button', { name: 'Change email address' }).click();
    await email.locator('#email-errors').waitFor();
    assert.equal(await page.evaluate('document.activeElement.id'), 'email-errors', 'the error summary takes focus');
    assert.equal(await email.getByLabel('New email address').getAttribute('aria-invalid'), 'true');
    await screenshot(page, 'e2e-self-service-email-error');
    await check(page, 'account: new link sent, change refused');
    await email.getByRole('button', { name: 'Remove address' }).click();
    await email.getByRole('button', { name: 'Yes, remove address' }).waitFor();
    await check(page, 'account: removal confirmation');
    await email.getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await page.evaluate('document.activeElement.textContent'), 'Remove address', 'Cancel gives focus back');

    clock.advance(PAST_REAUTH);
    await email.getByLabel('New email address').fill(addressFor(username, 'example.edu'));
    await email.getByRole('button', { name: 'Change email address' }).click();
    await email.getByText('Confirm it is you: enter your password to change your email address to', { exact: false }).waitFor();
    await email.getByRole('button', { name: 'Change email address' }).click();
    await email.locator('#email-errors').getByRole('link', { name: 'Enter your password.' }).waitFor();
    await screenshot(page, 'e2e-self-service-email-password');
    await check(page, 'account: the password step with its error');
    await fitsPhone(page, 'account: the password step');

    assert.equal(failures.length, 0, failures.join('\n\n'));
    assert.deepEqual(unexpected(problems), []);
    await context.close();
  });
});
