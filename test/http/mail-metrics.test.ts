/**
 * The mailer as the server builds it (createServices: MAIL_DIR, EMAILS_PER_ADDRESS_PER_HOUR, the
 * shared limit store) and what /metrics says about it: mails by outcome and the queue length.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, TEST_OUTPUT } from '../helpers/app.js';
import type { TestServer } from '../helpers/app.js';
import { until } from '../helpers/smtp.js';

const TOKEN = 'metrics-token-for-tests-0123456789';

/** The value of the sample `name{labels}`, or undefined. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('mail metrics', () => {
  let server: TestServer;
  let mailDir: string;

  before(async () => {
    mkdirSync(TEST_OUTPUT, { recursive: true });
    mailDir = mkdtempSync(join(TEST_OUTPUT, 'mail-metrics-'));
    server = await startTestServer({ METRICS_TOKEN: TOKEN, MAIL_DIR: mailDir, EMAILS_PER_ADDRESS_PER_HOUR: '1' });
  });
  after(async () => {
    await server.close();
    rmSync(mailDir, { recursive: true, force: true });
  });

  async function scrape(): Promise<string> {
    const res = await server.client().get<string>('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 200);
    return res.text;
  }

  it('counts mails by outcome and shows the queue length, from zero', async () => {
    const first = await scrape();
    for (const outcome of ['sent', 'failed', 'dropped', 'capped']) assert.equal(sample(first, 'gatehouse_mails_total', `outcome="${outcome}"`), 0, outcome);
    assert.equal(sample(first, 'gatehouse_mail_queue_length'), 0);

    const { mailer } = server.services;
    mailer.sendNotice('ada@example.com', 'password-changed', { username: 'ada' });
    const permit = await mailer.reserveLinkMail('ada@example.com');
    assert.ok(permit);
    mailer.sendLink(permit, 'verify-email', 'a-token-for-the-metrics-test', { username: 'ada', validForSeconds: 86400 });
    assert.equal(await mailer.reserveLinkMail('ADA@example.com'), null, 'EMAILS_PER_ADDRESS_PER_HOUR=1 reached the mailer');
    await until(() => mailer.stats.sent === 2, 'both mails written');
    assert.equal(readdirSync(mailDir).filter((f) => f.endsWith('.eml')).length, 2, 'written to MAIL_DIR');

    for (let i = 0; i < 2; i += 1) {
      const text = await scrape();
      assert.equal(sample(text, 'gatehouse_mails_total', 'outcome="sent"'), 2, `scrape ${i + 1}`);
      assert.equal(sample(text, 'gatehouse_mails_total', 'outcome="capped"'), 1);
      assert.equal(sample(text, 'gatehouse_mails_total', 'outcome="failed"'), 0);
      assert.equal(sample(text, 'gatehouse_mails_total', 'outcome="dropped"'), 0);
      assert.equal(sample(text, 'gatehouse_mail_queue_length'), 0);
    }
  });
});
