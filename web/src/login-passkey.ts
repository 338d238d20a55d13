/**
 * The login page's passkey button (the page itself is the server's: src/server/pages/auth-pages.ts).
 * Served as /login-passkey.js, a same-origin module, so the page's CSP stays at 'self' with no
 * inline script. Without WebAuthn (or without JavaScript) the button stays hidden and the form is
 * the way in. POST /login/passkey/options → the browser's passkey prompt → POST /login/passkey,
 * then on to the page the form would have gone to (`next`, or /).
 *
 * It stands alone (no React, no library: a couple of kilobytes for the login page): the options
 * and the assertion are WebAuthn Level 3 JSON, converted here as @simplewebauthn/browser (which
 * the account page uses) and PublicKeyCredential.parseRequestOptionsFromJSON / toJSON() do.
 */

interface RequestOptionsJSON {
  challenge: string;
  rpId?: string;
  timeout?: number;
  userVerification?: UserVerificationRequirement;
  allowCredentials?: Array<{ id: string; type: 'public-key'; transports?: AuthenticatorTransport[] }>;
}

function fromBase64url(value: string): ArrayBuffer {
  const base64 = value.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(value.length / 4) * 4, '=');
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

function toBase64url(buffer: ArrayBuffer): string {
  let binary = '';
  for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function requestOptions(json: RequestOptionsJSON): PublicKeyCredentialRequestOptions {
  return {
    challenge: fromBase64url(json.challenge),
    ...(json.rpId !== undefined ? { rpId: json.rpId } : {}),
    ...(json.timeout !== undefined ? { timeout: json.timeout } : {}),
    ...(json.userVerification !== undefined ? { userVerification: json.userVerification } : {}),
    allowCredentials: (json.allowCredentials ?? []).map((c) => ({ id: fromBase64url(c.id), type: c.type, ...(c.transports ? { transports: c.transports } : {}) })),
  };
}

/** The assertion as the server reads it (AuthenticationResponseJSON). */
function assertionJSON(credential: PublicKeyCredential) {
  const response = credential.response as AuthenticatorAssertionResponse;
  return {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    response: {
      clientDataJSON: toBase64url(response.clientDataJSON),
      authenticatorData: toBase64url(response.authenticatorData),
      signature: toBase64url(response.signature),
      userHandle: response.userHandle ? toBase64url(response.userHandle) : null,
    },
    clientExtensionResults: credential.getClientExtensionResults(),
    authenticatorAttachment: credential.authenticatorAttachment,
  };
}

const section = document.getElementById('passkey-sign-in');
const button = document.getElementById('passkey-button');
const errorLine = document.getElementById('passkey-error');
let busy = false;

class SignInError extends Error {}

/** A same-origin JSON POST (pre-session routes: the Origin rule guards them, no CSRF header). */
async function post<T>(path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new SignInError('Could not reach the server. Check your connection and try again.');
  }
  const parsed = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
  if (response.ok) return parsed as T;
  const code = parsed?.error?.code;
  if (code === 'invalid_credentials') throw new SignInError('That passkey could not sign you in. Try again, or log in with your password.');
  throw new SignInError(parsed?.error?.message ?? `The sign-in failed (HTTP ${response.status}).`);
}

/**
 * Where the form would have gone: the section's `data-next` (an app's sign-in request, which picks
 * up the new session), the form's `next` field, or /. The server wrote both already checked (a
 * same-origin path, or an address it allows), so only their shape is checked here.
 */
function nextPath(): string {
  const next = section?.dataset.next ?? document.querySelector<HTMLInputElement>('input[name="next"]')?.value ?? '/';
  if (next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\')) return next;
  return /^https?:\/\//i.test(next) ? next : '/';
}

function showError(message: string | null): void {
  if (!errorLine) return;
  errorLine.textContent = message ?? '';
  errorLine.hidden = message === null;
}

function setBusy(value: boolean): void {
  busy = value;
  if (!button) return;
  button.textContent = value ? 'Waiting for your passkey…' : 'Sign in with a passkey';
  if (value) button.setAttribute('aria-disabled', 'true');
  else button.removeAttribute('aria-disabled');
}

async function signIn(): Promise<void> {
  if (busy) return;
  setBusy(true);
  showError(null);
  try {
    const options = await post<RequestOptionsJSON>('/login/passkey/options');
    let credential: Credential | null;
    try {
      credential = await navigator.credentials.get({ publicKey: requestOptions(options) });
    } catch (error) {
      // Cancelled, timed out, or no passkey for this site: the person chose not to, or cannot.
      const cancelled = error instanceof DOMException && (error.name === 'NotAllowedError' || error.name === 'AbortError');
      throw new SignInError(cancelled ? 'The passkey sign-in was cancelled or timed out. Try again, or log in with your password.' : 'Your browser could not use a passkey here.');
    }
    if (!(credential instanceof PublicKeyCredential)) throw new SignInError('Your browser could not use a passkey here.');
    const response = assertionJSON(credential);
    const remember = document.querySelector<HTMLInputElement>('#field-remember')?.checked ?? false;
    await post('/login/passkey', { response, remember });
    window.location.assign(nextPath());
  } catch (error) {
    setBusy(false);
    showError(error instanceof SignInError ? error.message : 'Something went wrong. Try again.');
  }
}

if (section && button && typeof window.PublicKeyCredential === 'function' && navigator.credentials !== undefined) {
  section.hidden = false;
  button.addEventListener('click', () => void signIn());
}
