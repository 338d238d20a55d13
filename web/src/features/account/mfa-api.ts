import { api, call, recentBody } from '../../lib/api';

/**
 * The contract's TOTP routes (/api/me/mfa…), through the typed client. The *recent* ones answer 403
 * reauthentication_required without a recent sign-in; then the same request again with the
 * password as `current_password`.
 */

export interface MfaStatus {
  totp: boolean;
  recovery_codes_left: number;
  passkeys: number;
}

const withPassword = (currentPassword?: string) => (currentPassword !== undefined ? { current_password: currentPassword } : {});

export function getMfaStatus(signal?: AbortSignal): Promise<MfaStatus> {
  return call(api.GET('/api/me/mfa', { signal }));
}

/** A new secret for an authenticator app, pending until confirmed with its first code (*recent*). */
export function startTotp(currentPassword?: string): Promise<{ secret: string; otpauth_uri: string }> {
  return call(api.POST('/api/me/mfa/totp', { body: withPassword(currentPassword) }));
}

/** The app's first code turns TOTP on; the answer holds the recovery codes, shown this once. */
export function confirmTotp(code: string): Promise<{ recovery_codes: string[] }> {
  return call(api.POST('/api/me/mfa/totp/confirm', { body: { code } }));
}

/** TOTP and the recovery codes go (*recent*). */
export function disableTotp(currentPassword?: string): Promise<void> {
  return call(api.DELETE('/api/me/mfa/totp', recentBody(currentPassword)));
}

/** A new set of recovery codes; the old set stops working (*recent*). */
export function newRecoveryCodes(currentPassword?: string): Promise<{ recovery_codes: string[] }> {
  return call(api.POST('/api/me/mfa/recovery-codes', { body: withPassword(currentPassword) }));
}
