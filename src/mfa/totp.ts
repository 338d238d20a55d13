import { Secret, TOTP } from 'otpauth';

/** RFC 6238 as every authenticator app reads it: SHA-1, 6 digits, 30-second steps. */
const PERIOD_SECONDS = 30;

function totpOf(base32Secret: string, label = '', issuer = ''): TOTP {
  return new TOTP({ secret: Secret.fromBase32(base32Secret), algorithm: 'SHA1', digits: 6, period: PERIOD_SECONDS, label, issuer, issuerInLabel: true });
}

/** A new secret: 160 random bits (RFC 4226's recommendation), base32. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** The `otpauth://totp/Issuer:account?secret=…&issuer=…` URI an authenticator app scans. */
export function otpauthUri(base32Secret: string, account: string, issuer: string): string {
  return totpOf(base32Secret, account, issuer).toString();
}

/**
 * The time step a code belongs to, among T−1, T and T+1, or null. Whether that step may still be
 * used (it must be after the user's last accepted one) is the caller's conditional update.
 */
export function matchingStep(base32Secret: string, code: string, nowMs: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = totpOf(base32Secret).validate({ token: code, timestamp: nowMs, window: 1 });
  return delta === null ? null : Math.floor(nowMs / 1000 / PERIOD_SECONDS) + delta;
}

/** The code for a moment: for tests and the docs' examples, never used by the server to check. */
export function codeAt(base32Secret: string, nowMs: number): string {
  return totpOf(base32Secret).generate({ timestamp: nowMs });
}
