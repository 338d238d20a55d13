import type { Kysely, Migration } from 'kysely';
import type { DialectName } from '../database.js';

/**
 * Frozen once shipped: never edit, add a new migration instead.
 *
 * Second factors and passkeys. TOTP secrets are stored encrypted; recovery codes and the login's
 * second-step tokens only as hashes. `users.totp_last_step` is the last accepted time step: kept
 * across re-enrolment, it makes every code work once (RFC 6238 §5.2), decided by one conditional
 * UPDATE. WebAuthn challenges live in the database so any instance can finish a ceremony another
 * began. `amr` on sessions and token logins: how the login was proven (RFC 8176 values).
 */
export function secondFactors(dialect: DialectName): Migration {
  const time = dialect === 'postgres' ? 'timestamptz' : 'text';
  const bool = dialect === 'postgres' ? 'boolean' : 'integer';

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are frozen in time, not typed by today's schema
  async function up(db: Kysely<any>): Promise<void> {
    const identity = dialect === 'postgres' ? ('serial' as const) : ('integer' as const);
    const withIdentity = <T extends { primaryKey(): T; autoIncrement(): T }>(col: T): T =>
      dialect === 'postgres' ? col.primaryKey() : col.primaryKey().autoIncrement();

    await db.schema.alterTable('users').addColumn('totp_last_step', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.alterTable('sessions').addColumn('amr', 'varchar(64)').execute();
    await db.schema.alterTable('refresh_families').addColumn('amr', 'varchar(64)').execute();

    await db.schema
      .createTable('totp_credentials')
      .addColumn('user_id', 'integer', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
      .addColumn('secret_encrypted', 'varchar(512)', (c) => c.notNull())
      .addColumn('confirmed_at', time)
      .addColumn('created_at', time, (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('recovery_codes')
      .addColumn('id', identity, withIdentity)
      .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('code_hash', 'varchar(64)', (c) => c.notNull())
      .addColumn('used_at', time)
      .addColumn('created_at', time, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('recovery_codes_user_code_key').on('recovery_codes').columns(['user_id', 'code_hash']).unique().execute();

    await db.schema
      .createTable('mfa_challenges')
      .addColumn('token_hash', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('credential_epoch', 'integer', (c) => c.notNull())
      .addColumn('remember', bool, (c) => c.notNull())
      .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', time, (c) => c.notNull())
      .addColumn('expires_at', time, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('mfa_challenges_expires_at_idx').on('mfa_challenges').column('expires_at').execute();

    await db.schema
      .createTable('passkeys')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('credential_id', 'varchar(1400)', (c) => c.notNull())
      .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('public_key', 'text', (c) => c.notNull())
      .addColumn('counter', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('transports', 'varchar(200)')
      .addColumn('backup_eligible', bool, (c) => c.notNull())
      .addColumn('backed_up', bool, (c) => c.notNull())
      .addColumn('name', 'varchar(100)', (c) => c.notNull())
      .addColumn('created_at', time, (c) => c.notNull())
      .addColumn('last_used_at', time)
      .execute();
    await db.schema.createIndex('passkeys_credential_id_key').on('passkeys').column('credential_id').unique().execute();
    await db.schema.createIndex('passkeys_user_id_idx').on('passkeys').columns(['user_id', 'created_at']).execute();

    await db.schema
      .createTable('webauthn_challenges')
      .addColumn('challenge', 'varchar(128)', (c) => c.primaryKey())
      .addColumn('purpose', 'varchar(16)', (c) => c.notNull())
      .addColumn('user_id', 'integer', (c) => c.references('users.id').onDelete('cascade'))
      .addColumn('created_at', time, (c) => c.notNull())
      .addColumn('expires_at', time, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('webauthn_challenges_user_purpose_key').on('webauthn_challenges').columns(['user_id', 'purpose']).unique().execute();
    await db.schema.createIndex('webauthn_challenges_expires_at_idx').on('webauthn_challenges').column('expires_at').execute();
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
  async function down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('webauthn_challenges').execute();
    await db.schema.dropTable('passkeys').execute();
    await db.schema.dropTable('mfa_challenges').execute();
    await db.schema.dropTable('recovery_codes').execute();
    await db.schema.dropTable('totp_credentials').execute();
    await db.schema.alterTable('refresh_families').dropColumn('amr').execute();
    await db.schema.alterTable('sessions').dropColumn('amr').execute();
    await db.schema.alterTable('users').dropColumn('totp_last_step').execute();
  }

  return { up, down };
}
