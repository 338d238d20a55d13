import type { FieldErrors } from '../../errors.js';
import { escapeHtml } from './html.js';
import { echoedNext } from './next-path.js';

/** The form pages; a failed post to one of them shows it again (app.ts's error handler). */
export type AuthPageKind = 'login' | 'signup' | 'logout';

export interface AuthPageState {
  csrfToken: string;
  username?: string | undefined;
  email?: string | undefined;
  remember?: boolean | undefined;
  next?: string | undefined;
  /** A message for the whole form (summarized at the top). */
  error?: string | undefined;
  fields?: FieldErrors | undefined;
  notice?: string | undefined;
}

export interface FieldOptions {
  type: string;
  label: string;
  autocomplete: string;
  value?: string | undefined;
  required?: boolean;
  /** false: no "(optional)" after the label, for a field that is one of two alternatives (the MFA page's code or recovery code). */
  markOptional?: boolean;
  hint?: string;
  error?: string | undefined;
  /** Extra attributes, already safe (constants only). */
  extra?: string;
}

/**
 * One labelled input. Hint and error are tied to it with aria-describedby; the error comes
 * before the input so a screen reader reading down meets it first.
 */
export function field(name: string, options: FieldOptions): string {
  const id = `field-${name}`;
  const described = [options.hint ? `${id}-hint` : '', options.error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return `
      <div class="field${options.error ? ' field--invalid' : ''}">
        <label for="${id}">${escapeHtml(options.label)}${options.required || options.markOptional === false ? '' : ' <span class="optional">(optional)</span>'}</label>
        ${options.hint ? `<p class="hint" id="${id}-hint">${escapeHtml(options.hint)}</p>` : ''}
        ${options.error ? `<p class="field-error" id="${id}-error"><span class="visually-hidden">Error: </span>${escapeHtml(options.error)}</p>` : ''}
        <input id="${id}" name="${name}" type="${options.type}" autocomplete="${options.autocomplete}"${
          options.value !== undefined ? ` value="${escapeHtml(options.value)}"` : ''
        }${options.required ? ' required' : ''}${options.error ? ' aria-invalid="true"' : ''}${described ? ` aria-describedby="${described}"` : ''}${options.extra ? ` ${options.extra}` : ''}>
      </div>`;
}

function hasErrors(state: Pick<AuthPageState, 'error' | 'fields'>): boolean {
  return Boolean(state.error) || Object.keys(state.fields ?? {}).length > 0;
}

/**
 * The error summary at the top: focused on load (autofocus works without JavaScript), so
 * keyboard and screen-reader users start at the problem; each field's message links to the field.
 */
function errorSummary(state: Pick<AuthPageState, 'error' | 'fields'>): string {
  if (!hasErrors(state)) return '';
  const items = Object.entries(state.fields ?? {})
    .map(([name, message]) => `<li><a href="#field-${escapeHtml(name)}">${escapeHtml(message)}</a></li>`)
    .join('');
  return `
    <div class="error-summary" role="alert" aria-labelledby="error-summary-title" tabindex="-1" id="error-summary" autofocus>
      <h2 id="error-summary-title">There is a problem</h2>
      ${state.error ? `<p>${escapeHtml(state.error)}</p>` : ''}
      ${items ? `<ul>${items}</ul>` : ''}
    </div>`;
}

/**
 * The document around a form page: the login page's look. `script`: a same-origin module (the CSP
 * allows 'self' only, never inline); only /login has one, and its form works without it.
 */
export function authDocument(title: string, state: Pick<AuthPageState, 'error' | 'fields' | 'notice'>, main: string, script?: string): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="color-scheme" content="light">
  <link rel="icon" href="data:,">
  <title>${hasErrors(state) ? 'Error: ' : ''}${title} · Gatehouse</title>
  <link rel="stylesheet" href="/auth.css">${script ? `\n  <script type="module" src="${escapeHtml(script)}"></script>` : ''}
</head>
<body>
  <header class="site-header"><p class="brand">Gatehouse</p></header>
  <main class="auth">
    <h1>${title}</h1>
    ${state.notice ? `<p class="notice" role="status">${escapeHtml(state.notice)}</p>` : ''}
    ${errorSummary(state)}${main}
  </main>
</body>
</html>`;
}

/**
 * The page a cross-site GET /logout gets instead of a logout: another site may link or redirect
 * here, so only a click on our own page (a same-origin POST with the CSRF token) ends the session.
 */
export function renderLogoutPage(state: Pick<AuthPageState, 'csrfToken' | 'error' | 'fields'>): string {
  return authDocument(
    'Log out',
    state,
    `
    <p>You followed a link from another site that asks to log you out of Gatehouse. Log out only if you meant to.</p>
    <form method="post" action="/logout">
      <input type="hidden" name="csrf_token" value="${escapeHtml(state.csrfToken)}">
      <button type="submit">Log out</button>
    </form>
    <p class="switch"><a href="/">Stay signed in</a></p>`,
  );
}

/**
 * The passkey sign-in under a login form: hidden until /login-passkey.js finds WebAuthn in the
 * browser (without JavaScript, or without WebAuthn, it never shows; the form is the way in).
 * `next` is where the script goes once signed in, when the form has no `next` field of its own.
 */
export function passkeySignIn(next?: string): string {
  return `
    <div class="passkey" id="passkey-sign-in"${next !== undefined ? ` data-next="${escapeHtml(next)}"` : ''} hidden>
      <p class="passkey__or">or</p>
      <button type="button" class="button--secondary" id="passkey-button">Sign in with a passkey</button>
      <p class="field-error" id="passkey-error" role="alert" hidden></p>
    </div>`;
}

/** The script behind passkeySignIn's button. */
export const PASSKEY_SCRIPT = '/login-passkey.js';

/** The whole HTML document for /login, /signup or the logout confirmation. Works without JavaScript (the login page's passkey button needs it). */
export function renderAuthPage(kind: AuthPageKind, state: AuthPageState): string {
  if (kind === 'logout') return renderLogoutPage(state);
  const title = kind === 'login' ? 'Log in' : 'Create an account';
  const fields = state.fields ?? {};
  // Re-rendered forms echo what was posted: sanitize here too, not only when redirecting.
  const next = state.next ? echoedNext(state.next) : '/';
  const nextQuery = next !== '/' ? `?next=${encodeURIComponent(next)}` : '';
  const usernameExtra = 'autocapitalize="none" spellcheck="false"';
  const body =
    kind === 'login'
      ? `${field('username', { type: 'text', label: 'Username or email', autocomplete: 'username', value: state.username, required: true, error: fields.username, extra: usernameExtra })}
      ${field('password', { type: 'password', label: 'Password', autocomplete: 'current-password', required: true, error: fields.password })}
      <p class="field-link"><a href="/password/forgot">Forgot your password?</a></p>
      <div class="field field--checkbox">
        <input id="field-remember" name="remember" type="checkbox" value="on"${state.remember ? ' checked' : ''}>
        <label for="field-remember">Keep me signed in</label>
      </div>`
      : `${field('username', {
          type: 'text',
          label: 'Username',
          autocomplete: 'username',
          value: state.username,
          required: true,
          hint: '3–32 characters: letters, digits, "_", "." or "-".',
          error: fields.username,
          extra: usernameExtra,
        })}
      ${field('email', { type: 'email', label: 'Email', autocomplete: 'email', value: state.email, error: fields.email, extra: 'spellcheck="false"' })}
      ${field('password', { type: 'password', label: 'Password', autocomplete: 'new-password', required: true, hint: '8 to 72 characters. Avoid common passwords.', error: fields.password })}
      ${field('password_confirmation', { type: 'password', label: 'Confirm password', autocomplete: 'new-password', required: true, error: fields.password_confirmation })}`;
  const other =
    kind === 'login'
      ? `<p class="switch">New here? <a href="/signup${nextQuery}">Create an account</a></p>`
      : `<p class="switch">Already have an account? <a href="/login${nextQuery}">Log in</a></p>`;
  return authDocument(
    title,
    state,
    `
    <form method="post" action="/${kind}${nextQuery}" novalidate>
      <input type="hidden" name="csrf_token" value="${escapeHtml(state.csrfToken)}">
      ${next !== '/' ? `<input type="hidden" name="next" value="${escapeHtml(next)}">` : ''}
      ${body}
      <button type="submit">${title}</button>
    </form>${kind === 'login' ? passkeySignIn() : ''}
    ${other}`,
    kind === 'login' ? PASSKEY_SCRIPT : undefined,
  );
}
