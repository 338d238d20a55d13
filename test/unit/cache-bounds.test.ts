/**
 * The in-memory caches of the session and token services stay bounded: filled past their limit
 * through the public methods, they let go of their oldest entries, which are then read from the
 * database again. Seen from outside: a row changed straight in the database (no revocation event)
 * is not noticed while its entry is cached — the clock is frozen, so no entry ages out — and is
 * noticed once enough other entries have pushed it out.
 *
 * - Sessions (SESSION_CACHE_MAX, 100 000): a session whose row was deleted still validates from
 *   the cache, and is refused after 100 000 other sessions were validated.
 * - Token login state (LOGIN_STATE_CACHE_MAX, 100 000): an access token whose login was revoked in
 *   the database still verifies from the cache, and is refused after 100 000 other logins' tokens.
 * - Verified tokens (VERIFIED_CACHE_MAX, 10 000): a token verified once is not verified again (the
 *   key ring is not asked for its key), until 10 000 other tokens have been verified.
 *
 * The limits are the services' constants (not exported): a smaller limit passes, a larger one or
 * none fails. On SQLite whatever TEST_DATABASE_URL says: the fills validate and verify over 200 000
 * credentials, CPU-bound (about a minute on a busy two-core machine, mostly the 100 000 token
 * signature checks); nothing in it measures time, so it runs beside the other suites. Fill tokens
 * are the service's own token with another `sid` or `jti`, signed with the key ring's signing key,
 * so they follow whatever format it issues.
 *
 * Checked: with each cache's eviction removed (the `size > MAX` branch in #load, #loginState and
 * #verifySignature) the matching test fails: the deleted session still validates, the revoked
 * login still verifies, the first token is never verified again.
 */
import assert from 'node:assert/strict';
import { KeyObject, randomUUID, sign } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { JWTPayload } from 'jose';
import { LocalRevocationBus } from '../../src/events/bus.js';
import { SessionService } from '../../src/sessions/sessions.service.js';
import type { TokenRefusal, VerifiedAccess } from '../../src/tokens/tokens.service.js';
import { randomToken, sha256Hex } from '../../src/sessions/tokens.js';
import { createStorage } from '../../src/storage/database.js';
import type { Storage } from '../../src/storage/database.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { KeyRing, KeyVault } from '../../src/tokens/keys.js';
import { TokenService } from '../../src/tokens/tokens.service.js';
import { fakeClock, TEST_OUTPUT } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/database.js';
import type { TestDatabase } from '../helpers/database.js';

const SESSION_CACHE_MAX = 100_000;
const LOGIN_STATE_CACHE_MAX = 100_000;
const VERIFIED_CACHE_MAX = 10_000;
/** Rows per INSERT, and work in flight per batch of verifications (signatures run off the main thread). */
const BATCH = 1_000;

const TOKEN_CONFIG = { publicUrl: 'http://127.0.0.1:3000', accessTokenTtl: 900, accessTokenAudience: null, refreshTokenTtl: 86_400, refreshReuseGraceSeconds: 10 };

