/**
 * Changing and removing one's email address over real HTTP, with the mail going through a real
 * SMTP server on a loopback port. POST /api/me/email {email} needs recent authentication (or
 * `current_password`), answers 202 {pending_email}, mails a notice to the old address and a link
 * PUBLIC_URL/email/confirm?token=… to the new one; the address changes only when POST
 * /email/confirm spends that link (409 email_taken if another account took the address meanwhile,
 * the token kept). A newer change link voids the earlier one; after a change or a removal
 * ({email: null}, at once) the links sent to the old address are void. Also: 409 on request, 422
 * for a bad address, CSRF, the session's cached user, and the audit rows.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fakeClock, GOOD_PASSWORD, signUpClient, startTestServer, uniqueName } from '../helpers/app.js';
import type { FakeClock, TestServer } from '../helpers/app.js';
import { assertError, assertFields } from '../helpers/assert-error.js';
import type { TestClient, TestResponse } from '../helpers/http.js';
import { formFields, linkToken, mailsTo, newestMailTo } from '../helpers/mail-links.js';
import { startSmtpServer, until } from '../helpers/smtp.js';
import type { TestSmtpServer } from '../helpers/smtp.js';

const PUBLIC_URL = 'https://auth.example.com';
const VERIFY_SUBJECT = 'Confirm your email address';
const CHANGE_SUBJECT = 'Confirm your new email address';
const NOTICE_SUBJECT = 'Your email address is being changed';
const RESET_SUBJECT = 'Reset your password';
const PAST_REAUTH = 601_000;

interface User {
  id: number;
  username: string;
  email: string | null;
  email_verified: boolean;
}

const address = (prefix = 'change') => `${uniqueName(prefix)}@example.com`.toLowerCase();

function assertLinkPage(res: TestResponse, status: number): string {
  assert.equal(res.status, status, res.text.slice(0, 300));
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  assert.equal(res.headers.get('referrer-policy'), 'strict-origin');
  assert.match(res.headers.get('cache-control') ?? '', /no-store/);
  return res.text;
}

describe('changing the email address', () => {
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

  async function mailSettled(): Promise<void> {
    await until(() => server.services.mailer.queued === 0, 'the mail queue to empty');
  }

  /** A signed-in user whose address is verified (through its link); one mail has gone to it. */
  async function verifiedUser(): Promise<{ client: TestClient; user: User; email: string }> {
    const email = address('old');
    const { client, user } = await signUpClient(server, undefined, undefined, email);
    const token = linkToken(await newestMailTo(smtp, email, 1, VERIFY_SUBJECT), PUBLIC_URL, '/verify-email');
    assert.equal((await server.client().post('/email/verify', { token })).status, 200);
    return { client, user: user as User, email };
  }

  /** Ask for a change to `to` and return the token of the link mailed there (the `count`th mail to it). */
  async function requestChange(client: TestClient, to: string, count = 1, body: Record<string, unknown> = {}): Promise<string> {
    const res = await client.send('POST', '/api/me/email', { email: to, ...body });
    assert.equal(res.status, 202, res.text);
    assert.deepEqual(res.body, { pending_email: to });
    return linkToken(await newestMailTo(smtp, to, count, CHANGE_SUBJECT), PUBLIC_URL, '/email/confirm');
  }

  async function auditEvents(userId: number): Promise<string[]> {
    const rows = await server.services.db.selectFrom('audit_events').select(['event']).where('user_id', '=', userId).orderBy('id').execute();
    return rows.map((r) => r.event);
  }

  it('with a fresh login: 202 {pending_email}, a notice to the old address, a link to the new one; the address changes only when the link is confirmed', async () => {
    const { client, user, email: old } = await verifiedUser();
    assert.equal((await client.get<User>('/api/me')).body.email, old, 'the session has its user cached');
    const next = address('new');
    const token = await requestChange(client, next);
    assert.equal(mailsTo(smtp, next).length, 1);

    const notice = await newestMailTo(smtp, old, 2, NOTICE_SUBJECT);
    assert.ok(notice.parsed.text?.includes(next), 'the notice names the new address');
    assert.doesNotMatch(notice.parsed.text ?? '', /token=/, 'the notice carries no link token');

    const pending = await client.get<User>('/api/me');
    assert.equal(pending.body.email, old, 'nothing changed yet');
    assert.equal(pending.body.email_verified, true);
    assert.equal((await server.client().post('/login', { username: next, password: GOOD_PASSWORD })).status, 401);

    // The link's page spends nothing, however often it is opened.
    for (let i = 0; i < 2; i += 1) {
      const html = assertLinkPage(await server.client().get(`/email/confirm?token=${token}`), 200);
      assert.match(html, /<form method="post" action="\/email\/confirm"/);
      assert.equal(formFields(html).token, token);
    }

    const confirmed = await server.client().post<User>('/email/confirm', { token });
    assert.equal(confirmed.status, 200, confirmed.text);
    assert.equal(confirmed.body.id, user.id);
    assert.equal(confirmed.body.email, next);
    assert.equal(confirmed.body.email_verified, true);

    const me = await client.get<User>('/api/me');
    assert.equal(me.body.email, next, 'the session sees the new address at once');
    assert.equal(me.body.email_verified, true);
    assert.equal((await server.client().post('/login', { username: next, password: GOOD_PASSWORD })).status, 200);
    assert.equal((await server.client().post('/login', { username: old, password: GOOD_PASSWORD })).status, 401);

    assertError(await server.client().post('/email/confirm', { token }), 401, 'invalid_token');
    assertLinkPage(await server.client().get(`/email/confirm?token=${token}`), 401);
  });

  it('the confirm form: 303 to /; a spent token shows the 401 page; a missing token is 422 fields.token', async () => {
    const { client } = await verifiedUser();
    const next = address('form');
    const token = await requestChange(client, next);
    const browser = server.client();
    const page = assertLinkPage(await browser.get(`/email/confirm?token=${token}`), 200);
    const posted = await browser.request('POST', '/email/confirm', { form: formFields(page) });
    assert.equal(posted.status, 303, posted.text.slice(0, 300));
    assert.equal(posted.headers.get('location'), '/');
    assert.equal((await client.get<User>('/api/me')).body.email, next);
    assertLinkPage(await browser.request('POST', '/email/confirm', { form: formFields(page) }), 401);
    assertFields(await server.client().post('/email/confirm', {}), ['token']);
    assertFields(await server.client().post('/email/confirm', { token: '' }), ['token']);
  });

  it('is recent: after REAUTH_MAX_AGE 403 reauthentication_required; a wrong current_password is 422; the right one works once', async () => {
    const { client, email: old } = await verifiedUser();
    clock.advance(PAST_REAUTH);
    const next = address('late');
    assertError(await client.send('POST', '/api/me/email', { email: next }), 403, 'reauthentication_required');
    assertFields(await client.send('POST', '/api/me/email', { email: next, current_password: 'not my password at all' }), ['current_password']);
    assertError(await client.send('POST', '/api/me/email', { email: null }), 403, 'reauthentication_required');
    // Recent authentication comes before validation: a bad address is still 403, or 422 on the password alone.
    assertError(await client.send('POST', '/api/me/email', { email: 'not-an-address' }), 403, 'reauthentication_required');
    assertFields(await client.send('POST', '/api/me/email', { email: 'not-an-address', current_password: 'not my password at all' }), ['current_password']);
    await mailSettled();
    assert.equal(mailsTo(smtp, next).length, 0, 'no link for a refused request');
    assert.equal(mailsTo(smtp, old).length, 1, 'no notice for a refused request');

    const token = await requestChange(client, next, 1, { current_password: GOOD_PASSWORD });
    await newestMailTo(smtp, old, 2, NOTICE_SUBJECT);
    assertError(await client.send('POST', '/api/me/email', { email: address('again') }), 403, 'reauthentication_required');
    assert.equal((await server.client().post<User>('/email/confirm', { token })).body.email, next, 'confirming needs no sign-in: the link is the proof');
  });

  it('409 email_taken on request when another account has the address (in any case); nothing is mailed', async () => {
    const { client, email: old } = await verifiedUser();
    const taken = address('taken');
    await signUpClient(server, undefined, undefined, taken);
    await newestMailTo(smtp, taken, 1, VERIFY_SUBJECT);
    assertError(await client.send('POST', '/api/me/email', { email: taken }), 409, 'email_taken');
    assertError(await client.send('POST', '/api/me/email', { email: taken.toUpperCase() }), 409, 'email_taken');
    await mailSettled();
    assert.equal(mailsTo(smtp, taken).length, 1);
    assert.equal(mailsTo(smtp, old).length, 1, 'no notice either');
  });

  it('409 email_taken on confirm when another account took the address meanwhile; the token is kept and works once the address is free', async () => {
    const { client, email: old } = await verifiedUser();
    const wanted = address('contested');
    const token = await requestChange(client, wanted);

    const { client: rival } = await signUpClient(server, undefined, undefined, wanted);
    assertError(await server.client().post('/email/confirm', { token }), 409, 'email_taken');
    assert.equal((await client.get<User>('/api/me')).body.email, old, 'nothing changed');
    assertLinkPage(await server.client().get(`/email/confirm?token=${token}`), 200);
    const browser = server.client();
    const page = assertLinkPage(await browser.get(`/email/confirm?token=${token}`), 200);
    const form = await browser.request('POST', '/email/confirm', { form: formFields(page) });
    assert.equal(form.status, 409, 'the form shows the page with the JSON status');
    assert.match(form.headers.get('content-type') ?? '', /^text\/html/);

    assert.equal((await rival.send('DELETE', '/api/me')).status, 204, 'the rival frees the address');
    const confirmed = await server.client().post<User>('/email/confirm', { token });
    assert.equal(confirmed.status, 200, confirmed.text);
    assert.equal(confirmed.body.email, wanted);
    assert.equal(confirmed.body.email_verified, true);
  });

  it('concurrent confirms of one token: exactly one 200, the others 401 (3 rounds of 8)', async () => {
    for (let round = 0; round < 3; round += 1) {
      const { client, user } = await verifiedUser();
      const next = address('race');
      const token = await requestChange(client, next);
      const answers = await Promise.all(Array.from({ length: 8 }, () => server.client().post('/email/confirm', { token })));
      const statuses = answers.map((r) => r.status);
      assert.equal(statuses.filter((s) => s === 200).length, 1, `round ${round}: ${statuses.join(', ')}`);
      for (const r of answers.filter((a) => a.status !== 200)) assertError(r, 401, 'invalid_token');
      assert.equal((await auditEvents(user.id)).filter((e) => e === 'email_changed').length, 1, `round ${round}`);
    }
  });

  it('a newer change link voids the earlier one', async () => {
    const { client } = await verifiedUser();
    const first = address('first');
    const second = address('second');
    const firstToken = await requestChange(client, first);
    const secondToken = await requestChange(client, second);
    assertLinkPage(await server.client().get(`/email/confirm?token=${firstToken}`), 401);
    assertError(await server.client().post('/email/confirm', { token: firstToken }), 401, 'invalid_token');
    assert.equal((await server.client().post<User>('/email/confirm', { token: secondToken })).body.email, second);

    // The same address twice: only the newest link works.
    const third = address('third');
    const a = await requestChange(client, third, 1);
    const b = await requestChange(client, third, 2);
    assert.notEqual(a, b);
    assertError(await server.client().post('/email/confirm', { token: a }), 401, 'invalid_token');
    assert.equal((await server.client().post<User>('/email/confirm', { token: b })).body.email, third);
  });

  it('change links count against EMAILS_PER_ADDRESS_PER_HOUR of the new address (any case); the notices to the old one are never capped', async () => {
    const { client, email: old } = await verifiedUser();
    const next = address('capped');
    let last = '';
    for (let n = 1; n <= 5; n += 1) last = await requestChange(client, n % 2 === 0 ? next.toUpperCase() : next, n);
    const res = await client.send('POST', '/api/me/email', { email: next.toUpperCase() });
    assert.equal(res.status, 202, 'the usual answer');
    await newestMailTo(smtp, old, 7, NOTICE_SUBJECT);
    assert.equal(mailsTo(smtp, old).filter((m) => m.parsed.subject === NOTICE_SUBJECT).length, 6, 'a notice for every request, the capped one too');
    await mailSettled();
    assert.equal(mailsTo(smtp, next).length, 5, 'no sixth link');
    const confirmed = await server.client().post<User>('/email/confirm', { token: last });
    assert.equal(confirmed.status, 200, 'the earlier link stays valid');
    assert.equal(confirmed.body.email?.toLowerCase(), next);
  });

  it('after the change, the verification and reset links sent to the old address are void', async () => {
    const old = address('unverified');
    const { client } = await signUpClient(server, undefined, undefined, old);
    const verifyToken = linkToken(await newestMailTo(smtp, old, 1, VERIFY_SUBJECT), PUBLIC_URL, '/verify-email');
    assert.equal((await server.client().post('/password/forgot', { email: old })).status, 202);
    const resetToken = linkToken(await newestMailTo(smtp, old, 2, RESET_SUBJECT), PUBLIC_URL, '/password/reset');

    const next = address('moved');
    const token = await requestChange(client, next);
    // Requesting the change voids nothing yet: only the confirmed change does.
    assertLinkPage(await server.client().get(`/verify-email?token=${verifyToken}`), 200);
    assertLinkPage(await server.client().get(`/password/reset?token=${resetToken}`), 200);
    assert.equal((await server.client().post('/email/confirm', { token })).status, 200);

    assertLinkPage(await server.client().get(`/verify-email?token=${verifyToken}`), 401);
    assertError(await server.client().post('/email/verify', { token: verifyToken }), 401, 'invalid_token');
    assertLinkPage(await server.client().get(`/password/reset?token=${resetToken}`), 401);
    assertError(await server.client().post('/password/reset', { token: resetToken, password: 'a brand new battery staple' }), 401, 'invalid_token');
    assert.equal((await server.client().post('/login', { username: next, password: GOOD_PASSWORD })).status, 200, 'the password did not change');
    const me = await client.get<User>('/api/me');
    assert.equal(me.body.email, next);
    assert.equal(me.body.email_verified, true, 'the confirmed address is verified');
  });

  it('{email: null} removes the address at once: 200 user with email null and email_verified false; links sent to it are void', async () => {
    const old = address('removed');
    const { client, user } = await signUpClient(server, undefined, undefined, old);
    const verifyToken = linkToken(await newestMailTo(smtp, old, 1, VERIFY_SUBJECT), PUBLIC_URL, '/verify-email');
    assert.equal((await server.client().post('/password/forgot', { email: old })).status, 202);
    const resetToken = linkToken(await newestMailTo(smtp, old, 2, RESET_SUBJECT), PUBLIC_URL, '/password/reset');
    assert.equal((await client.get<User>('/api/me')).body.email, old);

    const res = await client.send<User>('POST', '/api/me/email', { email: null });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.id, user.id);
    assert.equal(res.body.email, null);
    assert.equal(res.body.email_verified, false);
    const me = await client.get<User>('/api/me');
    assert.equal(me.body.email, null, 'the session sees it at once');
    assert.equal(me.body.email_verified, false);

    assertError(await server.client().post('/email/verify', { token: verifyToken }), 401, 'invalid_token');
    assertError(await server.client().post('/password/reset', { token: resetToken, password: 'a brand new battery staple' }), 401, 'invalid_token');
    assertFields(await client.send('POST', '/api/me/email/verification'), ['email']);
    assert.equal((await server.client().post('/login', { username: old, password: GOOD_PASSWORD })).status, 401);
    // The address is free for another account.
    assert.equal((await server.client().post('/signup', { username: uniqueName('reuse'), email: old, password: GOOD_PASSWORD })).status, 201);
  });

  it('an invalid address is 422 fields.email, and nothing is mailed', async () => {
    const { client, email: old } = await verifiedUser();
    for (const email of ['not-an-address', '', '   ', 'a@', '@example.com', 'two@@example.com', `${'x'.repeat(250)}@example.com`]) {
      assertFields(await client.send('POST', '/api/me/email', { email }), ['email']);
    }
    assertFields(await client.send('POST', '/api/me/email', { email: 42 }), ['email']);
    assertFields(await client.send('POST', '/api/me/email', {}), ['email']);
    await mailSettled();
    assert.equal(mailsTo(smtp, old).length, 1, 'no notice');
  });

  it('needs the CSRF header with a cookie (403 csrf_failed) but not with a bearer token', async () => {
    const { client, user, email: old } = await verifiedUser();
    const next = address('csrf');
    assertError(await client.post('/api/me/email', { email: next }), 403, 'csrf_failed');
    assertError(await client.post('/api/me/email', { email: next }, { headers: { 'x-csrf-token': 'forged' } }), 403, 'csrf_failed');
    assertError(await client.post('/api/me/email', { email: null }), 403, 'csrf_failed');
    assertError(await server.client().post('/api/me/email', { email: next }), 401, 'unauthenticated');
    await mailSettled();
    assert.equal(mailsTo(smtp, next).length, 0);
    assert.equal(mailsTo(smtp, old).length, 1);
    assert.equal((await client.get<User>('/api/me')).body.email, old);

    const tokens = await server.client().post<{ access_token: string }>('/api/token', { username: user.username, password: GOOD_PASSWORD });
    assert.equal(tokens.status, 200);
    const res = await server.client().post('/api/me/email', { email: next }, { headers: { authorization: `Bearer ${tokens.body.access_token}` } });
    assert.equal(res.status, 202, res.text);
    await newestMailTo(smtp, next, 1, CHANGE_SUBJECT);
  });

  it('leaves audit rows: email_verification_sent, email_verified, email_change_requested, email_changed, email_removed', async () => {
    const old = address('audited');
    const { client, user } = await signUpClient(server, undefined, undefined, old);
    const verifyToken = linkToken(await newestMailTo(smtp, old, 1, VERIFY_SUBJECT), PUBLIC_URL, '/verify-email');
    assert.equal((await server.client().post('/email/verify', { token: verifyToken })).status, 200);
    const token = await requestChange(client, address('audited-new'));
    assert.equal((await server.client().post('/email/confirm', { token })).status, 200);
    assert.equal((await client.send('POST', '/api/me/email', { email: null })).status, 200);
    const events = (await auditEvents(user.id)).filter((e) => e.startsWith('email_'));
    assert.deepEqual(events, ['email_verification_sent', 'email_verified', 'email_change_requested', 'email_changed', 'email_removed']);
  });
});
