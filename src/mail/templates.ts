/**
 * Every mail Gatehouse sends: subject, plain text and HTML, in this one file.
 *
 * A mail is written once as a list of blocks (paragraphs and links) and rendered twice, so the
 * two parts always say the same thing. Paragraphs are plain text, built with `line` (which turns
 * control characters in interpolated values into spaces), and the HTML renderer escapes each
 * paragraph whole: no interpolated value — a username, an address such as
 * `<script>…</script>@example.com`, a passkey's name — can ever become markup.
 * Subjects are fixed strings, never interpolated, so no value can reach a header.
 */

/** The mails with a link carrying a token; each counts against EMAILS_PER_ADDRESS_PER_HOUR. */
export interface LinkMailParams {
  /** To the address being verified, at signup or on request. */
  'verify-email': { username: string; validForSeconds: number };
  /** To the account's address, from POST /password/forgot. */
  'password-reset': { username: string; validForSeconds: number };
  /** To the new address, from POST /api/me/email. */
  'email-change': { username: string; validForSeconds: number };
}
export type LinkMailName = keyof LinkMailParams;

/** A sign-in method a notice is about: an authenticator app, a passkey, or a new set of recovery codes. */
export type Factor = 'totp' | 'passkey' | 'recovery-codes';

/** Security notices: never capped, never counted. */
export interface NoticeParams {
  'password-changed': { username: string };
  /** To the old address, when a change to `newEmail` is requested. */
  'email-change-requested': { username: string; newEmail: string };
  /** `name`: a passkey's name, when it has one. */
  'factor-added': { username: string; factor: Factor; name?: string };
  'factor-removed': { username: string; factor: Factor; name?: string };
  'recovery-code-used': { username: string; codesLeft: number };
}
export type NoticeName = keyof NoticeParams;

/** The page each link opens (a GET shows a button that POSTs the token; it never acts). */
export const LINK_PATHS: Readonly<Record<LinkMailName, string>> = Object.freeze({
  'verify-email': '/verify-email',
  'password-reset': '/password/reset',
  'email-change': '/email/confirm',
});

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

/** What every mail may mention besides its parameters. */
export interface MailContext {
  /** The recipient's address. */
  to: string;
  /** PUBLIC_URL, without a trailing slash. */
  publicUrl: string;
  /** When the mail was made (notices say when the event happened). */
  at: Date;
}

/**
 * The link of a link mail: PUBLIC_URL + the template's path + `?token=<token>`.
 *
 * @example linkUrl('https://auth.example.com', 'password-reset', token) // https://auth.example.com/password/reset?token=…
 */
export function linkUrl(publicUrl: string, name: LinkMailName, token: string): string {
  return `${publicUrl}${LINK_PATHS[name]}?token=${encodeURIComponent(token)}`;
}

type Block = { kind: 'text'; text: string } | { kind: 'note'; text: string } | { kind: 'link'; label: string; href: string };

interface Draft {
  subject: string;
  blocks: Block[];
}

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** A paragraph's text; interpolated values lose their control characters (a value cannot start a new line of its own). */
function line(strings: TemplateStringsArray, ...values: Array<string | number>): string {
  return strings.reduce((text, part, i) => text + part + (i < values.length ? String(values[i]).replace(CONTROL_CHARACTERS, ' ') : ''), '');
}

const text = (value: string): Block => ({ kind: 'text', text: value });
const note = (value: string): Block => ({ kind: 'note', text: value });
const link = (label: string, href: string): Block => ({ kind: 'link', label, href });

function siteOf(publicUrl: string): string {
  return new URL(publicUrl).host;
}

/** 86400 → "24 hours", 3600 → "1 hour", 900 → "15 minutes". */
export function duration(seconds: number): string {
  const [amount, unit] = seconds % 3600 === 0 ? [seconds / 3600, 'hour'] : seconds % 60 === 0 ? [seconds / 60, 'minute'] : [seconds, 'second'];
  return `${amount} ${unit}${amount === 1 ? '' : 's'}`;
}

