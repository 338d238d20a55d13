/**
 * Mail without SMTP_URL: in development each mail is an .eml file in MAIL_DIR that a mail client
 * opens (parsed back here with mailparser), and the log names the file, never what it says. In
 * production the server refuses to start without SMTP_URL, with one line naming it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { simpleParser } from 'mailparser';
import { loadConfig } from '../../src/config.js';
import { MemoryLimitStore } from '../../src/limits/store.js';
import { Mailer } from '../../src/mail/mailer.js';
import { createMailTransport } from '../../src/mail/transport.js';
import { TEST_OUTPUT } from '../helpers/app.js';
import { collectingLog, until } from '../helpers/smtp.js';

const TOKEN = 'ZGV2ZWxvcG1lbnQtdG9rZW4tMTI4LWJpdHMtbG9uZw';

describe('mail in development, without SMTP_URL', () => {
  mkdirSync(TEST_OUTPUT, { recursive: true });
  const dir = mkdtempSync(join(TEST_OUTPUT, 'mail-file-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes each mail to MAIL_DIR as an .eml file a mail client reads, and logs the file name without the token or the content', async () => {
    const mailDir = join(dir, 'mail');
    const config = loadConfig({ NODE_ENV: 'development', PUBLIC_URL: 'http://localhost:3000', MAIL_DIR: mailDir });
    assert.equal(config.smtp, null);
    assert.equal(config.mailFrom, 'Gatehouse <no-reply@localhost>', 'PUBLIC_URL\'s host name, without the port');
    const log = collectingLog();
    const mailer = new Mailer({ transport: createMailTransport(config), from: config.mailFrom, publicUrl: config.publicUrl, limitStore: new MemoryLimitStore(), linkMailsPerHour: 5, log });
    const permit = await mailer.reserveLinkMail('alice@example.com');
    assert.ok(permit);
    mailer.sendLink(permit, 'verify-email', TOKEN, { username: 'alice', validForSeconds: 86400 });
    await until(() => mailer.stats.sent === 1, 'the mail to be written');
    await mailer.close();

    const files = readdirSync(mailDir);
    assert.equal(files.length, 1);
    const [name = ''] = files;
    assert.match(name, /^\d{8}T\d{9}Z-[0-9a-f]{10}\.eml$/, 'named <timestamp>-<random>.eml');
    const file = join(mailDir, name);
    assert.equal(statSync(file).mode & 0o777, 0o600, 'only the owner reads it: it holds a token');

    const mail = await simpleParser(readFileSync(file));
    const link = `http://localhost:3000/verify-email?token=${TOKEN}`;
    assert.deepEqual(mail.from?.value, [{ address: 'no-reply@localhost', name: 'Gatehouse' }]);
    assert.equal(Array.isArray(mail.to) ? undefined : mail.to?.text, 'alice@example.com');
    assert.equal(mail.subject, 'Confirm your email address');
    assert.ok(mail.text?.split('\n').includes(link), String(mail.text));
    assert.ok(typeof mail.html === 'string' && mail.html.includes(`href="${link}"`));

    assert.equal(log.lines.length, 1, log.lines.join('\n'));
    const line = log.lines[0] ?? '';
    assert.ok(line.includes(file), `the log line names the file: ${line}`);
    assert.ok(!line.includes(TOKEN) && !line.includes('token='), 'no token in the log');
    assert.ok(!line.includes('Confirm your email address') && !line.includes('alice@example.com'), 'nothing of the mail in the log');
  });

  it('refuses to start in production without SMTP_URL, with one line naming it', () => {
    const env = { NODE_ENV: 'production', PUBLIC_URL: 'https://auth.example.com', KEY_ENCRYPTION_SECRET: 'Zq8-vW3#pL0xR7tY5uI2oP9-k4Jm6Nb1Hg7Fd3Sa', DATABASE_URL: `sqlite:${join(dir, 'never.db')}` };
    const child = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } });
    assert.equal(child.status, 2, child.stderr);
    const lines = child.stderr.trim().split('\n');
    assert.equal(lines.length, 1, child.stderr);
    assert.match(lines[0] ?? '', /^gatehouse: invalid configuration: SMTP_URL: must be set when NODE_ENV=production/);
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('never')), [], 'stopped before opening the database');
  });
});
