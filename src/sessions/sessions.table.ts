export interface SessionsTable {
  /** Public per-login id (uuid): what a sessions list, audit rows and token `sid` refer to. */
  id: string;
  /** SHA-256 of the cookie's secret; the secret itself is never stored. */
  token_hash: string;
  /** SHA-256 of the CSRF token bound to this session. */
  csrf_hash: string;
  user_id: number;
  persistent: boolean;
  created_at: string;
  last_seen_at: string;
  idle_expires_at: string;
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
  /** The last login or re-authentication of this session; null: its creation. */
  authenticated_at?: string | null;
  /** How the login was proven (RFC 8176 values, space-separated: `pwd`, `otp`, `hwk`, `mfa`); null: a password (rows before MFA). */
  amr?: string | null;
}
