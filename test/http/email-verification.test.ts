/**
 * Email verification over real HTTP, with the mail going through a real SMTP server on a loopback
 * port: signup and POST /api/me/email/verification mail a link PUBLIC_URL/verify-email?token=…
 * (base64url, at least 128 bits); opening it shows a page whose button posts the token and spends
 * nothing; POST /email/verify spends it once (also under concurrent requests); unknown, spent,
 * expired and void tokens are 401 as JSON and as pages; the per-address mail cap holds; and with
 * REQUIRE_EMAIL_VERIFICATION signup starts no session, a correct password is 403
 * email_not_verified (with a fresh link) until the address is verified, and CLI users are exempt.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { fakeClock, GOOD_PASSWORD, signUpClient, startTestServer, uniqueName } from '../helpers/app.js';
import type { FakeClock, TestServer } from '../helpers/app.js';
import { assertError, assertFields } from '../helpers/assert-error.js';
import type { TestClient, TestResponse } from '../helpers/http.js';
import { formFields, linkToken, mailsTo, newestMailTo } from '../helpers/mail-links.js';
import { startSmtpServer, until } from '../helpers/smtp.js';
import type { TestSmtpServer } from '../helpers/smtp.js';

const PUBLIC_URL = 'https://auth.example.com';
const SUBJECT = 'Confirm your email address';
const NO_META = { ip: null, userAgent: null };
const DAY_MS = 86_400_000;

interface User {
  id: number;
  username: string;
  email: string | null;
  email_verified: boolean;
}

const address = (prefix = 'verify') => `${uniqueName(prefix)}@example.com`.toLowerCase();

/** The page of a link: HTML with the link pages' headers. */
function assertLinkPage(res: TestResponse, status: number): string {
  assert.equal(res.status, status, res.text.slice(0, 300));
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  assert.equal(res.headers.get('referrer-policy'), 'strict-origin');
  assert.match(res.headers.get('cache-control') ?? '', /no-store/);
  return res.text;
}

/** Waits until every queued mail has been handed to the SMTP server (or given up on). */
async function mailSettled(server: TestServer): Promise<void> {
  await until(() => server.services.mailer.queued === 0, 'the mail queue to empty');
}

async function auditEvents(server: TestServer, userId: number): Promise<string[]> {
  const rows = await server.services.db.selectFrom('audit_events').select(['event']).where('user_id', '=', userId).orderBy('id').execute();
  return rows.map((r) => r.event);
}

