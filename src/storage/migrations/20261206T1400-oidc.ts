import type { Kysely, Migration } from 'kysely';
import type { DialectName } from '../database.js';

/**
 * Frozen once shipped: never edit, add a new migration instead.
 *
 * The OpenID Connect provider. `oidc_clients`: the apps registered by an admin (a confidential
 * client's secret only as a SHA-256). `oidc_payloads`: everything oidc-provider stores (grants,
 * codes, tokens, its sessions, interactions, …), one row per model and id, its payload as JSON text
 * beside the columns it is looked up by; a row whose `expires_at` has passed is never read and is
 * swept. Rows end with their user, their client, and — for the provider's own sessions — the
 * Gatehouse session they stand for. `oidc_consents`: what a user let each app see; kept across
 * logouts, forgotten when the user removes the app. `signing_keys.purpose`: `oidc` keys sign ID
 * tokens, `access` keys (every key before this migration) Gatehouse's access tokens.
 */
export function oidc(dialect: DialectName): Migration {
  const time = dialect === 'postgres' ? 'timestamptz' : 'text';
  const bool = dialect === 'postgres' ? 'boolean' : 'integer';

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are frozen in time, not typed by today's schema
  async function up(db: Kysely<any>): Promise<void> {
    await db.schema.alterTable('signing_keys').addColumn('purpose', 'varchar(16)', (c) => c.notNull().defaultTo('access')).execute();

    await db.schema
      .createTable('oidc_clients')
      .addColumn('client_id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('client_name', 'varchar(200)', (c) => c.notNull())
      .addColumn('secret_hash', 'varchar(64)')
      .addColumn('redirect_uris', 'text', (c) => c.notNull())
      .addColumn('post_logout_redirect_uris', 'text', (c) => c.notNull())
      .addColumn('token_endpoint_auth_method', 'varchar(32)', (c) => c.notNull())
      .addColumn('first_party', bool, (c) => c.notNull())
      .addColumn('created_at', time, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('oidc_clients_created_at_idx').on('oidc_clients').columns(['created_at', 'client_id']).execute();

    await db.schema
      .createTable('oidc_payloads')
      .addColumn('model', 'varchar(40)', (c) => c.notNull())
      .addColumn('id', 'varchar(255)', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('grant_id', 'varchar(255)')
      .addColumn('uid', 'varchar(255)')
      .addColumn('user_code', 'varchar(255)')
      .addColumn('account_id', 'integer', (c) => c.references('users.id').onDelete('cascade'))
      .addColumn('client_id', 'varchar(64)', (c) => c.references('oidc_clients.client_id').onDelete('cascade'))
      .addColumn('gatehouse_session_id', 'varchar(36)', (c) => c.references('sessions.id').onDelete('cascade'))
      .addColumn('created_at', time, (c) => c.notNull())
      .addColumn('expires_at', time)
      .addColumn('consumed_at', time)
      .addPrimaryKeyConstraint('oidc_payloads_pkey', ['model', 'id'])
      .execute();
    await db.schema.createIndex('oidc_payloads_grant_id_idx').on('oidc_payloads').columns(['grant_id']).execute();
    await db.schema.createIndex('oidc_payloads_uid_idx').on('oidc_payloads').columns(['uid']).execute();
    await db.schema.createIndex('oidc_payloads_user_code_idx').on('oidc_payloads').columns(['user_code']).execute();
    await db.schema.createIndex('oidc_payloads_account_client_idx').on('oidc_payloads').columns(['account_id', 'client_id']).execute();
    await db.schema.createIndex('oidc_payloads_client_id_idx').on('oidc_payloads').columns(['client_id']).execute();
    await db.schema.createIndex('oidc_payloads_gatehouse_session_id_idx').on('oidc_payloads').columns(['gatehouse_session_id']).execute();
    await db.schema.createIndex('oidc_payloads_expires_at_idx').on('oidc_payloads').columns(['expires_at']).execute();

    await db.schema
      .createTable('oidc_consents')
      .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('client_id', 'varchar(64)', (c) => c.notNull().references('oidc_clients.client_id').onDelete('cascade'))
      .addColumn('scopes', 'varchar(512)', (c) => c.notNull())
      .addColumn('created_at', time, (c) => c.notNull())
      .addColumn('updated_at', time, (c) => c.notNull())
      .addPrimaryKeyConstraint('oidc_consents_pkey', ['user_id', 'client_id'])
      .execute();
    await db.schema.createIndex('oidc_consents_client_id_idx').on('oidc_consents').columns(['client_id']).execute();
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
  async function down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('oidc_consents').execute();
    await db.schema.dropTable('oidc_payloads').execute();
    await db.schema.dropTable('oidc_clients').execute();
    await db.schema.alterTable('signing_keys').dropColumn('purpose').execute();
  }

  return { up, down };
}
