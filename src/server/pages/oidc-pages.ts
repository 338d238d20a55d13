import type { FieldErrors } from '../../errors.js';
import { pageCspAllowingFormTargets } from '../plugins/security-headers.js';
import { authDocument, field, PASSKEY_SCRIPT, passkeySignIn } from './auth-pages.js';
import { escapeHtml } from './html.js';

/**
 * The OpenID Connect pages: signing in to continue to an app (the /login form's fields, and its
 * second step), consent, the logout confirmation of an RP-initiated logout, and the provider's
 * error pages. Same look as /login, server-rendered, working without JavaScript.
 */

/** What each scope lets an app see, as the consent page says it. */
const SCOPE_TEXT: Record<string, string> = {
  openid: 'Know who you are on Gatehouse (your account id)',
  profile: 'See your username',
  email: 'See your email address and whether it is verified',
  offline_access: 'Stay connected when you are not using it (until you remove it)',
};

function appName(name: string | undefined): string {
  return escapeHtml(name && name.trim() !== '' ? name : 'an app');
}

export interface OidcLoginPageState {
  csrfToken: string;
  /** Where the form posts: /oidc/interaction/<uid>/login. */
  action: string;
  /** The sign-in request's page: where a passkey sign-in goes on to (it then finds the new session). */
  resume: string;
  clientName: string | undefined;
  username?: string | undefined;
  remember?: boolean | undefined;
  error?: string | undefined;
  fields?: FieldErrors | undefined;
  /** Why the password is asked although the browser is signed in (a fresh login asked for by the app). */
  notice?: string | undefined;
}

/** Sign in to continue to an app: the /login form's fields (username, password, remember, csrf_token). */
export function renderOidcLoginPage(state: OidcLoginPageState): string {
  const fields = state.fields ?? {};
  return authDocument(
    'Log in',
    state,
    `
    <p>Log in to continue to <strong>${appName(state.clientName)}</strong>.</p>
    <form method="post" action="${escapeHtml(state.action)}" novalidate>
      <input type="hidden" name="csrf_token" value="${escapeHtml(state.csrfToken)}">
      ${field('username', { type: 'text', label: 'Username or email', autocomplete: 'username', value: state.username, required: true, error: fields.username, extra: 'autocapitalize="none" spellcheck="false"' })}
      ${field('password', { type: 'password', label: 'Password', autocomplete: 'current-password', required: true, error: fields.password })}
      <p class="field-link"><a href="/password/forgot">Forgot your password?</a></p>
      <div class="field field--checkbox">
        <input id="field-remember" name="remember" type="checkbox" value="on"${state.remember ? ' checked' : ''}>
        <label for="field-remember">Keep me signed in</label>
      </div>
      <button type="submit">Log in</button>
    </form>${passkeySignIn(state.resume)}`,
    PASSKEY_SCRIPT,
  );
}

export interface OidcMfaPageState {
  csrfToken: string;
  action: string;
  /** The second step's token, carried by the form (the page is never cached). */
  mfaToken: string;
  clientName: string | undefined;
  /** Where "Start again" goes: the sign-in request's page. */
  restart: string;
  error?: string | undefined;
  fields?: FieldErrors | undefined;
}

/** The second step of signing in to continue to an app, as /login/mfa asks it. */
export function renderOidcMfaPage(state: OidcMfaPageState): string {
  const fields = state.fields ?? {};
  return authDocument(
    'Two-step verification',
    state,
    `
    <p>Enter the 6-digit code from your authenticator app to continue to <strong>${appName(state.clientName)}</strong>.</p>
    <form method="post" action="${escapeHtml(state.action)}" novalidate>
      <input type="hidden" name="csrf_token" value="${escapeHtml(state.csrfToken)}">
      <input type="hidden" name="mfa_token" value="${escapeHtml(state.mfaToken)}">
      ${field('code', { type: 'text', label: 'Code', autocomplete: 'one-time-code', error: fields.code, extra: 'inputmode="numeric" pattern="[0-9]*" maxlength="6" spellcheck="false"' })}
      <details${fields.recovery_code ? ' open' : ''}>
        <summary>Lost your device? Use a recovery code</summary>
        ${field('recovery_code', { type: 'text', label: 'Recovery code', autocomplete: 'off', error: fields.recovery_code, extra: 'autocapitalize="characters" spellcheck="false"' })}
      </details>
      <button type="submit">Verify</button>
    </form>
    <p class="switch"><a href="${escapeHtml(state.restart)}">Start again</a></p>`,
  );
}

