import { sql } from 'kysely';
import type { Kysely, Migration } from 'kysely';
import type { DialectName } from '../database.js';

/**
 * Frozen once shipped: never edit, add a new migration instead.
 *
 * The links Gatehouse mails (email verification, password reset, email change): one live link per
 * user and purpose, so a new one replaces the row and voids the old token; a token is stored only
 * as its SHA-256 and spent by deleting its row. `users.created_via` tells accounts an operator
 * made with the CLI (exempt from REQUIRE_EMAIL_VERIFICATION) from signups.
 */
export function emailLinks(dialect: DialectName): Migration {
  const time = dialect === 'postgres' ? 'timestamptz' : 'text';

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are frozen in time, not typed by today's schema
  async function up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('email_links')
      .addColumn('token_hash', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('purpose', 'varchar(16)', (c) => c.notNull())
      .addColumn('email', 'varchar(254)', (c) => c.notNull())
      .addColumn('created_at', time, (c) => c.notNull())
      .addColumn('expires_at', time, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('email_links_user_purpose_key').on('email_links').columns(['user_id', 'purpose']).unique().execute();
    await db.schema.createIndex('email_links_expires_at_idx').on('email_links').column('expires_at').execute();
    await db.schema.alterTable('users').addColumn('created_via', 'varchar(16)', (c) => c.notNull().defaultTo('signup')).execute();
    // Accounts the CLI made before this migration (the first admin, usually) are exempt too: their
    // creation's audit row came from the CLI (user agent `gatehouse-cli`; `user_created` for admins).
    await sql`
      update users set created_via = 'cli'
      where id in (select user_id from audit_events
                   where user_id is not null and (event = 'user_created' or (event = 'signup' and user_agent = 'gatehouse-cli')))
    `.execute(db);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
  async function down(db: Kysely<any>): Promise<void> {
    await db.schema.alterTable('users').dropColumn('created_via').execute();
    await db.schema.dropTable('email_links').execute();
  }

  return { up, down };
}
