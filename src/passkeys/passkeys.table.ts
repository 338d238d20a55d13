import type { ColumnType } from 'kysely';

/** A user's passkey (WebAuthn credential). */
export interface PasskeysTable {
  /** Our id (uuid): what the API shows and takes. */
  id: string;
  /** The authenticator's credential id, base64url; unique across all users. */
  credential_id: string;
  user_id: number;
  /** The COSE public key, base64url. */
  public_key: string;
  /** The signature counter last seen (bigint: PostgreSQL gives it back as a string). */
  counter: ColumnType<string | number, number | undefined, number>;
  /** JSON array of the transports the browser reported, or null. */
  transports: string | null;
  backup_eligible: boolean;
  backed_up: boolean;
  name: string;
  created_at: string;
  last_used_at: string | null;
}

/** A WebAuthn challenge, single-use, short-lived, readable by every instance. */
export interface WebauthnChallengesTable {
  /** The challenge itself, base64url (it is public: it travels in the options). */
  challenge: string;
  purpose: 'register' | 'sign-in';
  /** The registering user; null for a sign-in (discoverable credentials: the user is not known yet). */
  user_id: number | null;
  created_at: string;
  expires_at: string;
}
