import type { ColumnType, Generated } from 'kysely';

/** A user's authenticator app: the secret (encrypted with the signing keys' secret), pending until confirmed. */
export interface TotpCredentialsTable {
  user_id: number;
  secret_encrypted: string;
  /** Null while the enrolment waits for its first code. */
  confirmed_at: string | null;
  created_at: string;
}

/** Ten single-use codes per user, stored only as SHA-256 of their normalised form. */
export interface RecoveryCodesTable {
  id: Generated<number>;
  user_id: number;
  code_hash: string;
  used_at: string | null;
  created_at: string;
}

/** A login's second step: the password was right; the `mfa_token` (hashed here) waits for a code. */
export interface MfaChallengesTable {
  token_hash: string;
  user_id: number;
  /** Read with the password hash: the session or token login is stored only behind it. */
  credential_epoch: number;
  remember: boolean;
  failures: ColumnType<number, number | undefined, number>;
  created_at: string;
  expires_at: string;
}
