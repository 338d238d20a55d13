/** An app registered with the OpenID Connect provider (admin API or `gatehouse oidc-client create`). */
export interface OidcClientsTable {
  client_id: string;
  client_name: string;
  /** SHA-256 (hex) of the client secret, shown once at creation; null for a public client (`none`). */
  secret_hash: string | null;
  /** JSON array of exact redirect URIs. */
  redirect_uris: string;
  /** JSON array of exact post-logout redirect URIs (may be empty). */
  post_logout_redirect_uris: string;
  token_endpoint_auth_method: string;
  /** Gatehouse's own app: never asked for consent. */
  first_party: boolean;
  created_at: string;
}

/**
 * Everything oidc-provider stores, one row per model (`Grant`, `Session`, `AccessToken`,
 * `AuthorizationCode`, `RefreshToken`, `Interaction`, …) and id. The payload is the provider's
 * JSON; the other columns are what it is looked up, revoked and swept by.
 */
export interface OidcPayloadsTable {
  model: string;
  id: string;
  payload: string;
  grant_id: string | null;
  uid: string | null;
  user_code: string | null;
  /** The user (the provider's `accountId`); the row goes when the user does. */
  account_id: number | null;
  /** The client; the row goes when the client is deleted. */
  client_id: string | null;
  /** For the provider's sessions: the Gatehouse session it stands for; it ends with that session. */
  gatehouse_session_id: string | null;
  created_at: string;
  /** Never read after this time; swept by the housekeeping. Null: no expiry. */
  expires_at: string | null;
  /** Set once, when a code or refresh token is used: a second use is detected. */
  consumed_at: string | null;
}

/** What a user let an app see (space-separated scopes). Survives logouts; removed with the app's grant. */
export interface OidcConsentsTable {
  user_id: number;
  client_id: string;
  scopes: string;
  created_at: string;
  updated_at: string;
}
