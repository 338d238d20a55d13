import type { FieldErrors } from '../../errors.js';
import { authDocument, field } from './auth-pages.js';
import { escapeHtml } from './html.js';
import { echoedNext } from './next-path.js';

export interface MfaPageState {
  csrfToken: string;
  next?: string | undefined;
  error?: string | undefined;
  fields?: FieldErrors | undefined;
}

/** /login/mfa: the form login's second step. One of the two fields is enough. */
export function renderLoginMfaPage(state: MfaPageState): string {
  const next = state.next ? echoedNext(state.next) : '/';
  const fields = state.fields ?? {};
  return authDocument(
    'Two-step verification',
    state,
    `
    <p>Enter the 6-digit code from your authenticator app.</p>
    <form method="post" action="/login/mfa${next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}" novalidate>
      <input type="hidden" name="csrf_token" value="${escapeHtml(state.csrfToken)}">
      ${next !== '/' ? `<input type="hidden" name="next" value="${escapeHtml(next)}">` : ''}
      ${field('code', { type: 'text', label: 'Code', autocomplete: 'one-time-code', markOptional: false, error: fields.code, extra: 'inputmode="numeric" pattern="[0-9]*" maxlength="6" spellcheck="false"' })}
      <details${fields.recovery_code ? ' open' : ''}>
        <summary>Lost your device? Use a recovery code</summary>
        ${field('recovery_code', { type: 'text', label: 'Recovery code', autocomplete: 'off', markOptional: false, error: fields.recovery_code, extra: 'autocapitalize="characters" spellcheck="false"' })}
      </details>
      <button type="submit">Verify</button>
    </form>
    <p class="switch"><a href="/login">Start again</a></p>`,
  );
}
