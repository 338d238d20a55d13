import type { Kysely, Migration } from 'kysely';
import type { DialectName } from '../database.js';

/**
 * Frozen once shipped: never edit, add a new migration instead.
 *
 * When the user's current email address was proven theirs (a verification link, a password reset,
 * an address set by the operator's CLI). Null: not verified, or no address.
 */
export function emailVerified(dialect: DialectName): Migration {
  const time = dialect === 'postgres' ? 'timestamptz' : 'text';

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are frozen in time, not typed by today's schema
  async function up(db: Kysely<any>): Promise<void> {
    await db.schema.alterTable('users').addColumn('email_verified_at', time).execute();
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
  async function down(db: Kysely<any>): Promise<void> {
    await db.schema.alterTable('users').dropColumn('email_verified_at').execute();
  }

  return { up, down };
}
