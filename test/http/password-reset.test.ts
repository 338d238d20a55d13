/**
 * Forgot password and reset (contract v1.2, "Password reset" and "Mail"), over real HTTP with a
 * real SMTP server on a loopback port:
 *
 * - POST /password/forgot gives one answer (JSON 202 `{}`, form 200 with one page) for a known,
 *   unknown, disabled or locked address; only a user who is not disabled gets a mail, with the link
 *   PUBLIC_URL/password/reset?token=…; an SMTP server that refuses, is dead or hangs changes
 *   neither the answer nor how soon it comes.
 * - GET /password/reset shows the new-password form for a live token (Referrer-Policy
 *   strict-origin, Cache-Control no-store) and a 401 page for any other.
 * - POST /password/reset checks the token (401), then the password (422, the token is kept), then
 *   sets the password, verifies the address, ends every session and token login, voids the user's
 *   other links and mails a notice. A token works once (also under 10 parallel requests), a newer
 *   link voids the older one, PASSWORD_RESET_TTL ends it, and EMAILS_PER_ADDRESS_PER_HOUR caps the
 *   mails without changing the answer or voiding earlier links.
 *
 * The mail goes out after the answer: the tests wait with `passwordReset.idle()` (the forgot
 * backlog drained), the mailer's queue and the SMTP server's inbox, never with fixed sleeps, and
 * pick each test's mail by its recipient.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { NO_REQUEST } from '../../src/audit/request-meta.js';
import { fakeClock, GOOD_PASSWORD, signUpClient, startTestServer, uniqueName } from '../helpers/app.js';
import type { FakeClock, TestServer } from '../helpers/app.js';
import { assertError, assertFields } from '../helpers/assert-error.js';
import type { TestResponse } from '../helpers/http.js';
import { deadPort, startSilentServer, startSmtpServer, until } from '../helpers/smtp.js';
import type { ReceivedMail, TestSmtpServer } from '../helpers/smtp.js';

const PUBLIC_URL = 'http://auth.gatehouse.test';
const NEW_PASSWORD = 'a brand new battery staple';
const SENT_PAGE_TEXT = 'If this address belongs to an account, a link to choose a new password is on its way.';

interface Tokens {
  access_token: string;
  refresh_token: string;
}
interface UserJson {
  id: number;
  username: string;
  email: string | null;
  email_verified: boolean;
}

const bearer = (accessToken: string) => ({ headers: { authorization: `Bearer ${accessToken}` } });

function newAddress(prefix = 'reset'): string {
  return `${uniqueName(prefix)}@example.com`.toLowerCase();
}

/** A token of the right shape that was never issued. */
function madeUpToken(): string {
  return randomBytes(32).toString('base64url');
}

function mailsTo(smtp: TestSmtpServer, address: string, subject?: string): ReceivedMail[] {
  return smtp.received.filter((m) => m.envelope.to.includes(address) && (subject === undefined || m.parsed.subject === subject));
}

/** The token of the one link to `path` in a mail's plain-text part, which must be a line of its own. */
function tokenIn(mail: ReceivedMail, path: string): string {
  const prefix = `${PUBLIC_URL}${path}?token=`;
  const lines = (mail.parsed.text ?? '').split('\n').filter((line) => line.startsWith(prefix));
  assert.equal(lines.length, 1, `one link to ${path} in: ${mail.parsed.text}`);
  const token = (lines[0] ?? '').slice(prefix.length).trim();
  assert.match(token, /^[A-Za-z0-9_-]{43,}$/, 'at least 128 bits (here 256), base64url');
  return token;
}

/** Wait for the `count`-th mail with `subject` to `address` and return it. */
async function nthMail(smtp: TestSmtpServer, address: string, subject: string, count = 1): Promise<ReceivedMail> {
  await until(() => mailsTo(smtp, address, subject).length >= count, `mail #${count} "${subject}" to ${address}`);
  const mail = mailsTo(smtp, address, subject)[count - 1];
  assert.ok(mail);
  return mail;
}

