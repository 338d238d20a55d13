import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { SignJWT, jwtVerify } from 'jose';
import { createStorage } from '../../src/storage/database.js';
import type { Storage } from '../../src/storage/database.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { JWKS_MAX_AGE_SECONDS, KeyRing, KeyVault, PUBLISH_BEFORE_SIGNING_SECONDS, RELOAD_INTERVAL_MS, rotateSigningKey } from '../../src/tokens/keys.js';
import type { KeyRingLog } from '../../src/tokens/keys.js';

const SECRET = 'a-key-encryption-secret-of-some-length';
const VERIFY_OLD_FOR_SECONDS = 960;

describe('KeyVault', () => {
  it('round-trips through AES-256-GCM with a fresh IV each time', () => {
    const vault = new KeyVault(SECRET);
    const plaintext = '{"kty":"OKP","crv":"Ed25519","d":"secret-part","x":"public-part"}';
    const sealed = vault.seal(plaintext);
    assert.ok(sealed.startsWith('enc:v1:'));
    assert.ok(!sealed.includes('secret-part'));
    assert.notEqual(vault.seal(plaintext), sealed, 'a new IV per seal');
    assert.equal(vault.open(sealed), plaintext);
    assert.equal(new KeyVault(SECRET).open(sealed), plaintext, 'the same secret in another process opens it');
  });

  it('refuses another secret and an altered ciphertext with a message naming the setting', () => {
    const sealed = new KeyVault(SECRET).seal('private');
    assert.throws(() => new KeyVault(`${SECRET}-other`).open(sealed), /KEY_ENCRYPTION_SECRET/);
    const raw = Buffer.from(sealed.slice('enc:v1:'.length), 'base64url');
    raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
    assert.throws(() => new KeyVault(SECRET).open(`enc:v1:${raw.toString('base64url')}`), /KEY_ENCRYPTION_SECRET/);
    assert.throws(() => new KeyVault(null).open(sealed), /KEY_ENCRYPTION_SECRET/, 'encrypted keys need the secret');
  });

  it('keeps plaintext without a secret (development), and still reads plaintext once a secret is set', () => {
    assert.equal(new KeyVault(null).seal('private'), 'private');
    assert.equal(new KeyVault(null).open('private'), 'private');
    assert.equal(new KeyVault(SECRET).open('{"d":"x"}'), '{"d":"x"}');
  });
});