describe('email verification', () => {
  let smtp: TestSmtpServer;
  let server: TestServer;
  let clock: FakeClock;
  before(async () => {
    smtp = await startSmtpServer();
    clock = fakeClock();
    server = await startTestServer({ SMTP_URL: smtp.url, PUBLIC_URL, RATE_LIMIT_PER_IP: '100000' }, { clock });
  });
  after(async () => {
    await server.close();
    await smtp.close();
  });

  /** A new account with an address, and the token of the verification link its signup mailed. */
  async function signUpWithEmail(): Promise<{ client: TestClient; user: User; email: string; token: string }> {
    const email = address();
    const { client, user } = await signUpClient(server, undefined, undefined, email);
    const token = linkToken(await newestMailTo(smtp, email, 1, SUBJECT), PUBLIC_URL, '/verify-email');
    return { client, user: user as User, email, token };
  }

  it('signup with an email mails a link PUBLIC_URL/verify-email?token=… with a token of at least 128 bits, base64url', async () => {
    const email = address();
    const { user } = await signUpClient(server, undefined, undefined, email);
    assert.equal((user as User).email_verified, false);
    const mail = await newestMailTo(smtp, email, 1, SUBJECT);
    assert.deepEqual(mail.envelope.to, [email]);
    const token = linkToken(mail, PUBLIC_URL, '/verify-email');
    assert.equal(token.length, 43, 'this server mints 256-bit tokens');
    assert.ok(typeof mail.parsed.html === 'string' && mail.parsed.html.includes(`${PUBLIC_URL}/verify-email?token=${token}`), 'the HTML part links to it too');
    assert.ok((await auditEvents(server, user.id)).includes('email_verification_sent'));
  });

  it('signup without an email mails nothing', async () => {
    await mailSettled(server);
    const before = server.services.mailer.stats.sent;
    const res = await server.client().post<User>('/signup', { username: uniqueName('nomail'), password: GOOD_PASSWORD });
    assert.equal(res.status, 201);
    assert.equal(res.body.email, null);
    assert.equal(res.body.email_verified, false);
    await mailSettled(server);
    assert.equal(server.services.mailer.stats.sent, before);
  });

  it('GET /verify-email shows a page whose button posts the token; two GETs spend nothing; the form post verifies (303 to /)', async () => {
    const { client, token } = await signUpWithEmail();
    const browser = server.client();
    for (let i = 0; i < 2; i += 1) {
      const html = assertLinkPage(await browser.get(`/verify-email?token=${token}`), 200);
      assert.match(html, /<form method="post" action="\/email\/verify"/);
      assert.equal(formFields(html).token, token);
      assert.equal(formFields(html).csrf_token, browser.csrf, 'the form carries the csrf_token cookie');
    }
    const page = assertLinkPage(await browser.get(`/verify-email?token=${token}`), 200);
    const posted = await browser.request('POST', '/email/verify', { form: formFields(page) });
    assert.equal(posted.status, 303, posted.text.slice(0, 300));
    assert.equal(posted.headers.get('location'), '/');
    const me = await client.get<User>('/api/me');
    assert.equal(me.body.email_verified, true);

    // Spent: the page, the JSON route and the form all say so with 401.
    const spentPage = assertLinkPage(await browser.get(`/verify-email?token=${token}`), 401);
    assert.doesNotMatch(spentPage, /action="\/email\/verify"/, 'no button for a dead link');
    assert.ok(!spentPage.includes(token), 'the error page does not echo the token');
    assertError(await server.client().post('/email/verify', { token }), 401, 'invalid_token');
    assertLinkPage(await browser.request('POST', '/email/verify', { form: formFields(page) }), 401);
  });

  it('POST /email/verify with JSON: 200 with the user, email_verified true; the token works once', async () => {
    const { client, user, email, token } = await signUpWithEmail();
    const res = await server.client().post<User>('/email/verify', { token });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.id, user.id);
    assert.equal(res.body.email, email);
    assert.equal(res.body.email_verified, true);
    assert.equal((await client.get<User>('/api/me')).body.email_verified, true, 'the session sees it at once');
    assertError(await server.client().post('/email/verify', { token }), 401, 'invalid_token');
    const events = await auditEvents(server, user.id);
    assert.equal(events.filter((e) => e === 'email_verified').length, 1);
  });

  it('an unknown or malformed token: 401 invalid_token as JSON, a 401 page at the GET and for the form post', async () => {
    for (const token of [randomBytes(32).toString('base64url'), randomBytes(16).toString('base64url'), 'not a token', '../../etc/passwd']) {
      assertError(await server.client().post('/email/verify', { token }), 401, 'invalid_token');
      const browser = server.client();
      assertLinkPage(await browser.get(`/verify-email?token=${encodeURIComponent(token)}`), 401);
      assertLinkPage(await browser.request('POST', '/email/verify', { form: { csrf_token: browser.csrf ?? '', token } }), 401);
    }
    assertLinkPage(await server.client().get('/verify-email'), 401);
  });

  it('an expired token (EMAIL_TOKEN_TTL, 24 h by default): live just before, 401 after', async () => {
    const { token } = await signUpWithEmail();
    clock.advance(DAY_MS - 5_000);
    assertLinkPage(await server.client().get(`/verify-email?token=${token}`), 200);
    clock.advance(10_000);
    assertLinkPage(await server.client().get(`/verify-email?token=${token}`), 401);
    assertError(await server.client().post('/email/verify', { token }), 401, 'invalid_token');
    const browser = server.client();
    assertLinkPage(await browser.request('POST', '/email/verify', { form: { csrf_token: 'x', token } }), 401);
  });

  it('POST /email/verify is under the Origin rule: another origin is 403 and spends nothing', async () => {
    const { token } = await signUpWithEmail();
    assertError(await server.client().post('/email/verify', { token }, { headers: { origin: 'https://evil.example' } }), 403, 'origin_refused');
    assert.equal((await server.client().post('/email/verify', { token }, { headers: { origin: PUBLIC_URL } })).status, 200);
  });

  it('a missing or empty token: 422 fields.token (JSON and form)', async () => {
    assertFields(await server.client().post('/email/verify', {}), ['token']);
    assertFields(await server.client().post('/email/verify', { token: '' }), ['token']);
    const browser = server.client();
    await browser.get('/login');
    const form = await browser.request('POST', '/email/verify', { form: { csrf_token: browser.csrf ?? '', token: '' } });
    assert.equal(form.status, 422);
    assert.match(form.headers.get('content-type') ?? '', /^text\/html/);
  });

  it('POST /api/me/email/verification: 202 {} and a new link that voids the one before; once verified, 202 and no mail', async () => {
    const { client, email, token: first } = await signUpWithEmail();
    const res = await client.send('POST', '/api/me/email/verification');
    assert.equal(res.status, 202, res.text);
    assert.deepEqual(res.body, {});
    const second = linkToken(await newestMailTo(smtp, email, 2, SUBJECT), PUBLIC_URL, '/verify-email');
    assert.notEqual(second, first);
    assertLinkPage(await server.client().get(`/verify-email?token=${first}`), 401);
    assertError(await server.client().post('/email/verify', { token: first }), 401, 'invalid_token');
    assert.equal((await server.client().post<User>('/email/verify', { token: second })).status, 200);

    await mailSettled(server);
    const sent = server.services.mailer.stats.sent;
    const again = await client.send('POST', '/api/me/email/verification');
    assert.equal(again.status, 202);
    assert.deepEqual(again.body, {});
    await mailSettled(server);
    assert.equal(server.services.mailer.stats.sent, sent, 'no mail for a verified address');
    assert.equal(mailsTo(smtp, email).length, 2);
  });

  it('POST /api/me/email/verification without an address: 422 fields.email; it needs a sign-in and the CSRF header', async () => {
    const { client } = await signUpClient(server);
    assertFields(await client.send('POST', '/api/me/email/verification'), ['email']);
    assertError(await server.client().post('/api/me/email/verification'), 401, 'unauthenticated');
    const withEmail = await signUpWithEmail();
    assertError(await withEmail.client.post('/api/me/email/verification'), 403, 'csrf_failed');
  });

  it('EMAILS_PER_ADDRESS_PER_HOUR (5): past it the answer is the same, no mail is sent, the last link stays valid; an hour later mail flows again', async () => {
    const { client, email } = await signUpWithEmail();
    for (let n = 2; n <= 5; n += 1) {
      assert.equal((await client.send('POST', '/api/me/email/verification')).status, 202);
      await newestMailTo(smtp, email, n, SUBJECT);
    }
    const fifth = linkToken(mailsTo(smtp, email)[4]!, PUBLIC_URL, '/verify-email');
    const capped = server.services.mailer.stats.capped;
    const res = await client.send('POST', '/api/me/email/verification');
    assert.equal(res.status, 202);
    assert.deepEqual(res.body, {});
    await mailSettled(server);
    assert.equal(mailsTo(smtp, email).length, 5, 'no sixth mail');
    assert.equal(server.services.mailer.stats.capped, capped + 1);
    assertLinkPage(await server.client().get(`/verify-email?token=${fifth}`), 200);

    clock.advance(3_600_000 + 1_000);
    assert.equal((await client.send('POST', '/api/me/email/verification')).status, 202);
    const sixth = linkToken(await newestMailTo(smtp, email, 6, SUBJECT), PUBLIC_URL, '/verify-email');
    assertError(await server.client().post('/email/verify', { token: fifth }), 401, 'invalid_token');
    assert.equal((await server.client().post('/email/verify', { token: sixth })).status, 200);
  });

  it('concurrent POSTs of one token: exactly one 200, the others 401 (5 rounds of 8)', async () => {
    for (let round = 0; round < 5; round += 1) {
      const { user, token } = await signUpWithEmail();
      const answers = await Promise.all(Array.from({ length: 8 }, () => server.client().post('/email/verify', { token })));
      const statuses = answers.map((r) => r.status);
      assert.equal(statuses.filter((s) => s === 200).length, 1, `round ${round}: ${statuses.join(', ')}`);
      for (const r of answers.filter((a) => a.status !== 200)) assertError(r, 401, 'invalid_token');
      const events = await auditEvents(server, user.id);
      assert.equal(events.filter((e) => e === 'email_verified').length, 1, `round ${round}`);
    }
  });
});

