/**
 * POST /api/me/password mails a notice to the account's address (real SMTP server): the owner
 * learns of a change they did not make. Nothing is mailed to an account without an address, and a
 * refused change (wrong current password) mails nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GOOD_PASSWORD, signUpClient, startTestServer, uniqueName } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';
import { startSmtpServer, until } from '../helpers/smtp.js';
import type { TestSmtpServer } from '../helpers/smtp.js';

const NEW_PASSWORD = 'a different passphrase';

describe('the password-changed notice', () => {
  let smtp: TestSmtpServer;
  let server: TestServer;

  before(async () => {
    smtp = await startSmtpServer();
    server = await startTestServer({ SMTP_URL: smtp.url });
  });
  after(async () => {
    await server.close();
    await smtp.close();
  });

  const to = (address: string) => smtp.received.filter((mail) => mail.envelope.to.includes(address));

  it('is mailed after a change, and not after a refused one', async () => {
    const name = uniqueName('notice');
    const email = `${name}@example.com`;
    const { client } = await signUpClient(server, name, GOOD_PASSWORD, email);
    await until(() => to(email).length === 1, 'the verification mail');

    const refused = await client.send('POST', '/api/me/password', { current_password: 'not my password', password: NEW_PASSWORD });
    assert.equal(refused.status, 422);
    const changed = await client.send('POST', '/api/me/password', { current_password: GOOD_PASSWORD, password: NEW_PASSWORD });
    assert.equal(changed.status, 200);

    await until(() => to(email).length === 2, 'the notice');
    await until(() => server.services.mailer.queued === 0, 'an empty queue');
    const mails = to(email);
    assert.equal(mails.length, 2, 'the refused change mailed nothing');
    const notice = mails[1]?.parsed;
    assert.equal(notice?.subject, 'Your password was changed');
    assert.match(notice?.text ?? '', new RegExp(name));
    assert.doesNotMatch(notice?.text ?? '', /token=/, 'a notice carries no link with a token');
  });

  it('mails nothing for an account without an address', async () => {
    const { client } = await signUpClient(server);
    const sentBefore = server.services.mailer.stats.sent + server.services.mailer.queued;
    const changed = await client.send('POST', '/api/me/password', { current_password: GOOD_PASSWORD, password: NEW_PASSWORD });
    assert.equal(changed.status, 200);
    await until(() => server.services.mailer.queued === 0, 'an empty queue');
    assert.equal(server.services.mailer.stats.sent, sentBefore);
  });
});