/** Every forgot request taken has been looked up, and every mail it queued has left the queue. */
async function mailSettled(server: TestServer): Promise<void> {
  await server.services.passwordReset.idle();
  await until(() => server.services.mailer.queued === 0, 'the mail queue to empty');
}

/** Poll an async check (every 25 ms) until it holds or `timeoutMs` passes; returns whether it held. */
async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await delay(25);
  }
}

async function forgotJson(server: TestServer, email: string): Promise<TestResponse> {
  return server.client().post('/password/forgot', { email });
}

/** The form as a browser posts it: GET the form (its CSRF cookie and field), then POST it. */
async function forgotForm(server: TestServer, email: string): Promise<TestResponse<string>> {
  const browser = server.client();
  const page = await browser.get<string>('/password/forgot');
  assert.equal(page.status, 200);
  return browser.request<string>('POST', '/password/forgot', { form: { email, csrf_token: browser.csrf ?? '' } });
}

function assertSentPage(res: TestResponse): void {
  assert.equal(res.status, 200, res.text);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  assert.ok(res.text.includes(SENT_PAGE_TEXT), res.text);
}

function assertAccepted(res: TestResponse): void {
  assert.equal(res.status, 202, res.text);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(res.text, '{}');
}

describe('password reset over HTTP and SMTP', () => {
  let smtp: TestSmtpServer;
  let server: TestServer;

  before(async () => {
    smtp = await startSmtpServer();
    server = await startTestServer({ SMTP_URL: smtp.url, PUBLIC_URL, LOGIN_FAILURES_PER_ACCOUNT: '3', RATE_LIMIT_PER_IP: '100000' });
  });
  after(async () => {
    await server.close();
    await smtp.close();
  });

  /** A user signed up with an address (its verification mail is in the inbox). */
  async function userWithEmail(prefix = 'reset') {
    const email = newAddress(prefix);
    const { client, user } = await signUpClient(server, uniqueName(prefix), GOOD_PASSWORD, email);
    return { client, user, email };
  }

  /** Ask for a link for `email` (JSON) and return its token, from the `count`-th reset mail to it. */
  async function resetToken(email: string, count = 1): Promise<string> {
    assertAccepted(await forgotJson(server, email));
    return tokenIn(await nthMail(smtp, email, 'Reset your password', count), '/password/reset');
  }

  it('GET /password/forgot is the form', async () => {
    const res = await server.client().get<string>('/password/forgot');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(res.text, /<form method="post" action="\/password\/forgot"/);
    assert.match(res.text, /name="email"/);
    assert.match(res.text, /name="csrf_token"/);
  });

  it('one answer for a known, unknown, disabled or locked address; only users who are not disabled get a mail', async () => {
    const known = await userWithEmail('known');
    const disabled = await userWithEmail('disabled');
    await server.services.accounts.updateAccount(disabled.user.id, { disabled: true }, { id: null });
    const locked = await userWithEmail('locked');
    let lockStatus = 0;
    for (let i = 0; i < 10 && lockStatus !== 429; i += 1) {
      lockStatus = (await server.client().post('/login', { username: locked.user.username, password: `wrong guess ${i}!` })).status;
    }
    assert.equal(lockStatus, 429, 'the account is locked');
    const unknown = newAddress('unknown');
    const addresses = { known: known.email, unknown, disabled: disabled.email, locked: locked.email };

    const jsonAnswers: string[] = [];
    const formAnswers: string[] = [];
    for (const email of Object.values(addresses)) {
      const json = await forgotJson(server, email);
      assertAccepted(json);
      jsonAnswers.push(`${json.status} ${json.headers.get('content-type')} ${json.text}`);
      const form = await forgotForm(server, email);
      assertSentPage(form);
      formAnswers.push(`${form.status} ${form.headers.get('content-type')} ${form.text}`);
    }
    assert.equal(new Set(jsonAnswers).size, 1, jsonAnswers.join('\n'));
    assert.equal(new Set(formAnswers).size, 1, 'the same page for every address');

    await mailSettled(server);
    // Two requests each (JSON and form); the second voided the first's link.
    assert.equal(mailsTo(smtp, known.email, 'Reset your password').length, 2);
    assert.equal(mailsTo(smtp, locked.email, 'Reset your password').length, 2, 'a locked account is not disabled: it can reset');
    assert.equal(mailsTo(smtp, disabled.email, 'Reset your password').length, 0, 'no mail for a disabled user');
    assert.equal(mailsTo(smtp, unknown).length, 0, 'no mail for an unknown address');

    const mail = mailsTo(smtp, known.email, 'Reset your password')[1];
    assert.ok(mail);
    const token = tokenIn(mail, '/password/reset');
    assert.ok(!jsonAnswers.join().includes(token) && !formAnswers.join().includes(token));
    // The locked user's link works, and a reset lets them in at once.
    const lockedToken = tokenIn(mailsTo(smtp, locked.email, 'Reset your password')[1] as ReceivedMail, '/password/reset');
    assert.equal((await server.client().post('/password/reset', { token: lockedToken, password: NEW_PASSWORD })).status, 204);
  });

  it('the address is matched case-insensitively and trimmed', async () => {
    const { email } = await userWithEmail('case');
    assertAccepted(await forgotJson(server, `  ${email.toUpperCase()} `));
    const mail = await nthMail(smtp, email, 'Reset your password');
    tokenIn(mail, '/password/reset');
  });

  it('GET /password/reset: the new-password form for a live token, a 401 page for any other; neither spends it', async () => {
    const { email } = await userWithEmail('page');
    const token = await resetToken(email);
    for (let i = 0; i < 2; i += 1) {
      const page = await server.client().get<string>(`/password/reset?token=${token}`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(page.headers.get('referrer-policy'), 'strict-origin');
      assert.equal(page.headers.get('cache-control'), 'no-store');
      assert.match(page.text, /<form method="post" action="\/password\/reset"/);
      assert.match(page.text, /name="password"/);
      assert.match(page.text, /name="password_confirmation"/);
      assert.ok(page.text.includes(`name="token" value="${token}"`), 'the button posts the token');
    }
    const swappedCase = [...token].map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('');
    for (const bad of [madeUpToken(), '', 'short', `${token}x`, token.slice(1), swappedCase]) {
      const page = await server.client().get<string>(`/password/reset?token=${encodeURIComponent(bad)}`);
      assert.equal(page.status, 401, bad);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(page.headers.get('referrer-policy'), 'strict-origin');
      assert.equal(page.headers.get('cache-control'), 'no-store');
      assert.match(page.text, /This link does not work/);
      assert.doesNotMatch(page.text, /name="password"/);
    }
    assert.equal((await server.client().get('/password/reset')).status, 401, 'no token at all');
    assert.equal((await server.client().post('/password/reset', { token, password: NEW_PASSWORD })).status, 204, 'the GETs spent nothing');
  });

  it('POST /password/reset checks the token first (401), then the password (422, the token kept)', async () => {
    const { user, email } = await userWithEmail('order');
    const token = await resetToken(email);
    assertError(await server.client().post('/password/reset', { token: madeUpToken(), password: NEW_PASSWORD }), 401, 'invalid_token');
    assertError(await server.client().post('/password/reset', { token: madeUpToken(), password: 'short' }), 401, 'invalid_token');
    assertError(await server.client().post('/password/reset', { token: 'not a token', password: 'short' }), 401, 'invalid_token');
    assertError(await server.client().post('/password/reset', { token: madeUpToken() }), 401, 'invalid_token');
    assertFields(await server.client().post('/password/reset', { password: NEW_PASSWORD }), ['token']);
    assertFields(await server.client().post('/password/reset', { token: '', password: NEW_PASSWORD }), ['token']);

    assertFields(await server.client().post('/password/reset', { token, password: 'short' }), ['password']);
    assertFields(await server.client().post('/password/reset', { token, password: 'password1' }), ['password']);
    assertFields(await server.client().post('/password/reset', { token, password: NEW_PASSWORD, password_confirmation: 'something else entirely' }), ['password_confirmation']);
    assertFields(await server.client().post('/password/reset', { token }), ['password']);
    // Nothing changed, and the token still works.
    assert.equal((await server.client().post('/login', { username: user.username, password: GOOD_PASSWORD })).status, 200);
    assert.equal((await server.client().get(`/password/reset?token=${token}`)).status, 200);
    const done = await server.client().post('/password/reset', { token, password: NEW_PASSWORD, password_confirmation: NEW_PASSWORD });
    assert.equal(done.status, 204, done.text);
    assert.equal(done.text, '');
  });

  it('a reset sets the password, verifies the address, ends every session and token login, voids the other links and mails a notice', async () => {
    const { client: browser, user, email } = await userWithEmail('full');
    const verifyToken = tokenIn(await nthMail(smtp, email, 'Confirm your email address'), '/verify-email');
    const other = server.client();
    assert.equal((await other.post('/login', { username: user.username, password: GOOD_PASSWORD })).status, 200);
    const login = await server.client().post<Tokens>('/api/token', { username: user.username, password: GOOD_PASSWORD });
    assert.equal(login.status, 200, login.text);
    const tokens = login.body;
    assert.equal((await server.client().get('/api/me', bearer(tokens.access_token))).status, 200);
    assert.equal((await browser.get<UserJson>('/api/me')).body.email_verified, false);

    const token = await resetToken(email);
    const res = await server.client().post('/password/reset', { token, password: NEW_PASSWORD });
    assert.equal(res.status, 204, res.text);

    assert.equal((await server.client().post('/login', { username: user.username, password: GOOD_PASSWORD })).status, 401, 'the old password fails');
    const fresh = server.client();
    const signedIn = await fresh.post<UserJson>('/login', { username: user.username, password: NEW_PASSWORD });
    assert.equal(signedIn.status, 200, 'the new one works');
    assert.equal(signedIn.body.email_verified, true, 'a reset verifies the address');
    assert.equal((await fresh.get<UserJson>('/api/me')).body.email_verified, true);

    for (const [name, client] of [['the browser that signed up', browser], ['another browser', other]] as const) {
      assert.equal((await client.get('/api/me')).status, 401, `${name} is signed out`);
    }
    assertError(await server.client().post('/api/token/refresh', { refresh_token: tokens.refresh_token }), 401, 'invalid_token');
    // The contract allows an access token up to 1 s; give it 2 s before calling it a failure.
    const refused = await eventually(async () => (await server.client().get('/api/me', bearer(tokens.access_token))).status === 401, 2_000);
    assert.ok(refused, 'the access token of the token login is refused within 1 s');

    // The verification link mailed at signup is void now.
    assert.equal((await server.client().get(`/verify-email?token=${verifyToken}`)).status, 401);
    assertError(await server.client().post('/email/verify', { token: verifyToken }), 401, 'invalid_token');

    const notice = await nthMail(smtp, email, 'Your password was changed');
    assert.ok(notice.parsed.text?.includes(user.username), notice.parsed.text);
    assert.ok(!notice.parsed.text?.includes(token), 'the notice carries no token');

    const rows = await server.services.db.selectFrom('audit_events').select(['event', 'detail']).where('user_id', '=', user.id).orderBy('id').execute();
    const events = rows.map((r) => r.event);
    assert.ok(events.includes('password_reset_requested'), events.join());
    assert.ok(events.includes('password_reset'), events.join());
    assert.ok(events.indexOf('password_reset_requested') < events.indexOf('password_reset'));
    for (const row of rows) assert.ok(!(row.detail ?? '').includes(token), 'no token in the audit log');
  });

  it('the form: a failure shows the form again with the JSON status, success is 303 to /login', async () => {
    const { user, email } = await userWithEmail('form');
    const token = await resetToken(email);
    const browser = server.client();
    const page = await browser.get<string>(`/password/reset?token=${token}`);
    assert.equal(page.status, 200);
    const csrf = browser.csrf ?? '';

    const badToken = await browser.request<string>('POST', '/password/reset', { form: { csrf_token: csrf, token: madeUpToken(), password: NEW_PASSWORD, password_confirmation: NEW_PASSWORD } });
    assert.equal(badToken.status, 401);
    assert.match(badToken.headers.get('content-type') ?? '', /^text\/html/);

    const short = await browser.request<string>('POST', '/password/reset', { form: { csrf_token: csrf, token, password: 'short', password_confirmation: 'short' } });
    assert.equal(short.status, 422);
    assert.match(short.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(short.text, /<form method="post" action="\/password\/reset"/, 'the form again');

    const mismatch = await browser.request<string>('POST', '/password/reset', { form: { csrf_token: csrf, token, password: NEW_PASSWORD, password_confirmation: 'not the same at all' } });
    assert.equal(mismatch.status, 422);

    const done = await browser.request<string>('POST', '/password/reset', { form: { csrf_token: csrf, token, password: NEW_PASSWORD, password_confirmation: NEW_PASSWORD } });
    assert.equal(done.status, 303, done.text);
    assert.equal(done.headers.get('location'), '/login');
    assert.equal((await server.client().post('/login', { username: user.username, password: NEW_PASSWORD })).status, 200);
  });

  it('a token works once', async () => {
    const { user, email } = await userWithEmail('once');
    const token = await resetToken(email);
    assert.equal((await server.client().post('/password/reset', { token, password: NEW_PASSWORD })).status, 204);
    assertError(await server.client().post('/password/reset', { token, password: 'yet another new battery' }), 401, 'invalid_token');
    assert.equal((await server.client().get(`/password/reset?token=${token}`)).status, 401);
    assert.equal((await server.client().post('/login', { username: user.username, password: NEW_PASSWORD })).status, 200, 'the second use changed nothing');
  });

  it('10 parallel resets with one token: exactly one succeeds', async () => {
    const { user, email } = await userWithEmail('race');
    const token = await resetToken(email);
    const passwords = Array.from({ length: 10 }, (_, i) => `parallel new password number ${i}`);
    const results = await Promise.all(passwords.map((password) => server.client().post('/password/reset', { token, password })));
    const statuses = results.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 204).length, 1, statuses.join());
    for (const r of results.filter((x) => x.status !== 204)) assertError(r, 401, 'invalid_token');
    const winner = passwords[statuses.indexOf(204)] ?? '';
    assert.equal((await server.client().post('/login', { username: user.username, password: winner })).status, 200, 'the password is the winner\'s');
    const rows = await server.services.db.selectFrom('audit_events').select('event').where('user_id', '=', user.id).where('event', '=', 'password_reset').execute();
    assert.equal(rows.length, 1);
  });

  it('a newer link voids the older one', async () => {
    const { email } = await userWithEmail('newer');
    const first = await resetToken(email, 1);
    const second = await resetToken(email, 2);
    assert.notEqual(first, second);
    assert.equal((await server.client().get(`/password/reset?token=${first}`)).status, 401);
    assertError(await server.client().post('/password/reset', { token: first, password: NEW_PASSWORD }), 401, 'invalid_token');
    assert.equal((await server.client().post('/password/reset', { token: second, password: NEW_PASSWORD })).status, 204);
  });

  it('the token is stored only as a hash', async () => {
    const { user, email } = await userWithEmail('hash');
    const token = await resetToken(email);
    const rows = await server.services.db.selectFrom('email_links').selectAll().where('user_id', '=', user.id).execute();
    assert.ok(rows.length >= 1);
    for (const row of rows) assert.ok(!Object.values(row).some((v) => typeof v === 'string' && v.includes(token)), JSON.stringify(row));
  });
});

