import type { FieldErrors } from '../../errors.js';
import { escapeHtml } from './html.js';

export type AuthPageKind = 'login' | 'signup';

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

const FIELD_LABELS: Record<string, string> = {
  username: 'Username',
  email: 'Email',
  password: 'Password',
  password_confirmation: 'Confirm password',
};

function field(
  name: string,
  options: { type: string; label: string; autocomplete: string; value?: string | undefined; required?: boolean; hint?: string; error?: string | undefined },
): string {
  const id = `field-${name}`;
  const described = [options.hint ? `${id}-hint` : '', options.error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return `
      <div class="field${options.error ? ' field--invalid' : ''}">
        <label for="${id}">${escapeHtml(options.label)}${options.required ? '' : ' <span class="optional">(optional)</span>'}</label>
        ${options.hint ? `<p class="hint" id="${id}-hint">${escapeHtml(options.hint)}</p>` : ''}
        ${options.error ? `<p class="field-error" id="${id}-error">${escapeHtml(options.error)}</p>` : ''}
        <input id="${id}" name="${name}" type="${options.type}" autocomplete="${options.autocomplete}"${
          options.value !== undefined ? ` value="${escapeHtml(options.value)}"` : ''
        }${options.required ? ' required' : ''}${options.error ? ' aria-invalid="true"' : ''}${described ? ` aria-describedby="${described}"` : ''}>
      </div>`;
}

function errorSummary(state: AuthPageState): string {
  const fieldEntries = Object.entries(state.fields ?? {});
  if (!state.error && fieldEntries.length === 0) return '';
  const items = fieldEntries
    .map(([name, message]) => `<li><a href="#field-${escapeHtml(name)}">${escapeHtml(FIELD_LABELS[name] ?? name)}: ${escapeHtml(message)}</a></li>`)
    .join('');
  return `
      <div class="error-summary" role="alert" tabindex="-1" id="error-summary">
        <h2>There is a problem</h2>
        ${state.error ? `<p>${escapeHtml(state.error)}</p>` : ''}
        ${items ? `<ul>${items}</ul>` : ''}
      </div>`;
}

/** The whole HTML document for /login or /signup. Works without JavaScript. */
export function renderAuthPage(kind: AuthPageKind, state: AuthPageState): string {
  const title = kind === 'login' ? 'Log in' : 'Create an account';
  const fields = state.fields ?? {};
  const nextQuery = state.next ? `?next=${encodeURIComponent(state.next)}` : '';
  const body =
    kind === 'login'
      ? `${field('username', { type: 'text', label: 'Username or email', autocomplete: 'username', value: state.username, required: true, error: fields.username })}
      ${field('password', { type: 'password', label: 'Password', autocomplete: 'current-password', required: true, error: fields.password })}
      <div class="field field--checkbox">
        <input id="field-remember" name="remember" type="checkbox" value="on"${state.remember ? ' checked' : ''}>
        <label for="field-remember">Keep me signed in</label>
      </div>`
      : `${field('username', { type: 'text', label: 'Username', autocomplete: 'username', value: state.username, required: true, hint: '3–32 characters: letters, digits, "_", "." or "-".', error: fields.username })}
      ${field('email', { type: 'email', label: 'Email', autocomplete: 'email', value: state.email, error: fields.email })}
      ${field('password', { type: 'password', label: 'Password', autocomplete: 'new-password', required: true, hint: 'At least 8 characters. Avoid common passwords.', error: fields.password })}
      ${field('password_confirmation', { type: 'password', label: 'Confirm password', autocomplete: 'new-password', required: true, error: fields.password_confirmation })}`;
  const other =
    kind === 'login'
      ? `<p class="switch">New here? <a href="/signup${nextQuery}">Create an account</a></p>`
      : `<p class="switch">Already have an account? <a href="/login${nextQuery}">Log in</a></p>`;
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${title} · Gatehouse</title>
  <link rel="stylesheet" href="/auth.css">
</head>
<body>
  <main class="auth">
    <h1>${title}</h1>
    ${state.notice ? `<p class="notice" role="status">${escapeHtml(state.notice)}</p>` : ''}
    ${errorSummary(state)}
    <form method="post" action="/${kind}${nextQuery}" novalidate>
      <input type="hidden" name="csrf_token" value="${escapeHtml(state.csrfToken)}">
      ${state.next ? `<input type="hidden" name="next" value="${escapeHtml(state.next)}">` : ''}
      ${body}
      <button type="submit">${title}</button>
    </form>
    ${other}
  </main>
</body>
</html>`;
}
