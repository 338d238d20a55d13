import { startRegistration } from '@simplewebauthn/browser';
import type { PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/browser';
import { api, call, recentBody } from '../../lib/api';

/** The contract's passkey routes (/api/me/passkeys), through the typed client. */

/** One of the signed-in user's passkeys (GET /api/me/passkeys). */
export interface Passkey {
  id: string;
  name: string;
  created_at: string;
  /** null until it is first used to sign in or confirm it is you. */
  last_used_at: string | null;
}

/** Longest name the server takes, in characters after trimming. */
export const PASSKEY_NAME_MAX = 100;

export function listPasskeys(signal?: AbortSignal): Promise<{ items: Passkey[] }> {
  return call(api.GET('/api/me/passkeys', { signal }));
}

/** Thrown when the browser's passkey prompt ends without a passkey (cancelled, timed out, refused). */
export class CeremonyError extends Error {}

/**
 * Add a passkey: creation options (*recent*: without a recent sign-in the server answers 403
 * reauthentication_required; then again with the password as `current_password`), the browser's
 * prompt, then the new credential with its name (blank: the server picks one).
 */
export async function addPasskey(name: string, currentPassword?: string): Promise<Passkey> {
  const optionsJSON = await call(api.POST('/api/me/passkeys/options', { body: currentPassword !== undefined ? { current_password: currentPassword } : {} }));
  let response: Awaited<ReturnType<typeof startRegistration>>;
  try {
    // The document types the options' WebAuthn enums (`type: "public-key"`…) as plain strings.
    response = await startRegistration({ optionsJSON: optionsJSON as PublicKeyCredentialCreationOptionsJSON });
  } catch (error) {
    const known = error instanceof Error && /InvalidStateError|ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED/.test(`${error.name} ${(error as { code?: string }).code ?? ''}`);
    throw new CeremonyError(known ? 'This device already holds a passkey for your account.' : 'No passkey was made: the prompt was cancelled or timed out.');
  }
  // Copied into plain objects: the library's interfaces lack the index signature of the schema's open objects.
  const credential = { ...response, response: { ...response.response }, clientExtensionResults: { ...response.clientExtensionResults } };
  return call(api.POST('/api/me/passkeys', { body: { response: credential, ...(name.trim() ? { name: name.trim() } : {}) } }));
}

export function renamePasskey(id: string, name: string): Promise<Passkey> {
  return call(api.PATCH('/api/me/passkeys/{id}', { params: { path: { id } }, body: { name } }));
}

/** Remove a passkey (*recent*, as addPasskey). 404 when it is gone already. */
export function removePasskey(id: string, currentPassword?: string): Promise<void> {
  return call(api.DELETE('/api/me/passkeys/{id}', { params: { path: { id } }, ...recentBody(currentPassword) }));
}
