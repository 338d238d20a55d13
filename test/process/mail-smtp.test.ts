/**
 * The mailer against real SMTP servers on loopback ports: a working one (smtp-server, with
 * credentials from SMTP_URL), a dead port (connection refused), and one that accepts and never
 * says a word. Whatever the server does, sending returns at once; a failing server ends in
 * "failed" after three retries, logged without the link; a stalled one fills the queue to its
 * bound and no further. Retry delays and SMTP timeouts are shortened; the SMTP talk is real.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { MemoryLimitStore } from '../../src/limits/store.js';
import { MAIL_QUEUE_MAX, Mailer } from '../../src/mail/mailer.js';
import type { MailerOptions } from '../../src/mail/mailer.js';
import { createMailTransport, smtpTransport } from '../../src/mail/transport.js';
import type { MailTransport } from '../../src/mail/transport.js';
import { collectingLog, deadPort, startSilentServer, startSmtpServer, until } from '../helpers/smtp.js';

const PUBLIC_URL = 'https://auth.example.com';
const TOKEN = 'dGhpcy1pcy1hLTEyOC1iaXQtdG9rZW4tZm9yLXRlc3Rz';
const SHORT_RETRIES = [20, 40, 60];
const SHORT_TIMEOUTS = { connectionMs: 300, greetingMs: 300, socketMs: 300 };

function mailer(transport: MailTransport, options: Partial<MailerOptions> = {}): { mailer: Mailer; log: ReturnType<typeof collectingLog> } {
  const log = collectingLog();
  const made = new Mailer({
    transport,
    from: 'Gatehouse <no-reply@auth.example.com>',
    publicUrl: PUBLIC_URL,
    limitStore: new MemoryLimitStore(),
    linkMailsPerHour: 5,
    log,
    retryDelaysMs: SHORT_RETRIES,
    ...options,
  });
  return { mailer: made, log };
}

function closedPortTransport(port: number): MailTransport {
  return smtpTransport({ host: '127.0.0.1', port, secure: false, auth: null }, SHORT_TIMEOUTS);
}

describe('mail over SMTP', () => {
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    for (const close of closers.reverse()) await close();
  });

  it('delivers a link mail with From, To, Subject, a plain-text and an HTML part, and the link PUBLIC_URL + path + ?token=…, logging in with SMTP_URL\'s credentials', async () => {
    const smtp = await startSmtpServer({ user: 'mailer@auth.example.com', pass: 'p@ss:w/rd' });
    closers.push(smtp.close);
    // The URL as an operator writes it, percent-encoded, through the config parser.
    const config = loadConfig({ NODE_ENV: 'test', PUBLIC_URL, SMTP_URL: smtp.url });
    const { mailer: m, log } = mailer(createMailTransport(config), { from: config.mailFrom, publicUrl: config.publicUrl });
    closers.push(() => m.close());

    const permit = await m.reserveLinkMail('alice@example.com');
    assert.ok(permit);
    m.sendLink(permit, 'password-reset', TOKEN, { username: 'alice', validForSeconds: 3600 });
    const [mail] = await smtp.waitFor(1);
    assert.ok(mail);
    const link = `${PUBLIC_URL}/password/reset?token=${TOKEN}`;
    assert.deepEqual(mail.envelope, { from: 'no-reply@auth.example.com', to: ['alice@example.com'] });
    assert.deepEqual(mail.parsed.from?.value, [{ address: 'no-reply@auth.example.com', name: 'Gatehouse' }]);
    assert.equal(Array.isArray(mail.parsed.to) ? undefined : mail.parsed.to?.text, 'alice@example.com');
    assert.equal(mail.parsed.subject, 'Reset your password');
    assert.ok(mail.parsed.text?.split('\n').includes(link), `the text part has the link on a line: ${mail.parsed.text}`);
    assert.ok(typeof mail.parsed.html === 'string' && mail.parsed.html.includes(`href="${link}"`), 'the HTML part links to it');
    assert.match(mail.raw.toString('utf8'), /multipart\/alternative/i);
    assert.deepEqual(smtp.logins, [{ username: 'mailer@auth.example.com', password: 'p@ss:w/rd' }]);

    await until(() => m.stats.sent === 1, 'the mailer to count the mail');
    assert.deepEqual(m.stats, { sent: 1, failed: 0, dropped: 0, capped: 0, queued: 0 });
    assert.ok(log.lines.some((line) => line.includes('"mail sent"')));
    assert.ok(!log.lines.some((line) => line.includes(TOKEN) || line.includes('token=')), 'no log line holds the token');
  });

  it('escapes a hostile address in the HTML part of a real mail, and shows it as text', async () => {
    const smtp = await startSmtpServer();
    closers.push(smtp.close);
    const { mailer: m } = mailer(smtpTransport({ host: '127.0.0.1', port: smtp.port, secure: false, auth: null }));
    closers.push(() => m.close());
    const hostile = '<script>alert(1)</script>@example.com';
    m.sendNotice('alice@example.com', 'email-change-requested', { username: 'alice', newEmail: hostile });
    const [mail] = await smtp.waitFor(1);
    const html = typeof mail?.parsed.html === 'string' ? mail.parsed.html : '';
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;@example.com'), html);
    assert.doesNotMatch(html, /<script/i);
    assert.ok(mail?.parsed.text?.includes(hostile));
  });

  it('a dead SMTP port (connection refused): sending returns at once, and the mail ends as failed after three retries, logged without the link', async () => {
    const port = await deadPort();
    const { mailer: m, log } = mailer(closedPortTransport(port));
    closers.push(() => m.close());
    const permit = await m.reserveLinkMail('bob@example.com');
    assert.ok(permit);
    m.sendLink(permit, 'verify-email', TOKEN, { username: 'bob', validForSeconds: 86400 });
    // Returned before any attempt: the mail waits in the queue; nothing was tried on the caller's turn.
    assert.deepEqual(m.stats, { sent: 0, failed: 0, dropped: 0, capped: 0, queued: 1 });
    assert.equal(log.lines.length, 0);

    await until(() => m.stats.failed === 1, 'the mail to fail for good');
    assert.deepEqual(m.stats, { sent: 0, failed: 1, dropped: 0, capped: 0, queued: 0 });
    const attempts = log.lines.map((line) => JSON.parse(line) as { message: string; attempts: number; reason?: { code?: string } });
    assert.deepEqual(
      attempts.map((a) => [a.message, a.attempts]),
      [
        ['mail send failed: will retry', 1],
        ['mail send failed: will retry', 2],
        ['mail send failed: will retry', 3],
        ['mail not sent after its retries: dropped', 4],
      ],
    );
    assert.match(JSON.stringify(attempts[3]?.reason), /ECONNREFUSED/, 'the log says why');
    assert.ok(!log.lines.some((line) => line.includes(TOKEN) || line.includes('token=') || line.includes('/verify-email')), log.lines.join('\n'));
  });

  it('a server that accepts and never answers: sending returns at once, each attempt times out, and the mail ends as failed', async () => {
    const silent = await startSilentServer();
    closers.push(silent.close);
    const { mailer: m, log } = mailer(closedPortTransport(silent.port));
    closers.push(() => m.close());
    m.sendNotice('carol@example.com', 'password-changed', { username: 'carol' });
    assert.equal(m.stats.queued, 1);
    assert.equal(silent.connections, 0, 'no connection on the caller\'s turn');

    await until(() => m.stats.failed === 1, 'the mail to fail for good', 20_000);
    assert.equal(silent.connections, 4, 'one attempt and three retries');
    assert.deepEqual(m.stats, { sent: 0, failed: 1, dropped: 0, capped: 0, queued: 0 });
    assert.ok(log.lines.every((line) => !line.includes('password was changed')), 'no log line holds the mail');
  });

  it(`holds at most ${MAIL_QUEUE_MAX} mails while SMTP is stalled: the rest are dropped and counted, and close() lets go of all of them`, async () => {
    const silent = await startSilentServer();
    closers.push(silent.close);
    // Timeouts far beyond the test: the two sends under way stay stuck, as on a hung server.
    const stalled = smtpTransport({ host: '127.0.0.1', port: silent.port, secure: false, auth: null }, { connectionMs: 600_000, greetingMs: 600_000, socketMs: 600_000 });
    const { mailer: m, log } = mailer(stalled, { closeGraceMs: 0 });
    for (let i = 0; i < MAIL_QUEUE_MAX + 100; i += 1) m.sendNotice(`user${i}@example.com`, 'password-changed', { username: `user${i}` });
    assert.deepEqual(m.stats, { sent: 0, failed: 0, dropped: 100, capped: 0, queued: MAIL_QUEUE_MAX });
    await until(() => silent.connections === 2, 'two sends under way');

    for (let i = 0; i < 5_000; i += 1) m.sendNotice('more@example.com', 'password-changed', { username: 'more' });
    assert.equal(m.stats.queued, MAIL_QUEUE_MAX, 'the bound holds however many more come');
    assert.equal(m.stats.dropped, 5_100);
    assert.equal(log.lines.filter((line) => line.includes('mail dropped')).length, 5_100, 'each drop is logged');
    assert.equal(silent.connections, 2, 'still only the two sends under way');

    await m.close();
    assert.deepEqual(m.stats, { sent: 0, failed: 2, dropped: 5_100 + MAIL_QUEUE_MAX - 2, capped: 0, queued: 0 });
    assert.ok(log.lines.some((line) => line.includes('mailer closed') && line.includes(`"mails":${MAIL_QUEUE_MAX - 2}`)));
    m.sendNotice('late@example.com', 'password-changed', { username: 'late' });
    assert.equal(m.stats.queued, 0, 'a closed mailer holds nothing');
  });

  it('close() clears a pending retry: the mail is dropped, counted, and no timer is left', async () => {
    const port = await deadPort();
    const { mailer: m, log } = mailer(closedPortTransport(port), { retryDelaysMs: [600_000, 600_000, 600_000] });
    m.sendNotice('dave@example.com', 'password-changed', { username: 'dave' });
    await until(() => log.lines.some((line) => line.includes('will retry')), 'the first failure');
    assert.equal(m.stats.queued, 1, 'held for its retry');
    await m.close();
    assert.deepEqual(m.stats, { sent: 0, failed: 0, dropped: 1, capped: 0, queued: 0 });
  });
});
