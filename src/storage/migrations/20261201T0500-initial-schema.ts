import { sql } from 'kysely';
import type { Kysely, Migration } from 'kysely';
import type { DialectName } from '../database.js';

/**
 * Frozen once shipped: never edit, add a new migration instead.
 * Column types differ per dialect only where the databases do (time, booleans, identity).
 */
export function initialSchema(dialect: DialectName): Migration {
  const time = dialect === 'postgres' ? 'timestamptz' : 'text';
  const bool = dialect === 'postgres' ? 'boolean' : 'integer';

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are frozen in time, not typed by today's schema
  async function up(db: Kysely<any>): Promise<void> {
    const identity = dialect === 'postgres' ? ('serial' as const) : ('integer' as const);
    const withIdentity = <T extends { primaryKey(): T; autoIncrement(): T }>(col: T): T =>
      dialect === 'postgres' ? col.primaryKey() : col.primaryKey().autoIncrement();

    await db.schema
      .createTable('users')
      .addColumn('id', identity, withIdentity)
      .addColumn('username', 'varchar(32)', (c) => c.notNull())
      .addColumn('username_normalized', 'varchar(32)', (c) => c.notNull())
      .addColumn('email', 'varchar(254)')
      .addColumn('email_normalized', 'varchar(254)')
      .addColumn('role', 'varchar(16)', (c) => c.notNull().defaultTo('user'))
      .addColumn('disabled_at', time)
      .addColumn('tokens_valid_after', time)
      .addColumn('created_at', time, (c) => c.notNull())
      .addColumn('updated_at', time, (c) => c.notNull())
      .addCheckConstraint('users_role_check', sql`role in ('user', 'admin')`)
      .execute();
    await db.schema.createIndex('users_username_normalized_key').on('users').column('username_normalized').unique().execute();
    await db.schema.createIndex('users_email_normalized_key').on('users').column('email_normalized').unique().execute();
    await db.schema.createIndex('users_created_at_idx').on('users').columns(['created_at', 'id']).execute();

    await db.schema
      .createTable('password_credentials')
      .addColumn('user_id', 'integer', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
      .addColumn('password_hash', 'varchar(100)', (c) => c.notNull())
      .addColumn('updated_at', time, (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('sessions')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
      .addColumn('csrf_hash', 'varchar(64)', (c) => c.notNull())
      .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('persistent', bool, (c) => c.notNull())
      .addColumn('created_at', time, (c) => c.notNull())
      .addColumn('last_seen_at', time, (c) => c.notNull())
      .addColumn('idle_expires_at', time, (c) => c.notNull())
      .addColumn('expires_at', time, (c) => c.notNull())
      .addColumn('ip', 'varchar(64)')
      .addColumn('user_agent', 'varchar(512)')
      .execute();
    await db.schema.createIndex('sessions_user_id_idx').on('sessions').columns(['user_id', 'created_at']).execute();

    await db.schema
      .createTable('refresh_families')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('created_at', time, (c) => c.notNull())
      .addColumn('expires_at', time, (c) => c.notNull())
      .addColumn('revoked_at', time)
      .addColumn('revoked_reason', 'varchar(32)')
      .addColumn('ip', 'varchar(64)')
      .addColumn('user_agent', 'varchar(512)')
      .execute();
    await db.schema.createIndex('refresh_families_user_id_idx').on('refresh_families').column('user_id').execute();

    await db.schema
      .createTable('refresh_tokens')
      .addColumn('token_hash', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('family_id', 'varchar(36)', (c) => c.notNull().references('refresh_families.id').onDelete('cascade'))
      .addColumn('created_at', time, (c) => c.notNull())
      .addColumn('spent_at', time)
      .execute();
    await db.schema.createIndex('refresh_tokens_family_id_idx').on('refresh_tokens').column('family_id').execute();

    await db.schema
      .createTable('signing_keys')
      .addColumn('kid', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('alg', 'varchar(16)', (c) => c.notNull())
      .addColumn('public_jwk', 'text', (c) => c.notNull())
      .addColumn('private_jwk', 'text', (c) => c.notNull())
      .addColumn('created_at', time, (c) => c.notNull())
      .addColumn('superseded_at', time)
      .addColumn('retire_at', time)
      .execute();

    await db.schema
      .createTable('bucketlists')
      .addColumn('id', identity, withIdentity)
      .addColumn('owner_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('name', 'varchar(800)', (c) => c.notNull())
      .addColumn('created_at', time, (c) => c.notNull())
      .addColumn('updated_at', time, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('bucketlists_owner_id_idx').on('bucketlists').columns(['owner_id', 'id']).execute();

    await db.schema
      .createTable('items')
      .addColumn('id', identity, withIdentity)
      .addColumn('bucketlist_id', 'integer', (c) => c.notNull().references('bucketlists.id').onDelete('cascade'))
      .addColumn('name', 'varchar(800)', (c) => c.notNull())
      .addColumn('done', bool, (c) => c.notNull())
      .addColumn('created_at', time, (c) => c.notNull())
      .addColumn('updated_at', time, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('items_bucketlist_id_idx').on('items').columns(['bucketlist_id', 'id']).execute();

    await db.schema
      .createTable('audit_events')
      .addColumn('id', identity, withIdentity)
      .addColumn('occurred_at', time, (c) => c.notNull())
      .addColumn('event', 'varchar(64)', (c) => c.notNull())
      .addColumn('user_id', 'integer')
      .addColumn('username', 'varchar(32)')
      .addColumn('actor_id', 'integer')
      .addColumn('ip', 'varchar(64)')
      .addColumn('user_agent', 'varchar(512)')
      .addColumn('detail', 'text')
      .execute();
    await db.schema.createIndex('audit_events_occurred_at_idx').on('audit_events').columns(['occurred_at', 'id']).execute();
    await db.schema.createIndex('audit_events_user_id_idx').on('audit_events').column('user_id').execute();
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
  async function down(db: Kysely<any>): Promise<void> {
    for (const table of ['audit_events', 'items', 'bucketlists', 'signing_keys', 'refresh_tokens', 'refresh_families', 'sessions', 'password_credentials', 'users']) {
      await db.schema.dropTable(table).ifExists().execute();
    }
  }

  return { up, down };
}
