import type { Kysely, Migration } from 'kysely';
import type { DialectName } from '../database.js';

/**
 * Frozen once shipped: never edit, add a new migration instead.
 *
 * When a browser session or a token login last proved its user (a login, or a re-authentication):
 * the routes that change the account ask for that to be recent. Null means "at creation", so rows
 * made before this migration need no rewrite.
 */
export function recentAuthentication(dialect: DialectName): Migration {
  const time = dialect === 'postgres' ? 'timestamptz' : 'text';

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are frozen in time, not typed by today's schema
  async function up(db: Kysely<any>): Promise<void> {
    await db.schema.alterTable('sessions').addColumn('authenticated_at', time).execute();
    await db.schema.alterTable('refresh_families').addColumn('authenticated_at', time).execute();
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
  async function down(db: Kysely<any>): Promise<void> {
    await db.schema.alterTable('refresh_families').dropColumn('authenticated_at').execute();
    await db.schema.alterTable('sessions').dropColumn('authenticated_at').execute();
  }

  return { up, down };
}