describe('REQUIRE_EMAIL_VERIFICATION=true', () => {
  let smtp: TestSmtpServer;
  let server: TestServer;
  before(async () => {
    smtp = await startSmtpServer();
    server = await startTestServer({ SMTP_URL: smtp.url, PUBLIC_URL, RATE_LIMIT_PER_IP: '100000', REQUIRE_EMAIL_VERIFICATION: 'true' });
  });
  after(async () => {
    await server.close();
    await smtp.close();
  });

  const noSession = (res: TestResponse) => !res.setCookies.some((c) => c.name === 'gatehouse_session' && c.value !== '');

  it('signup answers 201 with the user and sets no session; the link is mailed', async () => {
    const email = address('req');
    const client = server.client();
    const res = await client.post<User>('/signup', { username: uniqueName('req'), email, password: GOOD_PASSWORD });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.email, email);
    assert.equal(res.body.email_verified, false);
    assert.ok(noSession(res), 'no session cookie');
    assertError(await client.get('/api/me'), 401, 'unauthenticated');
    linkToken(await newestMailTo(smtp, email, 1, SUBJECT), PUBLIC_URL, '/verify-email');
  });

  it('the signup form shows a "check your mail" page (200) and sets no session', async () => {
    const email = address('reqform');
    const browser = server.client();
    await browser.get('/signup');
    const res = await browser.request('POST', '/signup', {
      form: { csrf_token: browser.csrf ?? '', username: uniqueName('reqform'), email, password: GOOD_PASSWORD, password_confirmation: GOOD_PASSWORD },
    });
    assert.equal(res.status, 200, res.text.slice(0, 300));
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(res.text, /Check your email/);
    assert.ok(noSession(res));
    assert.equal((await browser.get('/api/me')).status, 401);
    await newestMailTo(smtp, email, 1, SUBJECT);
  });

  it('signup without an email: 422 fields.email', async () => {
    assertFields(await server.client().post('/signup', { username: uniqueName('reqnone'), password: GOOD_PASSWORD }), ['email']);
    assertFields(await server.client().post('/signup', { username: uniqueName('reqnone'), email: '', password: GOOD_PASSWORD }), ['email']);
  });

  it('a correct password is 403 email_not_verified at /login, /api/token and the login form, each with a fresh link; a wrong one is still 401; after verifying, logins work', async () => {
    const email = address('reqlogin');
    const username = uniqueName('reqlogin');
    assert.equal((await server.client().post('/signup', { username, email, password: GOOD_PASSWORD })).status, 201);
    const first = linkToken(await newestMailTo(smtp, email, 1, SUBJECT), PUBLIC_URL, '/verify-email');

    const login = await server.client().post('/login', { username, password: GOOD_PASSWORD });
    assertError(login, 403, 'email_not_verified');
    assert.ok(noSession(login));
    const second = linkToken(await newestMailTo(smtp, email, 2, SUBJECT), PUBLIC_URL, '/verify-email');
    assertError(await server.client().post('/email/verify', { token: first }), 401, 'invalid_token');

    assertError(await server.client().post('/api/token', { username: email, password: GOOD_PASSWORD }), 403, 'email_not_verified');
    const third = linkToken(await newestMailTo(smtp, email, 3, SUBJECT), PUBLIC_URL, '/verify-email');
    assertError(await server.client().post('/email/verify', { token: second }), 401, 'invalid_token');

    const browser = server.client();
    await browser.get('/login');
    const form = await browser.request('POST', '/login', { form: { csrf_token: browser.csrf ?? '', username, password: GOOD_PASSWORD } });
    assert.equal(form.status, 403);
    assert.match(form.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(form.text, /<form method="post" action="\/login/, 'the form again');
    assert.ok(noSession(form));
    const fourth = linkToken(await newestMailTo(smtp, email, 4, SUBJECT), PUBLIC_URL, '/verify-email');
    assertError(await server.client().post('/email/verify', { token: third }), 401, 'invalid_token');

    await mailSettled(server);
    assertError(await server.client().post('/login', { username, password: 'not the password at all' }), 401, 'invalid_credentials');
    assertError(await server.client().post('/api/token', { username, password: 'not the password at all' }), 401, 'invalid_credentials');
    await mailSettled(server);
    assert.equal(mailsTo(smtp, email).length, 4, 'a wrong password sends nothing');

    const verified = await server.client().post<User>('/email/verify', { token: fourth });
    assert.equal(verified.status, 200);
    assert.equal(verified.body.email_verified, true);
    const client = server.client();
    const ok = await client.post<User>('/login', { username, password: GOOD_PASSWORD });
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await client.get<User>('/api/me')).body.username, username);
    assert.equal((await server.client().post('/api/token', { username, password: GOOD_PASSWORD })).status, 200);
  });

  it('the 403 sends a fresh link only within EMAILS_PER_ADDRESS_PER_HOUR; past it the answer is the same and the last link works', async () => {
    const email = address('reqcap');
    const username = uniqueName('reqcap');
    assert.equal((await server.client().post('/signup', { username, email, password: GOOD_PASSWORD })).status, 201);
    for (let n = 2; n <= 5; n += 1) {
      assertError(await server.client().post('/login', { username, password: GOOD_PASSWORD }), 403, 'email_not_verified');
      await newestMailTo(smtp, email, n, SUBJECT);
    }
    const last = linkToken(mailsTo(smtp, email)[4]!, PUBLIC_URL, '/verify-email');
    assertError(await server.client().post('/login', { username, password: GOOD_PASSWORD }), 403, 'email_not_verified');
    await mailSettled(server);
    assert.equal(mailsTo(smtp, email).length, 5, 'no sixth mail');
    assert.equal((await server.client().post('/email/verify', { token: last })).status, 200);
    assert.equal((await server.client().post('/login', { username, password: GOOD_PASSWORD })).status, 200);
  });

  it('users made by the CLI are exempt, with or without an email', async () => {
    for (const email of [address('cli'), null]) {
      const username = uniqueName('cli');
      const made = await server.services.accounts.signUp({ username, email, password: GOOD_PASSWORD }, NO_META, 'user', { byOperator: true });
      assert.equal(made.emailVerified, email !== null, 'an address given to the CLI is stored verified');
      const res = await server.client().post<User>('/login', { username, password: GOOD_PASSWORD });
      assert.equal(res.status, 200, `${email ?? 'no email'}: ${res.text}`);
      assert.equal((await server.client().post('/api/token', { username, password: GOOD_PASSWORD })).status, 200);
    }
  });

  it('{email: null} at POST /api/me/email is 422 fields.email while it is on', async () => {
    const username = uniqueName('cliremove');
    const email = address('cliremove');
    await server.services.accounts.signUp({ username, email, password: GOOD_PASSWORD }, NO_META, 'user', { byOperator: true });
    const client = server.client();
    assert.equal((await client.post('/login', { username, password: GOOD_PASSWORD })).status, 200);
    assertFields(await client.send('POST', '/api/me/email', { email: null }), ['email']);
    const me = await client.get<User>('/api/me');
    assert.equal(me.body.email, email, 'the address stays');
    assert.equal(me.body.email_verified, true);
  });
});
