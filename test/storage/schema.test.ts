// @requires postgres
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createStorage } from '../../src/storage/database.js';
import type { Storage } from '../../src/storage/database.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { TEST_OUTPUT } from '../helpers/app.js';
import { createTestDatabase, LOCAL_POSTGRES_URL } from '../helpers/database.js';
import type { TestDatabase } from '../helpers/database.js';
import { introspectPostgres, introspectSqlite } from './introspect.js';
import type { SchemaShape } from './introspect.js';

describe('the same migrations give the same schema on SQLite and PostgreSQL', () => {
  const databases: TestDatabase[] = [];
  const storages: Storage[] = [];
  let sqlite: SchemaShape;
  let postgres: SchemaShape;

  before(async () => {
    for (const admin of [undefined, process.env.TEST_POSTGRES_URL ?? LOCAL_POSTGRES_URL]) {
      const database = await createTestDatabase(admin, TEST_OUTPUT);
      databases.push(database);
      const storage = await createStorage(database.url);
      storages.push(storage);
      await migrateToLatest(storage);
    }
    sqlite = await introspectSqlite(storages[0]!);
    postgres = await introspectPostgres(storages[1]!);
  });
  after(async () => {
    for (const storage of storages) await storage.close();
    for (const database of databases) await database.drop();
  });

  it('has the same tables', () => {
    assert.deepEqual(Object.keys(postgres.tables).sort(), Object.keys(sqlite.tables).sort());
    assert.ok(Object.keys(sqlite.tables).length >= 9);
  });

  it('has the same columns, NOT NULL rules and type families in every table', () => {
    for (const table of Object.keys(sqlite.tables)) {
      assert.deepEqual(postgres.tables[table]?.columns, sqlite.tables[table]?.columns, table);
    }
  });

  it('stores time as timestamptz on PostgreSQL, never as text', () => {
    for (const [table, { columns }] of Object.entries(postgres.tables)) {
      for (const [column, { family }] of Object.entries(columns)) {
        if (/_at$|_after$/.test(column)) assert.equal(family, 'time', `${table}.${column}`);
      }
    }
  });

  it('has the same primary keys, unique indexes and plain indexes', () => {
    for (const table of Object.keys(sqlite.tables)) {
      const a = sqlite.tables[table]!;
      const b = postgres.tables[table]!;
      assert.deepEqual(b.primaryKey, a.primaryKey, `${table} primary key`);
      assert.deepEqual(b.uniques, a.uniques, `${table} unique indexes`);
      assert.deepEqual(b.indexes, a.indexes, `${table} indexes`);
    }
  });

  it('makes usernames and emails unique through their lower-cased columns', () => {
    assert.deepEqual(sqlite.tables.users?.uniques, ['email_normalized', 'username_normalized']);
    assert.deepEqual(postgres.tables.users?.uniques, ['email_normalized', 'username_normalized']);
  });

  it('has the same foreign keys, and every one cascades on delete', () => {
    for (const table of Object.keys(sqlite.tables)) {
      assert.deepEqual(postgres.tables[table]?.foreignKeys, sqlite.tables[table]?.foreignKeys, table);
    }
    const all = Object.entries(sqlite.tables).flatMap(([table, t]) => t.foreignKeys.map((fk) => `${table}.${fk}`));
    assert.deepEqual(all.sort(), [
      'bucketlists.owner_id -> users.id on delete cascade',
      'email_links.user_id -> users.id on delete cascade',
      'items.bucketlist_id -> bucketlists.id on delete cascade',
      'mfa_challenges.user_id -> users.id on delete cascade',
      'oidc_consents.client_id -> oidc_clients.client_id on delete cascade',
      'oidc_consents.user_id -> users.id on delete cascade',
      'oidc_payloads.account_id -> users.id on delete cascade',
      'oidc_payloads.client_id -> oidc_clients.client_id on delete cascade',
      'oidc_payloads.gatehouse_session_id -> sessions.id on delete cascade',
      'passkeys.user_id -> users.id on delete cascade',
      'password_credentials.user_id -> users.id on delete cascade',
      'recovery_codes.user_id -> users.id on delete cascade',
      'refresh_families.user_id -> users.id on delete cascade',
      'refresh_tokens.family_id -> refresh_families.id on delete cascade',
      'sessions.user_id -> users.id on delete cascade',
      'totp_credentials.user_id -> users.id on delete cascade',
      'webauthn_challenges.user_id -> users.id on delete cascade',
    ]);
    // The audit log outlives the users it mentions.
    assert.deepEqual(sqlite.tables.audit_events?.foreignKeys, []);
  });

  it('has the same check constraints', () => {
    for (const table of Object.keys(sqlite.tables)) {
      assert.deepEqual(postgres.tables[table]?.checks, sqlite.tables[table]?.checks, table);
    }
    assert.deepEqual(postgres.tables.users?.checks, ['users_role_check']);
  });
});
