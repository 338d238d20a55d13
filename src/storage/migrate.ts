import { Migrator } from 'kysely';
import type { MigrationResultSet } from 'kysely';
import type { Storage } from './database.js';
import { migrationsFor } from './migrations/index.js';

/** Bring the schema to the latest version. Safe to call from several processes at once. */
export async function migrateToLatest(storage: Storage): Promise<MigrationResultSet> {
  const migrator = new Migrator({
    db: storage.db,
    provider: { getMigrations: async () => migrationsFor(storage.dialect) },
  });
  const result = await migrator.migrateToLatest();
  if (result.error) throw result.error instanceof Error ? result.error : new Error(String(result.error));
  return result;
}
