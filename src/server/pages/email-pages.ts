import type { FieldErrors } from '../../errors.js';
import { authDocument, field } from './auth-pages.js';
import { escapeHtml } from './html.js';

/**
 * The pages of the mailed links and of a forgotten password. A link page's GET never acts: it
 * shows a button (or the new-password form) that POSTs the token, so a mail scanner opening every
 * link spends nothing.
 */
export type LinkPageKind = 'verify-email' | 'confirm-email' | 'reset-password';
export type EmailPageKind = LinkPageKind | 'forgot-password';

export interface EmailPageState {
  csrfToken: string;
  /** The link's token: only on the page its link opens (and that page shown again). */
  token?: string | undefined;
  email?: string | undefined;
  error?: string | undefined;
  fields?: FieldErrors | undefined;
}

/** Where each link page's form posts. */
export const LINK_PAGE_ACTIONS: Readonly<Record<LinkPageKind, string>> = Object.freeze({
  'verify-email': '/email/verify',
  'confirm-email': '/email/confirm',
  'reset-password': '/password/reset',
});

function hidden(name: string, value: string): string {
  return `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
}

/** GET /password/forgot, and the form shown again after a bad post. */
export function renderForgotPasswordPage(state: EmailPageState): string {
  return authDocument(
    'Forgot your password?',
    state,
    `
    <p>Enter the email address of your account. If it belongs to an account, we will send a link to choose a new password.</p>
    <form method="post" action="/password/forgot" novalidate>
      ${hidden('csrf_token', state.csrfToken)}
      ${field('email', { type: 'email', label: 'Email', autocomplete: 'email', value: state.email, required: true, error: state.fields?.email, extra: 'spellcheck="false"' })}
      <button type="submit">Send the link</button>
    </form>
    <p class="switch"><a href="/login">Back to log in</a></p>`,
  );
}

/** The answer to every forgot-password form post, whatever the address. */
export function renderForgotPasswordSentPage(): string {
  return authDocument(
    'Check your email',
    {},
    `
    <p role="status">If this address belongs to an account, a link to choose a new password is on its way. It works once, for a limited time.</p>
    <p>No mail after a few minutes? Check your spam folder, or <a href="/password/forgot">ask for another link</a>.</p>
    <p class="switch"><a href="/login">Back to log in</a></p>`,
  );
}

/** After a signup while REQUIRE_EMAIL_VERIFICATION is on: no session yet. */
export function renderCheckYourMailPage(): string {
  return authDocument(
    'Check your email',
    {},
    `
    <p role="status">Your account is made. We have sent a link to your email address: open it to confirm the address, then log in.</p>
    <p class="switch"><a href="/login">Go to log in</a></p>`,
  );
}

/** The page a link opens: a button that POSTs the token, or for a reset the new-password form. */
export function renderLinkPage(kind: LinkPageKind, state: EmailPageState & { token: string }): string {
  const form = (inner: string, label: string) => `
    <form method="post" action="${LINK_PAGE_ACTIONS[kind]}" novalidate>
      ${hidden('csrf_token', state.csrfToken)}
      ${hidden('token', state.token)}${inner}
      <button type="submit">${label}</button>
    </form>`;
  if (kind === 'verify-email') {
    return authDocument('Confirm your email address', state, `<p>Confirm that this email address is yours.</p>${form('', 'Confirm email address')}`);
  }
  if (kind === 'confirm-email') {
    return authDocument('Confirm your new email address', state, `<p>Confirm the change: this address becomes your account's email address.</p>${form('', 'Confirm new address')}`);
  }
  const fields = state.fields ?? {};
  return authDocument(
    'Choose a new password',
    state,
    form(
      `
      ${field('password', { type: 'password', label: 'New password', autocomplete: 'new-password', required: true, hint: '8 to 72 characters. Avoid common passwords.', error: fields.password })}
      ${field('password_confirmation', { type: 'password', label: 'Confirm new password', autocomplete: 'new-password', required: true, error: fields.password_confirmation })}`,
      'Set new password',
    ),
  );
}

/** An unknown, spent, expired or void link (status 401): say what to do instead. */
export function renderInvalidLinkPage(kind: LinkPageKind): string {
  const next =
    kind === 'reset-password'
      ? '<p><a href="/password/forgot">Ask for a new link</a></p>'
      : '<p>Log in to get a new one: your account page sends it, and where an address must be verified first, logging in sends it.</p><p><a href="/login">Go to log in</a></p>';
  return authDocument(
    'This link does not work',
    { error: 'This link is invalid, has expired or was already used.' },
    `
    <p>Links in our mails work once, for a limited time, and only the newest one works.</p>
    ${next}`,
  );
}
