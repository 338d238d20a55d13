import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as accounts from '../../src/accounts/accounts.repo.js';
import * as links from '../../src/accounts/email-links.repo.js';
import * as oidcClients from '../../src/oidc/oidc-clients.repo.js';
import { OidcGrantService } from '../../src/oidc/grants.service.js';
import { bindProviderSession, deleteExpiredPayloads, OidcStorageAdapter } from '../../src/oidc/oidc-payloads.repo.js';
import { listAudit, recordAudit } from '../../src/audit/audit.repo.js';
import * as sessions from '../../src/sessions/sessions.repo.js';
import { createStorage, UniqueViolationError } from '../../src/storage/database.js';
import type { Storage } from '../../src/storage/database.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import * as tokens from '../../src/tokens/tokens.repo.js';
import { TEST_OUTPUT } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/database.js';
import type { TestDatabase } from '../helpers/database.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/**
 * One conformance suite for every storage backend: the repository queries the app runs behave
 * the same on SQLite and PostgreSQL (types that come back, uniqueness, cascades, escapes, races).
 */
export function storageConformance(dialect: 'sqlite' | 'postgres', adminUrl: string | undefined): void {
  describe(`storage conformance: ${dialect}`, () => {
    let database: TestDatabase;
    let storage: Storage;
    let n = 0;
    const now = '2026-12-01T05:00:00.123Z';

    async function user(name = `user${(n += 1)}`, email: string | null = null) {
      return accounts.insertUser(storage.db, { username: name, email, role: 'user', passwordHash: '$2b$04$hash', now });
    }

    before(async () => {
      database = await createTestDatabase(adminUrl, TEST_OUTPUT);
      storage = await createStorage(database.url);
      assert.equal(storage.dialect, dialect);
      await migrateToLatest(storage);
    });
    after(async () => {
      await storage.close();
      await database.drop();
    });

    it('migrates twice without error (the second run is a no-op)', async () => {
      const result = await migrateToLatest(storage);
      assert.deepEqual(result.results, []);
    });

    it('gives ids as numbers and timestamps back exactly as stored (ISO 8601 UTC)', async () => {
      const created = await user('TimeKeeper', 'Time@Example.com');
      assert.equal(typeof created.id, 'number');
      const found = await accounts.findUserById(storage.db, created.id);
      assert.equal(found?.createdAt, now);
      assert.match(found?.createdAt ?? '', ISO);
      assert.equal(found?.username, 'TimeKeeper', 'shown as typed');
      assert.equal(found?.email, 'Time@Example.com');
      assert.equal(found?.disabled, false);
    });

    it('refuses a username or email that differs only in case, naming the column', async () => {
      await user('CaseCheck', 'Case@Example.com');
      for (const [name, email, column] of [
        ['CASECHECK', null, 'username'],
        ['other_case', 'case@example.COM', 'email'],
      ] as const) {
        const error = await user(name, email).then(
          () => null,
          (e: unknown) => e,
        );
        assert.ok(error instanceof UniqueViolationError, `${name} must violate a unique index`);
        assert.ok(error.constraint.includes(column), error.constraint);
      }
      const taken = await accounts.usernameOrEmailTaken(storage.db, 'casecheck', 'CASE@example.com');
      assert.deepEqual(taken, { username: true, email: true });
    });

    it('allows any number of users without an email', async () => {
      await user(undefined, null);
      await user(undefined, null);
    });

    it('finds a login by username or email, case-insensitively, with the hash', async () => {
      const created = await user('LoginMe', 'login.me@example.com');
      for (const identifier of ['loginme', 'LOGINME', 'Login.Me@Example.com']) {
        const found = await accounts.findUserForLogin(storage.db, identifier);
        assert.equal(found?.user.id, created.id, identifier);
        assert.equal(found?.passwordHash, '$2b$04$hash');
      }
    });

    it('treats % and _ in a user search as plain characters', async () => {
      await user('pct_a');
      await user('pctxa');
      const underscore = await accounts.listUsers(storage.db, { q: 't_a', limit: 10, page: 1 });
      assert.deepEqual(underscore.items.map((u) => u.username), ['pct_a']);
      assert.equal(underscore.total, 1);
      const percent = await accounts.listUsers(storage.db, { q: '%', limit: 10, page: 1 });
      assert.equal(percent.total, 0);
      const backslash = await accounts.listUsers(storage.db, { q: '\\', limit: 10, page: 1 });
      assert.equal(backslash.total, 0);
      const both = await accounts.listUsers(storage.db, { q: 'PCT', limit: 1, page: 2 });
      assert.equal(both.total, 2, 'case-insensitive, counted as a number');
      assert.equal(both.items.length, 1);
    });

    it('survives a NUL character in input: a login lookup is a miss, not an error', async () => {
      assert.equal(await accounts.findUserForLogin(storage.db, 'nul\u0000name'), null);
      const list = await accounts.listUsers(storage.db, { q: 'a\u0000', limit: 10, page: 1 });
      assert.equal(list.total, 0);
      const created = await user('nul_email', 'nul\u0000@example.com');
      assert.equal(typeof created.id, 'number');
    });

    it('counts as numbers: active admins, deleted sessions', async () => {
      const admin = await accounts.insertUser(storage.db, { username: `admin${(n += 1)}`, email: null, role: 'admin', passwordHash: 'x', now });
      assert.equal(await accounts.countActiveAdmins(storage.db), 1);
      await accounts.updateUser(storage.db, admin.id, { disabledAt: now, now });
      assert.equal(await accounts.countActiveAdmins(storage.db), 0);
      const owner = await user();
      for (const persistent of [true, false]) await sessions.insertSession(storage.db, session(owner.id, persistent));
      assert.equal(await sessions.deleteSessionsOfUser(storage.db, owner.id), 2);
    });

    it('stores booleans and gives them back as booleans', async () => {
      const owner = await user();
      const remembered = session(owner.id, true);
      const forgotten = session(owner.id, false);
      await sessions.insertSession(storage.db, remembered);
      await sessions.insertSession(storage.db, forgotten);
      assert.equal((await sessions.findSessionByTokenHash(storage.db, remembered.token_hash))?.persistent, true);
      assert.equal((await sessions.findSessionByTokenHash(storage.db, forgotten.token_hash))?.persistent, false);
      const list = await storage.db.insertInto('bucketlists').values({ owner_id: owner.id, name: 'b', created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow();
      await storage.db.insertInto('items').values({ bucketlist_id: list.id, name: 'i', done: true, created_at: now, updated_at: now }).execute();
      const item = await storage.db.selectFrom('items').select('done').where('bucketlist_id', '=', list.id).executeTakeFirstOrThrow();
      assert.equal(Boolean(item.done), true);
    });

    it('upserts a password hash', async () => {
      const owner = await user();
      await accounts.setPasswordHash(storage.db, owner.id, 'second', now);
      assert.equal((await accounts.findUserForLogin(storage.db, owner.username))?.passwordHash, 'second');
    });

    it('compares timestamps as instants: expired sessions are swept, live ones counted', async () => {
      const owner = await user();
      const live = { ...session(owner.id, false), expires_at: '2099-01-01T00:00:00.000Z', idle_expires_at: '2099-01-01T00:00:00.000Z' };
      const dead = { ...session(owner.id, false), idle_expires_at: '2026-12-01T04:59:59.999Z' };
      await sessions.insertSession(storage.db, live);
      await sessions.insertSession(storage.db, dead);
      const before = await sessions.countActiveSessions(storage.db, now);
      assert.ok(before >= 1);
      assert.ok((await sessions.deleteExpiredSessions(storage.db, now)) >= 1);
      assert.equal(await sessions.findSessionByTokenHash(storage.db, dead.token_hash), null);
      assert.ok(await sessions.findSessionByTokenHash(storage.db, live.token_hash));
    });

    it('keeps only the newest sessions of a user when trimming', async () => {
      const owner = await user();
      const ids: string[] = [];
      for (let i = 0; i < 4; i += 1) {
        const s = { ...session(owner.id, false), created_at: `2026-12-01T05:00:0${i}.000Z` };
        ids.push(s.id);
        await sessions.insertSession(storage.db, s);
      }
      await sessions.trimSessionsOfUser(storage.db, owner.id, 2);
      const left = await storage.db.selectFrom('sessions').select('id').where('user_id', '=', owner.id).execute();
      assert.deepEqual(left.map((r) => r.id).sort(), ids.slice(2).sort());
    });

    it('lets exactly one of many concurrent spenders spend a refresh token', async () => {
      const owner = await user();
      const family = randomUUID();
      await tokens.insertFamily(storage.db, { id: family, userId: owner.id, now, expiresAt: '2099-01-01T00:00:00.000Z', ip: null, userAgent: null, amr: 'pwd' });
      await tokens.insertRefreshToken(storage.db, `hash-${family}`, family, now);
      const results = await Promise.all(Array.from({ length: 8 }, () => tokens.spendRefreshToken(storage.db, `hash-${family}`, now)));
      assert.equal(results.filter(Boolean).length, 1);
      assert.deepEqual(await tokens.revokeFamily(storage.db, family, 'test', now), { userId: owner.id });
      assert.equal(await tokens.revokeFamily(storage.db, family, 'test', now), null, 'a second revoke changes nothing');
      assert.equal((await tokens.findLoginState(storage.db, family))?.familyRevoked, true);
    });

    it('keeps one live mailed link per user and purpose: a new one replaces the old in one upsert', async () => {
      const owner = await user();
      const later = '2099-01-01T00:00:00.000Z';
      const save = (tokenHash: string, purpose: 'verify-email' | 'password-reset') =>
        links.saveLink(storage.db, { userId: owner.id, purpose, email: 'a@example.com', tokenHash, now, expiresAt: later });
      await save(`old-${owner.id}`, 'verify-email');
      await save(`reset-${owner.id}`, 'password-reset');
      await save(`new-${owner.id}`, 'verify-email');
      assert.equal(await links.findLink(storage.db, `old-${owner.id}`, 'verify-email', now), null, 'the older link is void');
      assert.deepEqual(await links.findLink(storage.db, `new-${owner.id}`, 'verify-email', now), { userId: owner.id, purpose: 'verify-email', email: 'a@example.com' });
      assert.equal(await links.findLink(storage.db, `new-${owner.id}`, 'password-reset', now), null, 'a token works only for its purpose');
      assert.ok(await links.findLink(storage.db, `reset-${owner.id}`, 'password-reset', now), 'other purposes are untouched');
      // Many concurrent upserts for one user and purpose leave exactly one row.
      await Promise.all(Array.from({ length: 8 }, (_, i) => save(`race-${owner.id}-${i}`, 'verify-email')));
      const rows = await storage.db.selectFrom('email_links').select('token_hash').where('user_id', '=', owner.id).where('purpose', '=', 'verify-email').execute();
      assert.equal(rows.length, 1);
    });

    it('lets exactly one of many concurrent spenders spend a mailed link, never an expired one, and sweeps expired links', async () => {
      const owner = await user();
      await links.saveLink(storage.db, { userId: owner.id, purpose: 'password-reset', email: 'b@example.com', tokenHash: `spend-${owner.id}`, now, expiresAt: '2099-01-01T00:00:00.000Z' });
      const results = await Promise.all(Array.from({ length: 8 }, () => storage.db.transaction().execute((trx) => links.spendLink(trx, `spend-${owner.id}`, 'password-reset', now))));
      assert.equal(results.filter(Boolean).length, 1);

      await links.saveLink(storage.db, { userId: owner.id, purpose: 'verify-email', email: 'b@example.com', tokenHash: `stale-${owner.id}`, now, expiresAt: '2026-12-01T05:00:01.000Z' });
      const afterExpiry = '2026-12-01T05:00:01.000Z';
      assert.equal(await links.spendLink(storage.db, `stale-${owner.id}`, 'verify-email', afterExpiry), null, 'expired at its expires_at');
      assert.ok(await links.findLink(storage.db, `stale-${owner.id}`, 'verify-email', now), 'still there before');
      assert.ok((await links.deleteExpiredLinks(storage.db, afterExpiry)) >= 1);
      assert.equal(await links.findLink(storage.db, `stale-${owner.id}`, 'verify-email', now), null, 'swept');
    });

    it('keeps a spent link when the transaction that spent it rolls back', async () => {
      const owner = await user();
      await links.saveLink(storage.db, { userId: owner.id, purpose: 'email-change', email: 'c@example.com', tokenHash: `kept-${owner.id}`, now, expiresAt: '2099-01-01T00:00:00.000Z' });
      await assert.rejects(
        storage.db.transaction().execute(async (trx) => {
          assert.ok(await links.spendLink(trx, `kept-${owner.id}`, 'email-change', now));
          throw new Error('the work after spending failed');
        }),
        /the work after spending failed/,
      );
      assert.ok(await links.findLink(storage.db, `kept-${owner.id}`, 'email-change', now));
    });

    it('deletes everything a user owns with the user, and keeps their audit rows', async () => {
      const owner = await user('cascade_me');
      await sessions.insertSession(storage.db, session(owner.id, false));
      const family = randomUUID();
      await tokens.insertFamily(storage.db, { id: family, userId: owner.id, now, expiresAt: now, ip: null, userAgent: null, amr: 'pwd' });
      await tokens.insertRefreshToken(storage.db, `hash-${family}`, family, now);
      const list = await storage.db.insertInto('bucketlists').values({ owner_id: owner.id, name: 'b', created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow();
      await storage.db.insertInto('items').values({ bucketlist_id: list.id, name: 'i', done: false, created_at: now, updated_at: now }).execute();
      await recordAudit(storage.db, { event: 'signup', userId: owner.id, username: owner.username, detail: { via: 'test' } }, now);
      await links.saveLink(storage.db, { userId: owner.id, purpose: 'verify-email', email: 'd@example.com', tokenHash: `cascade-${owner.id}`, now, expiresAt: now });

      await storage.db.deleteFrom('users').where('id', '=', owner.id).execute();

      for (const [table, column] of [
        ['sessions', 'user_id'],
        ['password_credentials', 'user_id'],
        ['refresh_families', 'user_id'],
        ['bucketlists', 'owner_id'],
        ['email_links', 'user_id'],
      ] as const) {
        const rows = await storage.db.selectFrom(table).select(column).where(column, '=', owner.id).execute();
        assert.equal(rows.length, 0, table);
      }
      assert.equal((await storage.db.selectFrom('refresh_tokens').select('token_hash').where('family_id', '=', family).execute()).length, 0);
      assert.equal((await storage.db.selectFrom('items').select('id').where('bucketlist_id', '=', list.id).execute()).length, 0);
      const audit = await listAudit(storage.db, { limit: 10, page: 1, userId: owner.id });
      assert.equal(audit.total, 1);
      assert.equal(audit.items[0]?.username, 'cascade_me');
      assert.deepEqual(audit.items[0]?.detail, { via: 'test' });
    });

    describe('the OpenID Connect provider\'s storage (oidc-provider adapter)', () => {
      let clientId: string;
      let clock = Date.parse('2026-12-01T05:00:00.000Z');
      const adapter = (model: string) => new OidcStorageAdapter(model, storage.db, () => clock);

      before(async () => {
        clientId = `client-${randomUUID()}`;
        await oidcClients.insertClient(storage.db, {
          clientId,
          clientName: 'Conformance App',
          secretHash: 'a'.repeat(64),
          redirectUris: ['https://app.example/cb'],
          postLogoutRedirectUris: [],
          tokenEndpointAuthMethod: 'client_secret_basic',
          firstParty: false,
          createdAt: now,
        });
      });

      it('upserts (a second write replaces the first), finds by id, uid and user code, and never returns an expired row', async () => {
        const owner = await user();
        const tokens = adapter('AccessToken');
        await tokens.upsert('at-1', { jti: 'at-1', kind: 'AccessToken', accountId: String(owner.id), clientId, grantId: 'g-1', scope: 'openid' }, 60);
        await tokens.upsert('at-1', { jti: 'at-1', kind: 'AccessToken', accountId: String(owner.id), clientId, grantId: 'g-1', scope: 'openid profile' }, 120);
        assert.equal((await storage.db.selectFrom('oidc_payloads').select('id').where('id', '=', 'at-1').execute()).length, 1, 'one row');
        assert.equal((await tokens.find('at-1'))?.scope, 'openid profile');
        assert.equal(await adapter('RefreshToken').find('at-1'), undefined, 'models do not share ids');
        const sessions = adapter('Session');
        await sessions.upsert('jti-1', { jti: 'jti-1', uid: 'uid-1', kind: 'Session', accountId: String(owner.id) }, 60);
        assert.equal((await sessions.findByUid('uid-1'))?.jti, 'jti-1');
        await adapter('DeviceCode').upsert('dc-1', { jti: 'dc-1', userCode: 'ABCD-EFGH' }, 60);
        assert.equal((await adapter('DeviceCode').findByUserCode('ABCD-EFGH'))?.jti, 'dc-1');
        clock += 121_000;
        assert.equal(await tokens.find('at-1'), undefined, 'expired');
        assert.equal(await sessions.findByUid('uid-1'), undefined);
        assert.equal(await adapter('DeviceCode').findByUserCode('ABCD-EFGH'), undefined);
        await adapter('Grant').upsert('no-expiry', { jti: 'no-expiry', kind: 'Grant' });
        assert.equal((await adapter('Grant').find('no-expiry'))?.jti, 'no-expiry', 'no expiresIn: no expiry');
        const swept = await deleteExpiredPayloads(storage.db, new Date(clock).toISOString());
        assert.ok(swept >= 3, `${swept} swept`);
        assert.equal((await storage.db.selectFrom('oidc_payloads').select('id').where('id', 'in', ['at-1', 'jti-1', 'dc-1']).execute()).length, 0);
        assert.ok(await adapter('Grant').find('no-expiry'), 'a row without expiry stays');
      });

      it('consumes once: the second use (even a concurrent one) revokes the grant and fails with invalid_grant', async () => {
        const owner = await user();
        const refresh = adapter('RefreshToken');
        const payload = { accountId: String(owner.id), clientId, grantId: 'grant-c' };
        await adapter('Grant').upsert('grant-c', { jti: 'grant-c', kind: 'Grant', accountId: String(owner.id), clientId }, 3600);
        await adapter('AccessToken').upsert('at-c', { jti: 'at-c', ...payload }, 3600);
        await refresh.upsert('rt-1', { jti: 'rt-1', ...payload }, 3600);
        await refresh.consume('rt-1');
        const consumed = await refresh.find('rt-1');
        assert.equal(typeof consumed?.consumed, 'number', 'find says it was used (seconds)');
        await refresh.upsert('rt-1', { jti: 'rt-1', ...payload }, 3600);
        assert.ok((await refresh.find('rt-1'))?.consumed, 'a used token stays used when written again');
        await assert.rejects(refresh.consume('rt-1'), (error: Error & { error?: string }) => error.error === 'invalid_grant');
        assert.equal(await adapter('Grant').find('grant-c'), undefined, 'the grant is revoked');
        assert.equal(await adapter('AccessToken').find('at-c'), undefined, 'with its tokens');

        await adapter('Grant').upsert('grant-r', { jti: 'grant-r', kind: 'Grant', accountId: String(owner.id), clientId }, 3600);
        await refresh.upsert('rt-race', { jti: 'rt-race', ...payload, grantId: 'grant-r' }, 3600);
        const results = await Promise.allSettled([refresh.consume('rt-race'), refresh.consume('rt-race'), refresh.consume('rt-race')]);
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'exactly one use wins');
        assert.equal(await adapter('Grant').find('grant-r'), undefined);
      });

      it('destroys one row, revokes by grant id per model, and reads clients from oidc_clients', async () => {
        const owner = await user();
        const base = { accountId: String(owner.id), clientId };
        await adapter('AuthorizationCode').upsert('code-1', { jti: 'code-1', ...base, grantId: 'g-x' }, 60);
        await adapter('AuthorizationCode').upsert('code-2', { jti: 'code-2', ...base, grantId: 'g-y' }, 60);
        await adapter('AccessToken').upsert('at-x', { jti: 'at-x', ...base, grantId: 'g-x' }, 60);
        await adapter('AuthorizationCode').revokeByGrantId('g-x');
        assert.equal(await adapter('AuthorizationCode').find('code-1'), undefined);
        assert.ok(await adapter('AuthorizationCode').find('code-2'), 'another grant\'s code stays');
        assert.ok(await adapter('AccessToken').find('at-x'), 'revokeByGrantId is per model; the provider calls it for each');
        await adapter('AuthorizationCode').destroy('code-2');
        assert.equal(await adapter('AuthorizationCode').find('code-2'), undefined);

        const client = await adapter('Client').find(clientId);
        assert.equal(client?.client_id, clientId);
        assert.equal(client?.client_secret, 'a'.repeat(64), 'the stored hash, compared by compareClientSecret');
        assert.deepEqual(client?.redirect_uris, ['https://app.example/cb']);
        assert.equal(client?.first_party, false);
        assert.equal(await adapter('Client').find('nobody'), undefined);
        await assert.rejects(adapter('Client').upsert('x', {}), /admin API/);
      });

      it('remembers every scope of consents given at once, each audited with what it added', async () => {
        const owner = await user();
        const grants = new OidcGrantService({ db: storage.db, clock: () => clock });
        const meta = { ip: '203.0.113.9', userAgent: 'test' };
        // The first consent creates the row; the rest add a scope each, all at the same moment.
        const extra = ['email', 'profile', 'offline_access', 'a', 'b', 'c', 'd', 'e'];
        await Promise.all([grants.remember(owner.id, clientId, ['openid'], meta), ...extra.map((scope) => grants.remember(owner.id, clientId, ['openid', scope], meta))]);
        assert.deepEqual((await grants.allowedScopes(owner.id, clientId)).sort(), ['openid', ...extra].sort(), 'no consent overwrote another');
        const rows = (await listAudit(storage.db, { limit: 50, page: 1, userId: owner.id, event: 'oidc_consent_given' })).items;
        const added = rows.map((row) => String((row.detail as { scopes: string }).scopes)).sort();
        assert.equal(rows.length, extra.length + 1, 'one row per consent that added something');
        assert.deepEqual(added.flatMap((s) => s.split(' ')).sort(), ['openid', ...extra].sort(), 'each scope audited once');
      });

      it('ends rows with their user, their client, and (provider sessions) their Gatehouse session; consents too', async () => {
        const owner = await user();
        const other = await user();
        const gatehouseSession = session(owner.id, false);
        await sessions.insertSession(storage.db, gatehouseSession);
        await adapter('Session').upsert('ps-1', { jti: 'ps-1', uid: 'ps-uid-1', accountId: String(owner.id) }, 3600);
        await bindProviderSession(storage.db, 'ps-1', gatehouseSession.id);
        await storage.db.deleteFrom('sessions').where('id', '=', gatehouseSession.id).execute();
        assert.equal(await adapter('Session').find('ps-1'), undefined, 'the provider session ends with the Gatehouse session');

        await adapter('RefreshToken').upsert('rt-u', { jti: 'rt-u', accountId: String(owner.id), clientId }, 3600);
        await adapter('RefreshToken').upsert('rt-o', { jti: 'rt-o', accountId: String(other.id), clientId }, 3600);
        await oidcClients.saveConsent(storage.db, owner.id, clientId, ['openid'], now);
        await oidcClients.saveConsent(storage.db, owner.id, clientId, ['openid', 'email'], '2026-12-02T00:00:00.000Z');
        const consents = await oidcClients.listConsents(storage.db, owner.id);
        assert.deepEqual(consents, [{ clientId, clientName: 'Conformance App', scopes: ['openid', 'email'], createdAt: now }], 'a true upsert that keeps the first consent\'s date');
        await storage.db.deleteFrom('users').where('id', '=', owner.id).execute();
        assert.equal(await adapter('RefreshToken').find('rt-u'), undefined, 'gone with the user');
        assert.deepEqual(await oidcClients.listConsents(storage.db, owner.id), []);
        assert.ok(await adapter('RefreshToken').find('rt-o'));

        assert.equal(await oidcClients.deleteClient(storage.db, clientId), true);
        assert.equal(await adapter('RefreshToken').find('rt-o'), undefined, 'gone with the client');
        assert.equal(await oidcClients.findClient(storage.db, clientId), null);
      });
    });

    function session(userId: number, persistent: boolean) {
      const id = randomUUID();
      return {
        id,
        token_hash: `t-${id}`,
        csrf_hash: `c-${id}`,
        user_id: userId,
        persistent,
        created_at: now,
        last_seen_at: now,
        idle_expires_at: '2099-01-01T00:00:00.000Z',
        expires_at: '2099-01-01T00:00:00.000Z',
        ip: '203.0.113.9',
        user_agent: 'test',
      };
    }
  });
}