export interface ConsentPageState {
  csrfToken: string;
  action: string;
  clientName: string | undefined;
  username: string;
  /** The scopes asked for; `isNew` for those the user has not allowed this app yet. */
  scopes: ReadonlyArray<{ scope: string; isNew: boolean }>;
}

/** Consent: what the app asks to see, and two buttons (`decision` = allow or deny). */
export function renderConsentPage(state: ConsentPageState): string {
  const items = state.scopes
    .filter(({ scope }) => SCOPE_TEXT[scope] !== undefined)
    .map(({ scope, isNew }) => `<li>${escapeHtml(SCOPE_TEXT[scope])}${isNew ? '' : ' <span class="optional">(allowed before)</span>'}</li>`)
    .join('');
  return authDocument(
    'Allow access?',
    {},
    `
    <p><strong>${appName(state.clientName)}</strong> asks to use your Gatehouse account <strong>${escapeHtml(state.username)}</strong>. It will be able to:</p>
    <ul class="scopes">${items}</ul>
    <form method="post" action="${escapeHtml(state.action)}">
      <input type="hidden" name="csrf_token" value="${escapeHtml(state.csrfToken)}">
      <div class="choices">
        <button type="submit" name="decision" value="allow">Allow</button>
        <button type="submit" name="decision" value="deny" class="button--secondary">Deny</button>
      </div>
    </form>
    <p class="hint">You can remove the app's access at any time from your account.</p>`,
  );
}

/** The confirmation of a logout an app asked for (RP-initiated logout): it ends the Gatehouse session too. */
export function renderOidcLogoutPage(state: { clientName: string | undefined; xsrf: string; csrfToken: string; action: string }): string {
  return authDocument(
    'Log out',
    {},
    `
    <p>${state.clientName ? `<strong>${escapeHtml(state.clientName)}</strong> asks` : 'An app asks'} to log you out. Logging out ends your Gatehouse session in this browser.</p>
    <form method="post" action="${escapeHtml(state.action)}">
      <input type="hidden" name="csrf_token" value="${escapeHtml(state.csrfToken)}">
      <input type="hidden" name="xsrf" value="${escapeHtml(state.xsrf)}">
      <div class="choices">
        <button type="submit" name="logout" value="yes">Log out</button>
        <button type="submit" class="button--secondary">Stay signed in</button>
      </div>
    </form>`,
  );
}

/** After an RP-initiated logout that named no page to return to. */
export function renderOidcLoggedOutPage(state: { clientName: string | undefined }): string {
  return authDocument(
    'Logged out',
    {},
    `
    <p>You are logged out${state.clientName ? ` of <strong>${escapeHtml(state.clientName)}</strong>` : ''}.</p>
    <p><a href="/login">Log in again</a></p>`,
  );
}

/**
 * A sign-in request that cannot go back to the app: unknown app, an address the app did not
 * register, an expired request. Never a redirect (the address may be an attacker's).
 */
export function renderOidcErrorPage(state: { status: number; error: string; description: string | undefined }): string {
  const expired = state.error === 'invalid_request' && /expired|not found|interaction session/i.test(state.description ?? '');
  return authDocument(
    expired ? 'This sign-in has expired' : 'This sign-in cannot continue',
    {},
    `
    <p>${expired ? 'Go back to the app and sign in again.' : 'The app sent a request Gatehouse cannot accept. Go back to the app and try again; if it keeps happening, tell the app\'s administrator.'}</p>
    <p class="hint">Error: <code>${escapeHtml(state.error)}</code>${state.description ? ` — ${escapeHtml(state.description)}` : ''}</p>`,
  );
}

/** The pages the provider renders itself, for the composition root to hand to OidcService. */
export const oidcProviderPages = {
  logout: renderOidcLogoutPage,
  loggedOut: renderOidcLoggedOutPage,
  error: renderOidcErrorPage,
  csp: pageCspAllowingFormTargets,
};