describe('a reset link expires after PASSWORD_RESET_TTL', () => {
  let smtp: TestSmtpServer;
  let server: TestServer;
  let clock: FakeClock;
  before(async () => {
    smtp = await startSmtpServer();
    clock = fakeClock();
    server = await startTestServer({ SMTP_URL: smtp.url, PUBLIC_URL, PASSWORD_RESET_TTL: '120' }, { clock });
  });
  after(async () => {
    await server.close();
    await smtp.close();
  });

  it('works until the TTL ends, then is 401 on the page and the POST', async () => {
    const email = newAddress('ttl');
    const { user } = await signUpClient(server, uniqueName('ttl'), GOOD_PASSWORD, email);
    assertAccepted(await forgotJson(server, email));
    const mail = await nthMail(smtp, email, 'Reset your password');
    assert.match(mail.parsed.text ?? '', /2 minutes/, 'the mail says how long the link works');
    const token = tokenIn(mail, '/password/reset');

    clock.advance(119_000);
    assert.equal((await server.client().get(`/password/reset?token=${token}`)).status, 200, 'still live at 119 s');
    clock.advance(2_000);
    const page = await server.client().get(`/password/reset?token=${token}`);
    assert.equal(page.status, 401, 'expired at 121 s');
    assert.equal(page.headers.get('referrer-policy'), 'strict-origin');
    assertError(await server.client().post('/password/reset', { token, password: NEW_PASSWORD }), 401, 'invalid_token');
    assert.equal((await server.client().post('/login', { username: user.username, password: GOOD_PASSWORD })).status, 200, 'the password is unchanged');
  });
});