describe('the services\' caches stay bounded', () => {
  let database: TestDatabase;
  let storage: Storage;
  // Frozen: nothing cached ages past its 1 s time to live, so only eviction can drop an entry.
  const clock = fakeClock();
  const now = new Date(clock()).toISOString();
  const tomorrow = new Date(clock() + 86_400_000).toISOString();
  let userId: number;

  before(async () => {
    // SQLite whatever TEST_DATABASE_URL says: the fills are hundreds of thousands of reads.
    database = await createTestDatabase(undefined, TEST_OUTPUT);
    storage = await createStorage(database.url);
    await migrateToLatest(storage);
    const user = await storage.db
      .insertInto('users')
      .values({ username: 'cache_user', username_normalized: 'cache_user', email: null, email_normalized: null, role: 'user', disabled_at: null, tokens_valid_after: null, created_at: now, updated_at: now })
      .returning(['id', 'credential_epoch'])
      .executeTakeFirstOrThrow();
    userId = Number(user.id);
  });
  after(async () => {
    await storage.close();
    await database.drop();
  });

  /** Session cookie values with rows behind them, inserted in one transaction. */
  async function sessionsInDatabase(count: number): Promise<string[]> {
    const tokens = Array.from({ length: count }, () => randomToken());
    await storage.db.transaction().execute(async (trx) => {
      for (let i = 0; i < tokens.length; i += BATCH) {
        const rows = tokens.slice(i, i + BATCH).map((token) => ({
          id: randomUUID(), token_hash: sha256Hex(token), csrf_hash: sha256Hex(randomToken()), user_id: userId, persistent: false,
          created_at: now, last_seen_at: now, idle_expires_at: tomorrow, expires_at: tomorrow, ip: null, user_agent: null,
        }));
        await trx.insertInto('sessions').values(rows).execute();
      }
    });
    return tokens;
  }

  async function tokenService(): Promise<TokenService> {
    const keys = new KeyRing(storage.db, new KeyVault(null), clock);
    await keys.init('EdDSA', 960);
    return new TokenService(storage.db, TOKEN_CONFIG, clock, keys, new LocalRevocationBus());
  }

  async function issue(tokens: TokenService): Promise<string> {
    const epoch = await storage.db.selectFrom('users').select('credential_epoch').where('id', '=', userId).executeTakeFirstOrThrow();
    const pair = await tokens.issue({ id: userId, credentialEpoch: Number(epoch.credential_epoch) }, { ip: null, userAgent: null });
    assert.ok(pair, 'the login is stored');
    return pair.access_token;
  }

  /**
   * Copies of `token` with some claims changed, signed with the service's signing key: the same
   * header, the payload's other claims as issued. Signed with node:crypto directly (Ed25519, as
   * tokenService() sets up), which is several times faster than a JWT library for 100 000 tokens.
   */
  async function variants(tokens: TokenService, token: string, changes: Array<Partial<JWTPayload>>): Promise<string[]> {
    const [encodedHeader = ''] = token.split('.');
    const header = decodeProtectedHeader(token);
    const payload = decodeJwt(token);
    const key = await tokens.keys.signingKey();
    assert.equal(header.kid, key.kid);
    assert.equal(key.alg, 'EdDSA');
    const privateKey = KeyObject.from(key.privateKey);
    return changes.map((change) => {
      const signingInput = `${encodedHeader}.${Buffer.from(JSON.stringify({ ...payload, ...change })).toString('base64url')}`;
      return `${signingInput}.${sign(null, Buffer.from(signingInput), privateKey).toString('base64url')}`;
    });
  }

  /** A bearer check's answer accepted the token (a refusal says why instead). */
  function isAccepted(result: VerifiedAccess | TokenRefusal): boolean {
    return !('refused' in result);
  }

  /** Verifies every token, BATCH at a time; returns how many were accepted. */
  async function verifyAll(tokens: TokenService, list: string[]): Promise<number> {
    let accepted = 0;
    for (let i = 0; i < list.length; i += BATCH) {
      const results = await Promise.all(list.slice(i, i + BATCH).map((token) => tokens.verifyAccessToken(token)));
      accepted += results.filter(isAccepted).length;
    }
    return accepted;
  }

  it(`keeps at most ${SESSION_CACHE_MAX} sessions: the oldest is read from the database again`, async () => {
    const sessions = new SessionService(storage.db, { sessionIdleTimeout: 3600, sessionMaxAge: 86_400, maxSessionsPerUser: 1_000_000 }, clock, new LocalRevocationBus());
    const [oldest = ''] = await sessionsInDatabase(1);
    assert.ok(await sessions.validate(oldest));
    await storage.db.deleteFrom('sessions').where('token_hash', '=', sha256Hex(oldest)).execute();
    assert.ok(await sessions.validate(oldest), 'cached: the deleted row is not read again yet (what makes this test observe the cache)');

    const others = await sessionsInDatabase(SESSION_CACHE_MAX);
    let valid = 0;
    for (const token of others) if (await sessions.validate(token)) valid += 1;
    assert.equal(valid, SESSION_CACHE_MAX);

    assert.equal(await sessions.validate(oldest), null, `after ${SESSION_CACHE_MAX} other sessions the oldest entry is gone, and its row is`);
    const newest = others.at(-1) ?? '';
    await storage.db.deleteFrom('sessions').where('token_hash', '=', sha256Hex(newest)).execute();
    assert.ok(await sessions.validate(newest), 'the newest entries are still served from memory');
  });

  it(`keeps at most ${LOGIN_STATE_CACHE_MAX} token logins' state: the oldest is read from the database again`, async () => {
    const tokens = await tokenService();
    const first = await issue(tokens);
    const sid = String(decodeJwt(first).sid);
    assert.ok(isAccepted(await tokens.verifyAccessToken(first)));
    // Revoked straight in the database: no event reaches the service.
    await storage.db.updateTable('refresh_families').set({ revoked_at: now, revoked_reason: 'test' }).where('id', '=', sid).execute();
    assert.ok(isAccepted(await tokens.verifyAccessToken(first)), 'cached: the revocation is not read yet (what makes this test observe the cache)');

    const families = Array.from({ length: LOGIN_STATE_CACHE_MAX }, () => randomUUID());
    await storage.db.transaction().execute(async (trx) => {
      for (let i = 0; i < families.length; i += BATCH) {
        const rows = families.slice(i, i + BATCH).map((id) => ({ id, user_id: userId, created_at: now, expires_at: tomorrow, revoked_at: null, revoked_reason: null, ip: null, user_agent: null }));
        await trx.insertInto('refresh_families').values(rows).execute();
      }
    });
    const others = await variants(tokens, first, families.map((id) => ({ sid: id, jti: randomUUID() })));
    assert.equal(await verifyAll(tokens, others), LOGIN_STATE_CACHE_MAX, 'every other login\'s token verifies (each one\'s state is now cached)');

    assert.equal(isAccepted(await tokens.verifyAccessToken(first)), false, `after ${LOGIN_STATE_CACHE_MAX} other logins the oldest state is gone and the revocation is read`);
  });

  it(`remembers at most ${VERIFIED_CACHE_MAX} verified tokens: the oldest is verified again`, async (t: TestContext) => {
    const tokens = await tokenService();
    const first = await issue(tokens);
    const keyLookups = t.mock.method(tokens.keys, 'verificationKey');
    assert.ok(isAccepted(await tokens.verifyAccessToken(first)));
    assert.equal(keyLookups.mock.callCount(), 1, 'verified: its key was looked up');
    assert.ok(isAccepted(await tokens.verifyAccessToken(first)));
    assert.equal(keyLookups.mock.callCount(), 1, 'remembered: not verified again (what makes this test observe the cache)');

    // Same login, another jti: different bytes, each verified once.
    const others = await variants(tokens, first, Array.from({ length: VERIFIED_CACHE_MAX }, () => ({ jti: randomUUID() })));
    assert.equal(await verifyAll(tokens, others), VERIFIED_CACHE_MAX);
    assert.equal(keyLookups.mock.callCount(), 1 + VERIFIED_CACHE_MAX);

    assert.ok(isAccepted(await tokens.verifyAccessToken(first)), 'still valid');
    assert.equal(keyLookups.mock.callCount(), 2 + VERIFIED_CACHE_MAX, `after ${VERIFIED_CACHE_MAX} other tokens the oldest is verified again`);
    assert.ok(isAccepted(await tokens.verifyAccessToken(others.at(-1) ?? '')));
    assert.equal(keyLookups.mock.callCount(), 2 + VERIFIED_CACHE_MAX, 'the newest is still remembered');
  });
});