function when(at: Date): string {
  return `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function factorName(params: { factor: Factor; name?: string }): string {
  if (params.factor === 'totp') return 'An authenticator app (one-time codes)';
  if (params.factor === 'recovery-codes') return 'A new set of recovery codes';
  return params.name ? line`A passkey named “${params.name}”` : 'A passkey';
}

function notYou(publicUrl: string): Block[] {
  return [text('If this was you, there is nothing to do. If it was not, reset your password now and check your account:'), link('Reset your password', `${publicUrl}/password/forgot`)];
}

type LinkDrafts = { [N in LinkMailName]: (params: LinkMailParams[N], context: MailContext & { link: string }) => Draft };
type NoticeDrafts = { [N in NoticeName]: (params: NoticeParams[N], context: MailContext) => Draft };

const LINK_DRAFTS: LinkDrafts = {
  'verify-email': ({ username, validForSeconds }, { to, publicUrl, link: href }) => ({
    subject: 'Confirm your email address',
    blocks: [
      text(line`Hello ${username},`),
      text(line`please confirm that ${to} is the email address of your account at ${siteOf(publicUrl)}.`),
      link('Confirm email address', href),
      note(line`The link works once, for ${duration(validForSeconds)}. If you did not sign up or add this address, ignore this mail.`),
    ],
  }),
  'password-reset': ({ username, validForSeconds }, { publicUrl, link: href }) => ({
    subject: 'Reset your password',
    blocks: [
      text(line`Hello ${username},`),
      text(line`someone asked to reset the password of your account at ${siteOf(publicUrl)}. To choose a new password, open this link:`),
      link('Choose a new password', href),
      note(line`The link works once, for ${duration(validForSeconds)}. If you did not ask for this, ignore this mail: your password stays as it is.`),
    ],
  }),
  'email-change': ({ username, validForSeconds }, { to, publicUrl, link: href }) => ({
    subject: 'Confirm your new email address',
    blocks: [
      text(line`Hello ${username},`),
      text(line`please confirm that ${to} should become the email address of your account at ${siteOf(publicUrl)}.`),
      link('Confirm new address', href),
      note(line`The link works once, for ${duration(validForSeconds)}. If you did not ask for this, ignore this mail: nothing changes.`),
    ],
  }),
};

const NOTICE_DRAFTS: NoticeDrafts = {
  'password-changed': ({ username }, { publicUrl, at }) => ({
    subject: 'Your password was changed',
    blocks: [text(line`Hello ${username},`), text(line`the password of your account at ${siteOf(publicUrl)} was changed at ${when(at)}.`), ...notYou(publicUrl)],
  }),
  'email-change-requested': ({ username, newEmail }, { publicUrl, at }) => ({
    subject: 'Your email address is being changed',
    blocks: [
      text(line`Hello ${username},`),
      text(line`at ${when(at)} someone asked to change the email address of your account at ${siteOf(publicUrl)} from this address to ${newEmail}. It changes only when the link sent to the new address is opened.`),
      ...notYou(publicUrl),
    ],
  }),
  'factor-added': (params, { publicUrl, at }) => ({
    subject: 'A sign-in method was added to your account',
    blocks: [text(line`Hello ${params.username},`), text(line`${factorName(params)} was added to your account at ${siteOf(publicUrl)} at ${when(at)}.`), ...notYou(publicUrl)],
  }),
  'factor-removed': (params, { publicUrl, at }) => ({
    subject: 'A sign-in method was removed from your account',
    blocks: [text(line`Hello ${params.username},`), text(line`${factorName(params)} was removed from your account at ${siteOf(publicUrl)} at ${when(at)}.`), ...notYou(publicUrl)],
  }),
  'recovery-code-used': ({ username, codesLeft }, { publicUrl, at }) => ({
    subject: 'A recovery code was used',
    blocks: [
      text(line`Hello ${username},`),
      text(line`a recovery code was used to sign in to your account at ${siteOf(publicUrl)} at ${when(at)}. ${codesLeft === 1 ? '1 code is' : `${codesLeft} codes are`} left.`),
      ...notYou(publicUrl),
    ],
  }),
};

/** A link mail's subject and both parts; `link` is the full URL with its token (see linkUrl). */
export function renderLinkMail<N extends LinkMailName>(name: N, params: LinkMailParams[N], context: MailContext & { link: string }): RenderedMail {
  const draft: LinkDrafts[N] = LINK_DRAFTS[name];
  return render(draft(params, context));
}

/** A notice's subject and both parts. */
export function renderNotice<N extends NoticeName>(name: N, params: NoticeParams[N], context: MailContext): RenderedMail {
  const draft: NoticeDrafts[N] = NOTICE_DRAFTS[name];
  return render(draft(params, context));
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

function render(draft: Draft): RenderedMail {
  return { subject: draft.subject, text: toText(draft), html: toHtml(draft) };
}

function toText(draft: Draft): string {
  // A link on a line of its own: mail clients make it clickable, and no wrapping breaks it.
  return `${draft.blocks.map((block) => (block.kind === 'link' ? `${block.label}:\n${block.href}` : block.text)).join('\n\n')}\n`;
}

const BUTTON_STYLE = 'display:inline-block;padding:10px 18px;background:#1f4fd1;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:600';

function toHtml(draft: Draft): string {
  const body = draft.blocks.map((block) => {
    if (block.kind === 'text') return `<p>${escapeHtml(block.text)}</p>`;
    if (block.kind === 'note') return `<p style="font-size:14px;color:#555555">${escapeHtml(block.text)}</p>`;
    const href = escapeHtml(block.href);
    // The address in full as well: some clients hide or rewrite buttons.
    return (
      `<p><a href="${href}" style="${BUTTON_STYLE}">${escapeHtml(block.label)}</a></p>\n` +
      `<p style="font-size:14px;color:#555555">Or open this address: <a href="${href}" style="word-break:break-all">${href}</a></p>`
    );
  });
  return [
    '<!doctype html>',
    '<html lang="en">',
    `<head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(draft.subject)}</title></head>`,
    '<body style="margin:0;padding:24px;font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;font-size:16px;line-height:1.5;color:#1a1a1a">',
    '<div style="max-width:560px">',
    ...body,
    '</div>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
