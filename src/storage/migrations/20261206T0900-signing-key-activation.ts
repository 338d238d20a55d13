import type { Kysely, Migration } from 'kysely';
import type { DialectName } from '../database.js';

/**
 * Frozen once shipped: never edit, add a new migration instead.
 * `signing_keys.activates_at`: when a key starts signing. A rotated key is published in the JWKS
 * from `created_at` and signs only from `activates_at`, so verifiers with a cached key set already
 * know it. Null (keys made before this migration): it signs from `created_at`.
 */
export function signingKeyActivation(dialect: DialectName): Migration {
  const time = dialect === 'postgres' ? 'timestamptz' : 'text';

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are frozen in time, not typed by today's schema
  async function up(db: Kysely<any>): Promise<void> {
    await db.schema.alterTable('signing_keys').addColumn('activates_at', time).execute();
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
  async function down(db: Kysely<any>): Promise<void> {
    await db.schema.alterTable('signing_keys').dropColumn('activates_at').execute();
  }

  return { up, down };
}
