import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT, jwtVerify } from 'jose';
import { createStorage } from '../../src/storage/database.js';
import type { Storage } from '../../src/storage/database.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { KeyRing, KeyVault, rotateSigningKey } from '../../src/tokens/keys.js';

const SECRET = 'a-key-encryption-secret-of-some-length';

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

describe('KeyRing on a real database', () => {
  let storage: Storage;
  let now = Date.parse('2026-01-01T00:00:00Z');
  const clock = () => now;
  before(async () => {
    storage = await createStorage('sqlite::memory:');
    await migrateToLatest(storage);
  });
  after(async () => storage.close());

  it('creates the first key on init, encrypted at rest, and signs with it', async () => {
    const ring = new KeyRing(storage.db, new KeyVault(SECRET), clock);
    await ring.init('EdDSA', 960);
    const rows = await storage.db.selectFrom('signing_keys').selectAll().execute();
    assert.equal(rows.length, 1);
    assert.ok(rows[0]!.private_jwk.startsWith('enc:v1:'));
    assert.ok(!rows[0]!.public_jwk.includes('"d"'));
    const key = await ring.signingKey();
    const token = await new SignJWT({}).setProtectedHeader({ alg: key.alg, kid: key.kid }).sign(key.privateKey);
    const verification = await ring.verificationKey(key.kid, key.alg);
    assert.ok(verification);
    await jwtVerify(token, verification);
    assert.equal(await ring.verificationKey(key.kid, 'ES256'), null, 'a kid only verifies with its own algorithm');
  });

  it('a second instance with the wrong secret cannot start', async () => {
    const ring = new KeyRing(storage.db, new KeyVault('not-the-right-secret-at-all'), clock);
    await assert.rejects(ring.init('EdDSA', 960), /KEY_ENCRYPTION_SECRET/);
  });

  it('rotation: the new key signs, the old verifies until retire_at, then is neither loaded nor published', async () => {
    const ring = new KeyRing(storage.db, new KeyVault(SECRET), clock);
    await ring.init('EdDSA', 960);
    const oldKid = (await ring.signingKey()).kid;
    const newKid = await rotateSigningKey(storage.db, new KeyVault(SECRET), { alg: 'ES256', now, verifyOldKeysForSeconds: 960 });
    await ring.reload();
    assert.equal((await ring.signingKey()).kid, newKid);
    assert.equal((await ring.signingKey()).alg, 'ES256');
    assert.ok(await ring.verificationKey(oldKid, 'EdDSA'));
    assert.deepEqual((await ring.publicJwks()).map((k) => k.kid).sort(), [newKid, oldKid].sort());

    now += 960_000 + 1;
    await ring.reload();
    assert.equal(await ring.verificationKey(oldKid, 'EdDSA'), null);
    assert.deepEqual((await ring.publicJwks()).map((k) => k.kid), [newKid]);
    const rows = await storage.db.selectFrom('signing_keys').select('kid').execute();
    assert.equal(rows.length, 2, 'retired keys stay in the table');
  });
});
