import type { Migration } from 'kysely';
import type { DialectName } from '../database.js';
import { initialSchema } from './20261201T0500-initial-schema.js';

/** Every migration in order. Listed, not scanned from a folder, so a build cannot miss one. */
export function migrationsFor(dialect: DialectName): Record<string, Migration> {
  return {
    '20261201T0500-initial-schema': initialSchema(dialect),
  };
}
