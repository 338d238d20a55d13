import { apiRequest } from '../../lib/api';
import type { User } from '../../lib/types';

/** The contract's account routes (/api/me/sessions, /api/me/password, /api/me/email, DELETE /api/me), typed. */

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
  return apiRequest('GET', '/api/me/sessions', undefined, signal ? { signal } : {});
}

/** Sign out one session or token login; it stops working at once. 404 when it has already ended. */
export function endSignIn(id: string): Promise<void> {
  return apiRequest('DELETE', `/api/me/sessions/${encodeURIComponent(id)}`);
}

/** Sign out everywhere but here: how many sessions and token logins ended. */
export function endOtherSignIns(): Promise<{ revoked: number }> {
  return apiRequest('DELETE', '/api/me/sessions');
}

/**
 * Change the password. Every other session and token login ends; this browser session is
 * replaced by a new one (new cookies, a new CSRF token, which apiRequest reads per request).
 */
export function changePassword(body: { current_password: string; password: string; password_confirmation: string }): Promise<User> {
  return apiRequest('POST', '/api/me/password', body);
}

/**
 * Delete the account. Without a recent sign-in the server answers 403 reauthentication_required;
 * then the same request again with the password as `current_password`.
 */
export function deleteAccount(currentPassword?: string): Promise<void> {
  return apiRequest('DELETE', '/api/me', currentPassword !== undefined ? { current_password: currentPassword } : undefined);
}

/** Mail a new verification link to the account's address (it voids the one before). */
export function sendVerificationLink(): Promise<Record<string, never>> {
  return apiRequest('POST', '/api/me/email/verification', {});
}

/**
 * Ask to change the email address: the server mails a link to the new address, and the address
 * changes only when that link is opened. *Recent*: without a recent sign-in the server answers 403
 * reauthentication_required; then the same request again with the password as `current_password`.
 */
export function changeEmail(email: string, currentPassword?: string): Promise<{ pending_email: string }> {
  return apiRequest('POST', '/api/me/email', { email, ...(currentPassword !== undefined ? { current_password: currentPassword } : {}) });
}

/** Remove the email address at once (*recent*, as changeEmail). */
export function removeEmail(currentPassword?: string): Promise<User> {
  return apiRequest('POST', '/api/me/email', { email: null, ...(currentPassword !== undefined ? { current_password: currentPassword } : {}) });
}
