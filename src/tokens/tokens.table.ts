import type { Generated } from 'kysely';

/** One login by an external client; its id is the access tokens' `sid`. */
export interface RefreshFamiliesTable {
  id: string;
  user_id: number;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  revoked_reason: string | null;
  /** The last login or re-authentication of this token login; null: its creation. */
  authenticated_at?: string | null;
  /** How the login was proven (RFC 8176, space-separated); the access tokens of this login carry it as `amr`. Null: a password. */
  amr?: string | null;
  ip: string | null;
  user_agent: string | null;
}

export interface RefreshTokensTable {
  /** SHA-256 of the opaque refresh token. */
  token_hash: string;
  family_id: string;
  created_at: string;
  /** Set once, atomically, when the token is exchanged. */
  spent_at: string | null;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: string;
  /** JSON JWK, or `enc:v1:` + AES-256-GCM ciphertext when KEY_ENCRYPTION_SECRET is set. */
  private_jwk: string;
  /** When the key was made, and published in the JWKS. */
  created_at: string;
  /**
   * When the key starts signing: after `created_at` when it was rotated in, so verifiers that
   * cached the JWKS already know it. Null (keys made before this column): from `created_at`.
   */
  activates_at: string | null;
  /**
   * When a newer key takes over signing (in the future while that key is published but not yet
   * signing); verification continues until `retire_at`.
   */
  superseded_at: string | null;
  retire_at: string | null;
  /** What the key signs: `access` (access tokens; the default for rows made before this column) or `oidc` (ID tokens, RS256). */
  purpose: Generated<string>;
}