describe('EMAILS_PER_ADDRESS_PER_HOUR caps reset mails', () => {
  let smtp: TestSmtpServer;
  let server: TestServer;
  before(async () => {
    smtp = await startSmtpServer();
    server = await startTestServer({ SMTP_URL: smtp.url, PUBLIC_URL, EMAILS_PER_ADDRESS_PER_HOUR: '2' });
  });
  after(async () => {
    await server.close();
    await smtp.close();
  });

  it('past the cap: the same answer, no mail, no new link, and the last link still works', async () => {
    const email = newAddress('cap');
    // Made without a verification mail, so both places under the cap are the resets'.
    const user = await server.services.accounts.signUp({ username: uniqueName('cap'), password: GOOD_PASSWORD, email }, NO_REQUEST);
    const first = (assertAccepted(await forgotJson(server, email)), tokenIn(await nthMail(smtp, email, 'Reset your password', 1), '/password/reset'));
    const second = (assertAccepted(await forgotJson(server, email.toUpperCase())), tokenIn(await nthMail(smtp, email, 'Reset your password', 2), '/password/reset'));
    assert.notEqual(first, second);

    assertAccepted(await forgotJson(server, email));
    assertSentPage(await forgotForm(server, email));
    await mailSettled(server);
    assert.equal(mailsTo(smtp, email).length, 2, 'no third mail');
    assert.equal(server.services.mailer.stats.capped, 2);

    assert.equal((await server.client().get(`/password/reset?token=${second}`)).status, 200, 'the second link was not voided');
    assert.equal((await server.client().post('/password/reset', { token: second, password: NEW_PASSWORD })).status, 204);
    // The notice is not capped.
    await nthMail(smtp, email, 'Your password was changed');
    const rows = await server.services.db.selectFrom('audit_events').select('detail').where('user_id', '=', user.id).where('event', '=', 'password_reset_requested').orderBy('id').execute();
    assert.deepEqual(
      rows.map((r) => (JSON.parse(r.detail ?? '{}') as { mailed?: boolean }).mailed),
      [true, true, false, false],
    );
  });
});

