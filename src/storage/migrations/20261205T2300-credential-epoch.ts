import type { Kysely, Migration } from 'kysely';
import type { DialectName } from '../database.js';

/**
 * Frozen once shipped: never edit, add a new migration instead.
 *
 * `users.credential_epoch` grows with every change that must end the user's logins (password set,
 * account disabled). A login reads it with the password hash and starts its session or token
 * login only while it is unchanged, so a login in flight cannot outlive such a change.
 *
 * `row_locks` holds one row per guard that a read-then-write decision needs on every database
 * (the last active admin): a transaction that updates the guard's row first runs alone.
 */
export function credentialEpoch(_dialect: DialectName): Migration {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are frozen in time, not typed by today's schema
  async function up(db: Kysely<any>): Promise<void> {
    await db.schema
      .alterTable('users')
      .addColumn('credential_epoch', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .createTable('row_locks')
      .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
      .execute();
    await db.insertInto('row_locks').values({ name: 'admins' }).execute();
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
  async function down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('row_locks').ifExists().execute();
    await db.schema.alterTable('users').dropColumn('credential_epoch').execute();
  }

  return { up, down };
}
