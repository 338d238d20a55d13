// @requires postgres, redis
/**
 * Account self-service over several instances (one PostgreSQL, one Redis, one real SMTP server):
 * a link mailed by one instance works on another, is spent once across both, and a password reset
 * on one instance ends the sessions and token logins the other has cached, at once. The cap on
 * mails per address is counted in Redis, so it holds across instances.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fakeClock, GOOD_PASSWORD, uniqueName } from '../helpers/app.js';
import type { FakeClock } from '../helpers/app.js';
import { startSmtpServer, until } from '../helpers/smtp.js';
import type { TestSmtpServer } from '../helpers/smtp.js';
import { deployment, heard, sameBrowser } from './instances.js';
import type { Deployment, Instance } from './instances.js';

const NEW_PASSWORD = 'an entirely new passphrase';

function bearer(token: string) {
  return { headers: { authorization: `Bearer ${token}` } };
}

describe('mailed links across two instances', () => {
  let smtp: TestSmtpServer;
  let deploy: Deployment;
  let a: Instance;
  let b: Instance;
  // As in instances.test.ts: time stands still, so B's 1 s caches can only learn of a revocation
  // through the Redis broadcast.
  let clock: FakeClock;

  before(async () => {
    smtp = await startSmtpServer();
    deploy = await deployment({ SMTP_URL: smtp.url, EMAILS_PER_ADDRESS_PER_HOUR: '3' });
    clock = fakeClock();
    [a, b] = await Promise.all([deploy.start({}, { clock }), deploy.start({}, { clock })]);
  });
  after(async () => {
    await deploy.close();
    await smtp.close();
  });

  /** The token of the newest mail to `to` whose link goes to `path`. */
  async function tokenFrom(to: string, path: string, count: number): Promise<string> {
    await until(() => smtp.received.filter((m) => m.envelope.to.includes(to) && (m.parsed.text ?? '').includes(path)).length >= count, `${count} mail(s) to ${to} for ${path}`);
    const mail = smtp.received.filter((m) => m.envelope.to.includes(to) && (m.parsed.text ?? '').includes(path)).at(-1);
    const match = new RegExp(`${path.replace(/\//g, '\\/')}\\?token=([A-Za-z0-9_-]+)`).exec(mail?.parsed.text ?? '');
    assert.ok(match?.[1], 'the mail has a link with a token');
    return match[1];
  }

  it('a reset asked on A is done on B, spent once, and ends the sessions and tokens B had cached', async () => {
    const username = uniqueName('reset');
    const email = `${username}@example.com`;
    const browser = b.client();
    const signup = await browser.post<{ id: number }>('/signup', { username, password: GOOD_PASSWORD, email });
    assert.equal(signup.status, 201);
    const pair = await b.client().post<{ access_token: string; refresh_token: string }>('/api/token', { username, password: GOOD_PASSWORD });
    assert.equal(pair.status, 200);
    assert.equal((await browser.get('/api/me')).status, 200, 'B has checked (and cached) the session');
    assert.equal((await b.client().get('/api/me', bearer(pair.body.access_token))).status, 200, 'B has checked (and cached) the token');

    assert.equal((await a.client().post('/password/forgot', { email })).status, 202);
    const token = await tokenFrom(email, '/password/reset', 1);

    const told = heard(b, (event) => event.kind === 'user' && event.userId === signup.body.id);
    const results = await Promise.all([a, b, a, b].map((instance) => instance.client().post('/password/reset', { token, password: NEW_PASSWORD })));
    assert.deepEqual(results.map((r) => r.status).sort(), [204, 401, 401, 401], 'one reset wins across both instances');
    await told;

    assert.equal((await browser.get('/api/me')).status, 401, 'the session B had cached ended');
    assert.equal((await b.client().get('/api/me', bearer(pair.body.access_token))).status, 401, 'the access token B had cached is refused');
    assert.equal((await a.client().post('/api/token/refresh', { refresh_token: pair.body.refresh_token })).status, 401, 'the token login ended');
    assert.equal((await sameBrowser(browser, a).get('/api/me')).status, 401);
    assert.equal((await a.client().post('/login', { username, password: NEW_PASSWORD })).status, 200);
  });

  it('counts the mails per address on both instances together', async () => {
    const username = uniqueName('capped');
    const email = `${username}@example.com`;
    assert.equal((await a.client().post('/signup', { username, password: GOOD_PASSWORD, email })).status, 201);
    await tokenFrom(email, '/verify-email', 1);
    // The signup's link was the first of three; two more go out, the fourth request sends nothing.
    for (const instance of [b, a, b]) assert.equal((await instance.client().post('/password/forgot', { email })).status, 202);
    await Promise.all([a, b].map((instance) => instance.services.passwordReset.idle()));
    await until(() => a.services.mailer.queued === 0 && b.services.mailer.queued === 0, 'both mail queues empty');
    const toThem = smtp.received.filter((m) => m.envelope.to.includes(email));
    assert.equal(toThem.length, 3, 'three link mails in all, from two instances');
    assert.equal(a.services.mailer.stats.capped + b.services.mailer.stats.capped, 1);
  });
});
