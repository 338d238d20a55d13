import type { ColumnType, Generated } from 'kysely';

export type Role = 'user' | 'admin';

/** How an account was made: signing up, the operator's CLI, or an admin (the console, POST /api/admin/users). */
export type CreatedVia = 'signup' | 'cli' | 'admin';

export interface UsersTable {
  id: Generated<number>;
  /** As the user typed it. */
  username: string;
  /** Lower-cased: the unique key, so "Alice" and "alice" are one account. */
  username_normalized: string;
  email: string | null;
  email_normalized: string | null;
  /** When the current address was proven the user's; null: not verified, or no address. */
  email_verified_at: ColumnType<string | null, string | null | undefined, string | null>;
  role: Role;
  disabled_at: string | null;
  /** Access tokens issued before this instant are refused (password change, disable, logout-all). */
  tokens_valid_after: string | null;
  /** Grows with each change that ends every login (password set, disabled); see accounts.repo.ts. */
  credential_epoch: Generated<number>;
  /** `cli`: made by an operator (exempt from REQUIRE_EMAIL_VERIFICATION); `signup`: everyone else. */
  created_via: ColumnType<CreatedVia, CreatedVia | undefined, never>;
  /** The last accepted TOTP time step (0: none): a code at or before it is refused. bigint: a string on PostgreSQL. */
  totp_last_step: ColumnType<string | number, number | undefined, number>;
  created_at: string;
  updated_at: string;
}

/** Kept apart from users so passkeys and TOTP can sit beside passwords later. */
export interface PasswordCredentialsTable {
  user_id: number;
  password_hash: string;
  updated_at: string;
}

/** One row per guard that serialises a read-then-write decision on every database. */
export interface RowLocksTable {
  name: string;
}

export type EmailLinkPurpose = 'verify-email' | 'password-reset' | 'email-change';

/** One live mailed link per user and purpose (a new one replaces the row: the old token is void). */
export interface EmailLinksTable {
  /** SHA-256 of the token; the token itself is only ever in the mail. */
  token_hash: string;
  user_id: number;
  purpose: EmailLinkPurpose;
  /** The address the link was sent to (for an email change, the new address). */
  email: string;
  created_at: string;
  expires_at: string;
}