describe('an SMTP server that refuses, is dead or hangs changes nothing in the answer', () => {
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    for (const close of closers.reverse()) await close();
  });

  /** An SMTP server that refuses every recipient (550), counting the attempts. */
  async function refusingServer(): Promise<{ url: string; refused: () => number; close(): Promise<void> }> {
    let refused = 0;
    const smtpServer = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onRcptTo(_address, _session, callback) {
        refused += 1;
        callback(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
      },
    });
    await new Promise<void>((resolve) => smtpServer.listen(0, '127.0.0.1', resolve));
    const address = smtpServer.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    return { url: `smtp://127.0.0.1:${port}`, refused: () => refused, close: () => new Promise<void>((resolve) => smtpServer.close(() => resolve())) };
  }

  /** The four kinds of address through JSON and the form; every answer must be the usual one, and quick. */
  async function answers(server: TestServer, known: string, disabled: string): Promise<{ json: Set<string>; form: Set<string>; slowestMs: number }> {
    const json = new Set<string>();
    const form = new Set<string>();
    let slowestMs = 0;
    for (const email of [known, newAddress('nobody'), disabled, known.toUpperCase()]) {
      let start = performance.now();
      const j = await forgotJson(server, email);
      slowestMs = Math.max(slowestMs, performance.now() - start);
      assertAccepted(j);
      json.add(j.text);
      start = performance.now();
      const f = await forgotForm(server, email);
      slowestMs = Math.max(slowestMs, performance.now() - start);
      assertSentPage(f);
      form.add(f.text);
    }
    return { json, form, slowestMs };
  }

  async function serverWith(smtpUrl: string): Promise<{ server: TestServer; known: string; disabled: string; knownId: number }> {
    const server = await startTestServer({ SMTP_URL: smtpUrl, PUBLIC_URL, RATE_LIMIT_PER_IP: '100000' });
    closers.push(() => server.close());
    const known = newAddress('smtpdown');
    const knownUser = await server.services.accounts.signUp({ username: uniqueName('smtpdown'), password: GOOD_PASSWORD, email: known }, NO_REQUEST);
    const disabled = newAddress('smtpdown_off');
    const off = await server.services.accounts.signUp({ username: uniqueName('smtpoff'), password: GOOD_PASSWORD, email: disabled }, NO_REQUEST);
    await server.services.accounts.updateAccount(off.id, { disabled: true }, { id: null });
    return { server, known, disabled, knownId: knownUser.id };
  }

  let reference: { json: Set<string>; form: Set<string> };
  before(async () => {
    const smtp = await startSmtpServer();
    closers.push(smtp.close);
    const { server, known, disabled } = await serverWith(smtp.url);
    reference = await answers(server, known, disabled);
    await smtp.waitFor(1);
  });

  for (const kind of ['refusing', 'dead', 'hung'] as const) {
    it(`${kind}: the same status and body, at once, and the link was still made after the answer`, async () => {
      let attempted: () => boolean;
      let smtpUrl: string;
      if (kind === 'refusing') {
        const refusing = await refusingServer();
        closers.push(refusing.close);
        smtpUrl = refusing.url;
        attempted = () => refusing.refused() > 0;
      } else if (kind === 'dead') {
        smtpUrl = `smtp://127.0.0.1:${await deadPort()}`;
        // Nothing listens: each attempt is refused, and the mail is held for its retries.
        attempted = () => server.services.mailer.queued > 0;
      } else {
        const silent = await startSilentServer();
        closers.push(silent.close);
        smtpUrl = `smtp://127.0.0.1:${silent.port}`;
        attempted = () => silent.connections > 0;
      }
      const { server, known, disabled, knownId } = await serverWith(smtpUrl);
      const got = await answers(server, known, disabled);
      assert.deepEqual(got.json, reference.json);
      assert.deepEqual(got.form, reference.form);
      assert.equal(got.json.size, 1);
      assert.equal(got.form.size, 1);
      // A broken implementation waiting for this server would take its 5 s connection or greeting timeout.
      assert.ok(got.slowestMs < 2_000, `the slowest answer took ${got.slowestMs.toFixed(0)} ms`);

      await server.services.passwordReset.idle();
      await until(attempted, `the ${kind} server to be tried`);
      const links = await server.services.db.selectFrom('email_links').select('purpose').where('user_id', '=', knownId).execute();
      assert.deepEqual(links.map((l) => l.purpose), ['password-reset'], 'the lookup and the link ran after the answer');
      assert.equal(server.services.mailer.stats.sent, 0, 'nothing was delivered');
    });
  }
});

