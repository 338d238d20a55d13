/**
 * Reading the mails a test SMTP server (helpers/smtp.ts) received: those to one address (one
 * server is shared by the tests of a file), and the token of the link in a mail's plain-text part.
 */
import assert from 'node:assert/strict';
import type { ReceivedMail, TestSmtpServer } from './smtp.js';
import { until } from './smtp.js';

/** The mails whose envelope names `address` (compared case-insensitively), in order of arrival. */
export function mailsTo(smtp: TestSmtpServer, address: string): ReceivedMail[] {
  const wanted = address.toLowerCase();
  return smtp.received.filter((mail) => mail.envelope.to.some((to) => to.toLowerCase() === wanted));
}

/** Resolves with the mails to `address` once at least `count` have arrived. */
export async function waitForMailsTo(smtp: TestSmtpServer, address: string, count = 1): Promise<ReceivedMail[]> {
  await until(() => mailsTo(smtp, address).length >= count, `${count} mail(s) to ${address} (got ${mailsTo(smtp, address).length})`);
  return mailsTo(smtp, address);
}

/** The newest mail to `address` with this subject, waiting until there are at least `count` mails to it. */
export async function newestMailTo(smtp: TestSmtpServer, address: string, count: number, subject: string): Promise<ReceivedMail> {
  const mails = await waitForMailsTo(smtp, address, count);
  const mail = mails.filter((m) => m.parsed.subject === subject).at(-1);
  assert.ok(mail, `a mail "${subject}" to ${address}; got: ${mails.map((m) => m.parsed.subject).join(', ')}`);
  return mail;
}

/**
 * The token of the link `publicUrl + path + ?token=…` that stands on a line of its own in the
 * mail's plain-text part. Asserts it is base64url and carries at least 128 bits.
 */
export function linkToken(mail: ReceivedMail, publicUrl: string, path: string): string {
  const text = mail.parsed.text ?? '';
  const prefix = `${publicUrl}${path}?token=`;
  const line = text.split(/\r?\n/).find((l) => l.trim().startsWith(prefix));
  assert.ok(line, `the plain-text part has a line with ${prefix}…:\n${text}`);
  const token = line.trim().slice(prefix.length);
  assert.match(token, /^[A-Za-z0-9_-]+$/, 'the token is base64url');
  assert.ok(token.length * 6 >= 128, `the token carries at least 128 bits (${token.length} characters)`);
  return token;
}

/** The hidden inputs of a link page's form: its `csrf_token` and `token`. */
export function formFields(html: string): { csrf_token: string; token: string } {
  const value = (name: string) => {
    const match = new RegExp(`<input type="hidden" name="${name}" value="([^"]*)">`).exec(html);
    assert.ok(match, `the page's form has a hidden ${name}`);
    return match[1] ?? '';
  };
  return { csrf_token: value('csrf_token'), token: value('token') };
}
