import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import nodemailer from 'nodemailer';
import type { SendMailOptions } from 'nodemailer';
import type { Config, SmtpSettings } from '../config.js';

/** One mail, ready to go: a plain-text part always, an HTML part beside it. */
export interface OutgoingMail {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** Where a delivered mail went, for the log line: never what it says. */
export type Delivery = { via: 'smtp'; messageId: string } | { via: 'file'; file: string };

/**
 * How mail leaves the process. `deliver` settles once, with where the mail went or why it did not;
 * an aborted `signal` ends an attempt at once (the mailer's deadline, or close()).
 */
export interface MailTransport {
  deliver(mail: OutgoingMail, signal: AbortSignal): Promise<Delivery>;
  close(): void;
}

/**
 * nodemailer's defaults wait up to 2 minutes to connect and 10 minutes on a silent socket; an SMTP
 * server that accepts and never answers must cost seconds instead, so retries and the queue move.
 */
export interface SmtpTimeouts {
  connectionMs: number;
  greetingMs: number;
  socketMs: number;
}

export const SMTP_TIMEOUTS: Readonly<SmtpTimeouts> = Object.freeze({ connectionMs: 5_000, greetingMs: 5_000, socketMs: 10_000 });

function composed(mail: OutgoingMail, signal: AbortSignal): SendMailOptions {
  return {
    from: mail.from,
    // An object, not a string: nodemailer would otherwise parse the address, and `<`, `,` or a
    // quote in it could turn one recipient into another.
    to: { name: '', address: mail.to },
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
    signal,
  };
}

/**
 * SMTP_URL's server, one connection per mail (mail is rare next to logins; a pool would hold a
 * connection open for nothing).
 */
export function smtpTransport(settings: SmtpSettings, timeouts: SmtpTimeouts = SMTP_TIMEOUTS): MailTransport {
  const transporter = nodemailer.createTransport({
    host: settings.host,
    port: settings.port,
    secure: settings.secure,
    ...(settings.auth ? { auth: { user: settings.auth.user, pass: settings.auth.pass } } : {}),
    connectionTimeout: timeouts.connectionMs,
    greetingTimeout: timeouts.greetingMs,
    socketTimeout: timeouts.socketMs,
    dnsTimeout: timeouts.connectionMs,
    // Our mails are text we wrote: nothing in them may make nodemailer read a file or fetch a URL.
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return {
    async deliver(mail, signal) {
      const info = await transporter.sendMail(composed(mail, signal));
      return { via: 'smtp', messageId: info.messageId };
    },
    close: () => transporter.close(),
  };
}

/** `20261201T090000123Z`: file names sort by time. */
function stamp(now: Date): string {
  return now.toISOString().replace(/[-:.]/g, '');
}

/**
 * Development without SMTP_URL: each mail becomes `<dir>/<timestamp>-<random>.eml`, the raw
 * message a mail client opens. The directory and files are private to the user: they hold tokens.
 */
export function fileTransport(dir: string): MailTransport {
  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, disableFileAccess: true, disableUrlAccess: true });
  const directory = resolve(dir);
  return {
    async deliver(mail, signal) {
      const info = await composer.sendMail(composed(mail, signal));
      if (!Buffer.isBuffer(info.message)) throw new Error('the stream transport gave no buffer');
      await mkdir(directory, { recursive: true, mode: 0o700 });
      const file = join(directory, `${stamp(new Date())}-${randomBytes(5).toString('hex')}.eml`);
      await writeFile(file, info.message, { flag: 'wx', mode: 0o600 });
      return { via: 'file', file };
    },
    close() {},
  };
}

/** SMTP when SMTP_URL is set, else .eml files in MAIL_DIR (config.ts refuses that in production). */
export function createMailTransport(config: Pick<Config, 'smtp' | 'mailDir'>): MailTransport {
  return config.smtp ? smtpTransport(config.smtp) : fileTransport(config.mailDir);
}
