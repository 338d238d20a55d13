/**
 * EMAILS_PER_ADDRESS_PER_HOUR, with a real SMTP server counting what arrives: link mails to one
 * address (in any case) are capped in any 60 minutes, a refused reservation sends nothing and
 * hands out no permit to make a link with, notices are neither capped nor counted, and the cap
 * slides with the clock. Concurrent reservations are decided atomically: 5 of 20.
 * The same over Redis: test/scaleout/sliding-redis.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { MemoryLimitStore } from '../../src/limits/store.js';
import { Mailer } from '../../src/mail/mailer.js';
import { createMailTransport } from '../../src/mail/transport.js';
import { fakeClock } from '../helpers/app.js';
import type { FakeClock } from '../helpers/app.js';
import { collectingLog, startSmtpServer, until } from '../helpers/smtp.js';
import type { TestSmtpServer } from '../helpers/smtp.js';

const MINUTE = 60_000;

describe('EMAILS_PER_ADDRESS_PER_HOUR', () => {
  let smtp: TestSmtpServer;
  before(async () => {
    smtp = await startSmtpServer();
  });
  after(async () => smtp.close());

  function makeMailer(clock: FakeClock, perHour: string): Mailer {
    const config = loadConfig({ NODE_ENV: 'test', PUBLIC_URL: 'https://auth.example.com', SMTP_URL: smtp.url, EMAILS_PER_ADDRESS_PER_HOUR: perHour });
    return new Mailer({
      transport: createMailTransport(config),
      from: config.mailFrom,
      publicUrl: config.publicUrl,
      limitStore: new MemoryLimitStore(clock),
      linkMailsPerHour: config.emailsPerAddressPerHour,
      log: collectingLog(),
      clock,
    });
  }

  it('=2: the third link mail to one address within an hour is refused and sends nothing, notices still go, and the cap slides', async () => {
    const clock = fakeClock();
    const mailer = makeMailer(clock, '2');
    const start = smtp.received.length;
    const tokensIn = () => smtp.received.slice(start).map((mail) => /token=([\w-]+)/.exec(mail.parsed.text ?? '')?.[1] ?? null);

    const first = await mailer.reserveLinkMail('Dave@Example.com');
    assert.ok(first);
    mailer.sendLink(first, 'verify-email', 'token-one', { username: 'dave', validForSeconds: 86400 });
    clock.advance(10 * MINUTE);
    const second = await mailer.reserveLinkMail('dave@example.com');
    assert.ok(second);
    mailer.sendLink(second, 'password-reset', 'token-two', { username: 'dave', validForSeconds: 3600 });
    clock.advance(10 * MINUTE);
    assert.equal(await mailer.reserveLinkMail('DAVE@EXAMPLE.COM'), null, 'the third within the hour, in another case');
    assert.equal(await mailer.reserveLinkMail(' dave@example.com'), null);
    assert.ok(await mailer.reserveLinkMail('erin@example.com'), 'another address has its own cap');

    // Notices: not capped, and not counted (five of them, then the cap is unchanged below).
    for (let i = 0; i < 5; i += 1) mailer.sendNotice('dave@example.com', 'password-changed', { username: 'dave' });
    await smtp.waitFor(start + 7);
    await until(() => mailer.stats.queued === 0, 'the queue to drain');
    // Two sends run at once, so arrivals may interleave: compare what arrived, not the order.
    assert.deepEqual(tokensIn().map((token) => token ?? 'notice').sort(), ['notice', 'notice', 'notice', 'notice', 'notice', 'token-one', 'token-two'], 'two link mails and five notices arrived, nothing else');
    assert.deepEqual(mailer.stats, { sent: 7, failed: 0, dropped: 0, capped: 2, queued: 0 });

    // 40 more minutes: the first link mail is an hour old and leaves the window; the second stays.
    clock.advance(40 * MINUTE - 1);
    assert.equal(await mailer.reserveLinkMail('dave@example.com'), null, 'a millisecond short of the hour');
    clock.advance(1);
    const third = await mailer.reserveLinkMail('dave@example.com');
    assert.ok(third, 'allowed again once the window slid');
    assert.equal(await mailer.reserveLinkMail('dave@example.com'), null, 'and only one: the second is still in the window');
    mailer.sendLink(third, 'email-change', 'token-three', { username: 'dave', validForSeconds: 3600 });
    await smtp.waitFor(start + 8);
    assert.equal(tokensIn()[7], 'token-three');
    await mailer.close();
  });

  it('a permit makes one link mail: a spent or made-up permit is refused', async () => {
    const mailer = makeMailer(fakeClock(), '5');
    const permit = await mailer.reserveLinkMail('frank@example.com');
    assert.ok(permit);
    mailer.sendLink(permit, 'verify-email', 'token-frank', { username: 'frank', validForSeconds: 60 });
    assert.throws(() => mailer.sendLink(permit, 'verify-email', 'token-again', { username: 'frank', validForSeconds: 60 }), /unspent permit/);
    assert.throws(() => mailer.sendLink({ to: 'frank@example.com' }, 'verify-email', 'token-forged', { username: 'frank', validForSeconds: 60 }), /unspent permit/);
    await until(() => mailer.stats.sent === 1, 'the one mail');
    await mailer.close();
  });

  it('=5: of 20 concurrent reservations for one address, exactly 5 are allowed', async () => {
    const mailer = makeMailer(fakeClock(), '5');
    const permits = await Promise.all(Array.from({ length: 20 }, (_, i) => mailer.reserveLinkMail(i % 2 ? 'grace@example.com' : 'Grace@Example.COM')));
    assert.equal(permits.filter(Boolean).length, 5);
    assert.equal(mailer.stats.capped, 15);
    await mailer.close();
  });
});
