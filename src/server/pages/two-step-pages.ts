import { authDocument, field } from './auth-pages.js';
import { escapeHtml } from './html.js';

/**
 * /account/two-step: setting up an authenticator app without JavaScript (the React account page
 * does the same with it). Every form carries the CSRF field; the ones that change the factor ask
 * for the password (a one-time re-authentication).
 */
export interface TwoStepState {
  csrfToken: string;
  username: string;
  totp: boolean;
  recoveryCodesLeft: number;
  error?: string | undefined;
  fields?: Record<string, string> | undefined;
}

function csrf(token: string): string {
  return `<input type="hidden" name="csrf_token" value="${escapeHtml(token)}">`;
}

function passwordField(error: string | undefined): string {
  return field('current_password', { type: 'password', label: 'Your password', autocomplete: 'current-password', required: true, error, hint: 'To confirm it is you.' });
}

export function renderTwoStepPage(state: TwoStepState): string {
  const fields = state.fields ?? {};
  const body = state.totp
    ? `
    <p role="status">Two-step verification is <strong>on</strong> for ${escapeHtml(state.username)}. ${state.recoveryCodesLeft === 1 ? '1 recovery code is' : `${state.recoveryCodesLeft} recovery codes are`} left.</p>
    <h2>New recovery codes</h2>
    <form method="post" action="/account/two-step/recovery-codes" novalidate>
      ${csrf(state.csrfToken)}
      ${passwordField(fields.current_password)}
      <button type="submit">Make new recovery codes</button>
    </form>
    <h2>Turn off</h2>
    <form method="post" action="/account/two-step/disable" novalidate>
      ${csrf(state.csrfToken)}
      ${field('current_password', { type: 'password', label: 'Your password', autocomplete: 'current-password', required: true, hint: 'Your authenticator app and recovery codes stop working.' })}
      <button type="submit">Turn off two-step verification</button>
    </form>`
    : `
    <p>Two-step verification is <strong>off</strong>. With it on, logging in asks for a code from an authenticator app on your phone as well as your password.</p>
    <form method="post" action="/account/two-step/setup" novalidate>
      ${csrf(state.csrfToken)}
      ${passwordField(fields.current_password)}
      <button type="submit">Set up an authenticator app</button>
    </form>`;
  return authDocument('Two-step verification', state, `${body}\n    <p class="switch"><a href="/account">Back to your account</a></p>`);
}

/** The QR code (inline SVG: no script, no inline style, nothing for the CSP to refuse), the secret, and the confirm form. */
export function renderTwoStepSetupPage(state: { csrfToken: string; secret: string; qrSvg: string; error?: string | undefined; fields?: Record<string, string> | undefined }): string {
  const grouped = state.secret.match(/.{1,4}/g)?.join(' ') ?? state.secret;
  return authDocument(
    'Set up your authenticator app',
    state,
    `
    <p>Scan this code with your authenticator app, then enter the 6-digit code it shows.</p>
    <figure class="qr" role="img" aria-label="QR code of your two-step secret">${state.qrSvg}</figure>
    <p>Cannot scan it? Enter this key instead: <code class="secret">${escapeHtml(grouped)}</code></p>
    <form method="post" action="/account/two-step/confirm" novalidate>
      ${csrf(state.csrfToken)}
      ${field('code', { type: 'text', label: 'Code from the app', autocomplete: 'one-time-code', required: true, error: state.fields?.code, extra: 'inputmode="numeric" maxlength="6" spellcheck="false"' })}
      <button type="submit">Turn on</button>
    </form>
    <p class="switch"><a href="/account/two-step">Cancel</a></p>`,
  );
}

/** Recovery codes, shown this once. */
export function renderRecoveryCodesPage(codes: readonly string[]): string {
  return authDocument(
    'Your recovery codes',
    {},
    `
    <p role="status">Two-step verification is on. Keep these codes somewhere safe: each one signs you in once if you lose your device. They are shown only now.</p>
    <ul class="codes">${codes.map((code) => `<li><code>${escapeHtml(code)}</code></li>`).join('')}</ul>
    <p class="switch"><a href="/account/two-step">Done</a></p>`,
  );
}

/** A failed form post on these pages: what went wrong, and the way back. */
export function renderTwoStepErrorPage(message: string, fields: Record<string, string> | undefined): string {
  return authDocument('Two-step verification', { error: fields && Object.keys(fields).length > 0 ? undefined : message, fields }, `<p><a href="/account/two-step">Back to two-step verification</a></p>`);
}
