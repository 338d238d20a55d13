import { api, call, recentBody } from '../../lib/api';
import type { User } from '../../lib/types';

/** The contract's account routes (/api/me/sessions, /api/me/password, /api/me/email, DELETE /api/me), through the typed client. */

/** One browser session or token login of the signed-in user (GET /api/me/sessions). */
export interface SignIn {
  id: string;
  kind: 'browser' | 'token';
  /** The sign-in this request came with: this browser. */
  current: boolean;
  created_at: string;
  last_seen_at: string;
  expires_at: string | null;
  ip: string | null;
  user_agent: string | null;
}

export function listSignIns(signal?: AbortSignal): Promise<{ items: SignIn[] }> {
  return call(api.GET('/api/me/sessions', { signal }));
}

/** Sign out one session or token login; it stops working at once. 404 when it has already ended. */
export function endSignIn(id: string): Promise<void> {
  return call(api.DELETE('/api/me/sessions/{id}', { params: { path: { id } } }));
}

/** Sign out everywhere but here: how many sessions and token logins ended. */
export function endOtherSignIns(): Promise<{ revoked: number }> {
  return call(api.DELETE('/api/me/sessions'));
}

/**
 * Change the password. Every other session and token login ends; this browser session is
 * replaced by a new one (new cookies, a new CSRF token, which the client reads per request).
 */
export function changePassword(body: { current_password: string; password: string; password_confirmation: string }): Promise<User> {
  return call(api.POST('/api/me/password', { body }));
}

/**
 * Delete the account. Without a recent sign-in the server answers 403 reauthentication_required;
 * then the same request again with the password as `current_password`.
 */
export function deleteAccount(currentPassword?: string): Promise<void> {
  return call(api.DELETE('/api/me', recentBody(currentPassword)));
}

/** Mail a new verification link to the account's address (it voids the one before). */
export function sendVerificationLink(): Promise<Record<string, never>> {
  return call(api.POST('/api/me/email/verification'));
}

/**
 * Ask to change the email address: the server mails a link to the new address, and the address
 * changes only when that link is opened. *Recent*: without a recent sign-in the server answers 403
 * reauthentication_required; then the same request again with the password as `current_password`.
 */
export async function changeEmail(email: string, currentPassword?: string): Promise<{ pending_email: string }> {
  const answer = await call(api.POST('/api/me/email', { body: { email, ...(currentPassword !== undefined ? { current_password: currentPassword } : {}) } }));
  // An address is answered 202 {pending_email}; the 200 answer (the user) is null's, removeEmail's.
  return answer as { pending_email: string };
}

/** Remove the email address at once (*recent*, as changeEmail). */
export async function removeEmail(currentPassword?: string): Promise<User> {
  const answer = await call(api.POST('/api/me/email', { body: { email: null, ...(currentPassword !== undefined ? { current_password: currentPassword } : {}) } }));
  return answer as User;
}
