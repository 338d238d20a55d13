import type { Kysely } from 'kysely';
import type { EmailLinksTable, PasswordCredentialsTable, RowLocksTable, UsersTable } from '../accounts/accounts.table.js';
import type { AuditEventsTable } from '../audit/audit.table.js';
import type { BucketlistsTable, ItemsTable } from '../bucketlists/bucketlists.table.js';
import type { MfaChallengesTable, RecoveryCodesTable, TotpCredentialsTable } from '../mfa/mfa.table.js';
import type { OidcClientsTable, OidcConsentsTable, OidcPayloadsTable } from '../oidc/oidc.table.js';
import type { PasskeysTable, WebauthnChallengesTable } from '../passkeys/passkeys.table.js';
import type { SessionsTable } from '../sessions/sessions.table.js';
import type { RefreshFamiliesTable, RefreshTokensTable, SigningKeysTable } from '../tokens/tokens.table.js';

/** Every table, as the *.table.ts files of each domain describe it. */
export interface Database {
  users: UsersTable;
  password_credentials: PasswordCredentialsTable;
  sessions: SessionsTable;
  refresh_families: RefreshFamiliesTable;
  refresh_tokens: RefreshTokensTable;
  signing_keys: SigningKeysTable;
  bucketlists: BucketlistsTable;
  items: ItemsTable;
  audit_events: AuditEventsTable;
  row_locks: RowLocksTable;
  email_links: EmailLinksTable;
  totp_credentials: TotpCredentialsTable;
  recovery_codes: RecoveryCodesTable;
  mfa_challenges: MfaChallengesTable;
  passkeys: PasskeysTable;
  webauthn_challenges: WebauthnChallengesTable;
  oidc_clients: OidcClientsTable;
  oidc_payloads: OidcPayloadsTable;
  oidc_consents: OidcConsentsTable;
}

export type DialectName = 'sqlite' | 'postgres';

export type Db = Kysely<Database>;

export interface PoolStats {
  /** Open connections, busy or idle. */
  total: number;
  idle: number;
  /** Queries waiting for a connection. */
  waiting: number;
  max: number;
}

/** An open database: the query builder plus what the dialect needs to be closed and probed. */
export interface Storage {
  db: Db;
  dialect: DialectName;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  /** Connection pool use, for metrics; null where there is no pool (SQLite: one connection per process). */
  poolStats(): PoolStats | null;
  close(): Promise<void>;
}