// Each test has a database and a clock of its own: none depends on what another left behind, or on the order they run in.
describe('KeyRing on a real database', () => {
  let storage: Storage;
  let now: number;
  const clock = () => now;
  beforeEach(async () => {
    now = Date.parse('2026-01-01T00:00:00Z');
    storage = await createStorage('sqlite::memory:');
    await migrateToLatest(storage);
  });
  afterEach(async () => storage.close());

  async function startedRing(vault = new KeyVault(SECRET), log?: KeyRingLog): Promise<KeyRing> {
    const ring = new KeyRing(storage.db, vault, clock, log);
    await ring.init('EdDSA', VERIFY_OLD_FOR_SECONDS);
    return ring;
  }

  async function signedBy(ring: KeyRing): Promise<{ kid: string; token: string }> {
    const key = await ring.signingKey();
    const token = await new SignJWT({}).setProtectedHeader({ alg: key.alg, kid: key.kid }).sign(key.privateKey);
    return { kid: key.kid, token };
  }

  async function verifies(ring: KeyRing, { kid, token }: { kid: string; token: string }): Promise<boolean> {
    const key = await ring.verificationKey(kid, 'EdDSA');
    if (!key) return false;
    await jwtVerify(token, key);
    return true;
  }

  async function publishedKids(ring: KeyRing): Promise<string[]> {
    return (await ring.publicJwks()).map((k) => k.kid ?? '').sort();
  }

  it('creates the first key on init, encrypted at rest, and signs with it at once', async () => {
    const ring = await startedRing();
    const rows = await storage.db.selectFrom('signing_keys').selectAll().execute();
    assert.equal(rows.length, 1);
    assert.ok(rows[0]!.private_jwk.startsWith('enc:v1:'));
    assert.ok(!rows[0]!.public_jwk.includes('"d"'));
    const signed = await signedBy(ring);
    assert.equal(signed.kid, rows[0]!.kid, 'nobody can have cached a key set before the first key existed');
    assert.ok(await verifies(ring, signed));
    assert.equal(await ring.verificationKey(signed.kid, 'ES256'), null, 'a kid only verifies with its own algorithm');
  });

  it('a second instance with the wrong secret cannot start', async () => {
    await startedRing();
    const ring = new KeyRing(storage.db, new KeyVault('not-the-right-secret-at-all'), clock);
    await assert.rejects(ring.init('EdDSA', VERIFY_OLD_FOR_SECONDS), /KEY_ENCRYPTION_SECRET/);
  });

  it('rotation at once (--now): the new key signs, the old verifies until retire_at, then is neither loaded nor published', async () => {
    const ring = await startedRing();
    const oldKid = (await ring.signingKey()).kid;
    const newKid = await rotateSigningKey(storage.db, new KeyVault(SECRET), { alg: 'ES256', now, verifyOldKeysForSeconds: VERIFY_OLD_FOR_SECONDS });
    await ring.reload();
    assert.equal((await ring.signingKey()).kid, newKid);
    assert.equal((await ring.signingKey()).alg, 'ES256');
    assert.ok(await ring.verificationKey(oldKid, 'EdDSA'));
    assert.deepEqual(await publishedKids(ring), [newKid, oldKid].sort());

    now += VERIFY_OLD_FOR_SECONDS * 1000 + 1;
    await ring.reload();
    assert.equal(await ring.verificationKey(oldKid, 'EdDSA'), null);
    assert.deepEqual(await publishedKids(ring), [newKid]);
    const rows = await storage.db.selectFrom('signing_keys').select('kid').execute();
    assert.equal(rows.length, 2, 'retired keys stay in the table');
  });

  // Fault 12 (security review). On the old code the row stayed plain JWK after the restart with a
  // secret, and init logged nothing: checked by running this test against the previous keys.ts.
  it('a key made before KEY_ENCRYPTION_SECRET was set is encrypted in place at start, and its tokens still verify', async () => {
    const development = await startedRing(new KeyVault(null));
    const before = await signedBy(development);
    const plain = await storage.db.selectFrom('signing_keys').select('private_jwk').executeTakeFirstOrThrow();
    assert.ok(plain.private_jwk.includes('"d"'), 'without a secret (development) the key is stored as plain JWK, as before');
    await startedRing(new KeyVault(null));
    assert.equal((await storage.db.selectFrom('signing_keys').select('private_jwk').executeTakeFirstOrThrow()).private_jwk, plain.private_jwk, 'and stays so');

    const lines: Array<{ fields: object; message: string }> = [];
    const log: KeyRingLog = { info: (fields, message) => lines.push({ fields, message }) };
    // Two instances starting together: each seals only what is still plain, so nothing is sealed twice.
    const [ring] = await Promise.all([startedRing(new KeyVault(SECRET), log), startedRing(new KeyVault(SECRET), log)]);
    const stored = await storage.db.selectFrom('signing_keys').select('private_jwk').executeTakeFirstOrThrow();
    assert.ok(stored.private_jwk.startsWith('enc:v1:'), 'the stored key is now encrypted');
    assert.ok(!stored.private_jwk.includes('"d"'));
    assert.equal(new KeyVault(SECRET).open(stored.private_jwk), plain.private_jwk, 'the same key, sealed once');
    assert.equal(lines.length, 1, 'one info line');
    assert.deepEqual(lines[0]?.fields, { sealed: 1 });
    assert.match(lines[0]?.message ?? '', /encrypted 1 signing key/);

    assert.ok(await verifies(ring!, before), 'tokens signed before still verify');
    assert.equal((await signedBy(ring!)).kid, before.kid, 'the same key keeps signing');
    await startedRing(new KeyVault(SECRET), log);
    assert.equal(lines.length, 1, 'nothing left to seal, nothing logged');
  });

  // On the old code `keys rotate` made the new key sign at once (the first assertion on the
  // signing kid failed), and PUBLISH_BEFORE_SIGNING_SECONDS did not exist.
  it('a rotated key is published at once and signs only after PUBLISH_BEFORE_SIGNING_SECONDS; the old key verifies until it retires', async () => {
    const ring = await startedRing();
    const old = await signedBy(ring);
    const rotatedAt = now;
    const newKid = await rotateSigningKey(storage.db, new KeyVault(SECRET), {
      alg: 'EdDSA',
      now,
      verifyOldKeysForSeconds: VERIFY_OLD_FOR_SECONDS,
      signsAfterSeconds: PUBLISH_BEFORE_SIGNING_SECONDS,
    });
    const activatesAt = rotatedAt + PUBLISH_BEFORE_SIGNING_SECONDS * 1000;

    // Another instance learns of it on its next reload, long before it signs.
    now += RELOAD_INTERVAL_MS;
    assert.deepEqual(await publishedKids(ring), [newKid, old.kid].sort(), 'published at once');
    assert.equal((await ring.signingKey()).kid, old.kid, 'the old key still signs');
    now = activatesAt - 1;
    assert.equal((await ring.signingKey()).kid, old.kid, 'until the publish delay has passed');
    now = activatesAt;
    const fresh = await signedBy(ring);
    assert.equal(fresh.kid, newKid, 'then the new key signs, on every instance at the same moment');
    assert.ok(await verifies(ring, fresh));

    now = activatesAt + VERIFY_OLD_FOR_SECONDS * 1000 - 1;
    assert.ok(await verifies(ring, old), 'tokens of the old key verify until it retires');
    now = activatesAt + VERIFY_OLD_FOR_SECONDS * 1000 + 1;
    assert.equal(await verifies(ring, old), false, 'then the old key is refused');
    assert.deepEqual(await publishedKids(ring), [newKid], 'and leaves the JWKS');
  });

  it('a key superseded (by an immediate rotation) before its publish delay passed never signs', async () => {
    const ring = await startedRing();
    const first = (await ring.signingKey()).kid;
    const pending = await rotateSigningKey(storage.db, new KeyVault(SECRET), { alg: 'EdDSA', now, verifyOldKeysForSeconds: VERIFY_OLD_FOR_SECONDS, signsAfterSeconds: PUBLISH_BEFORE_SIGNING_SECONDS });
    now += 1000;
    const urgent = await rotateSigningKey(storage.db, new KeyVault(SECRET), { alg: 'EdDSA', now, verifyOldKeysForSeconds: VERIFY_OLD_FOR_SECONDS });
    await ring.reload();
    assert.equal((await ring.signingKey()).kid, urgent, 'the immediate rotation signs now');
    now += PUBLISH_BEFORE_SIGNING_SECONDS * 1000;
    assert.equal((await ring.signingKey()).kid, urgent, 'the pending key does not take over later');
    const rows = await storage.db.selectFrom('signing_keys').selectAll().where('kid', 'in', [first, pending]).execute();
    for (const row of rows) assert.equal(Date.parse(row.retire_at ?? ''), now - PUBLISH_BEFORE_SIGNING_SECONDS * 1000 + VERIFY_OLD_FOR_SECONDS * 1000, `${row.kid} retires counting from the immediate rotation`);
  });

  // On the old code every load (init, each 30 s reload, an unknown kid) decrypted every private key:
  // this test counted 2+ calls to open() on the verify path there.
  it('the verify path never decrypts a private key; signing decrypts each key once', async () => {
    const vault = new KeyVault(SECRET);
    const open = mock.method(vault, 'open');
    const ring = await startedRing(vault);
    assert.equal(open.mock.callCount(), 1, 'init decrypts the signing key, so a wrong secret stops the start');
    const signed = await signedBy(ring);

    open.mock.resetCalls();
    for (let i = 0; i < 3; i += 1) {
      now += RELOAD_INTERVAL_MS;
      assert.ok(await verifies(ring, signed));
      assert.equal(ring.isLive(signed.kid), true);
      await ring.publicJwks();
      assert.equal(await ring.verificationKey(`unknown-${i}`, 'EdDSA'), null, 'an unknown kid reloads');
    }
    await ring.reload();
    assert.equal(open.mock.callCount(), 0, 'verification, reloads and the JWKS use public keys only');
    for (let i = 0; i < 5; i += 1) await signedBy(ring);
    assert.equal(open.mock.callCount(), 0, 'the decrypted signing key is kept');

    const newKid = await rotateSigningKey(storage.db, new KeyVault(SECRET), { alg: 'EdDSA', now, verifyOldKeysForSeconds: VERIFY_OLD_FOR_SECONDS });
    await ring.reload();
    await Promise.all([signedBy(ring), signedBy(ring)]);
    assert.equal((await ring.signingKey()).kid, newKid);
    assert.equal(open.mock.callCount(), 1, 'a new signing key is decrypted once, when it first signs');
  });

  it('keys rotate refuses a KEY_ENCRYPTION_SECRET that cannot open the keys the servers use', async () => {
    await startedRing();
    await assert.rejects(
      rotateSigningKey(storage.db, new KeyVault('not-the-right-secret-at-all'), { alg: 'EdDSA', now, verifyOldKeysForSeconds: VERIFY_OLD_FOR_SECONDS }),
      /KEY_ENCRYPTION_SECRET/,
    );
    assert.equal((await storage.db.selectFrom('signing_keys').select('kid').execute()).length, 1, 'no key was added');
  });

  it('the publish delay outlasts a key set cached from an instance that had not reloaded yet', () => {
    assert.ok(PUBLISH_BEFORE_SIGNING_SECONDS * 1000 >= RELOAD_INTERVAL_MS + JWKS_MAX_AGE_SECONDS * 1000);
    assert.ok(PUBLISH_BEFORE_SIGNING_SECONDS * 1000 > 600_000 + RELOAD_INTERVAL_MS, "and jose's (and gatehouse-auth/verify's) 10-minute key-set cache");
  });
});
