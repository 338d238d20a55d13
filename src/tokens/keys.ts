import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { PostgresAdapter, sql } from 'kysely';
import type { Db } from '../storage/database.js';

export type SigningAlgorithm = 'EdDSA' | 'ES256';
export const SUPPORTED_ALGORITHMS: SigningAlgorithm[] = ['EdDSA', 'ES256'];

/**
 * How often an instance re-reads the key table, so a key rotated elsewhere takes over signing here.
 * Old keys verify for ACCESS_TOKEN_TTL + 60 s after a rotation; an instance that signs with the old
 * key for up to this long afterwards still issues tokens that expire (with the 5 s verification
 * tolerance) before that key retires.
 */
export const RELOAD_INTERVAL_MS = 30_000;
/** JWKS Cache-Control max-age. Verifiers also refetch on an unknown `kid` (jose's remote key set does). */
export const JWKS_MAX_AGE_SECONDS = 300;
/** An unknown `kid` triggers a reload, at most this often, so junk tokens cannot hammer the database. */
const UNKNOWN_KID_RELOAD_MS = 1_000;

interface LoadedKey {
  kid: string;
  alg: SigningAlgorithm;
  publicJwk: JWK;
  publicKey: CryptoKey;
  privateKey: CryptoKey;
  createdAt: string;
  supersededAt: string | null;
  retireAt: string | null;
  /** `retireAt` as ms since the epoch; Infinity while the key has no successor. */
  retireAtMs: number;
}

const ENCRYPTED_PREFIX = 'enc:v1:';

/**
 * Private keys at rest: AES-256-GCM under a key derived (HKDF-SHA256) from KEY_ENCRYPTION_SECRET.
 * Without the secret (development only) they are stored as plain JWK.
 */
export class KeyVault {
  readonly #key: Buffer | null;

  constructor(secret: string | null) {
    this.#key = secret === null ? null : Buffer.from(hkdfSync('sha256', secret, 'gatehouse', 'signing-key-encryption', 32));
  }

  seal(plaintext: string): string {
    if (!this.#key) return plaintext;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ENCRYPTED_PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  open(stored: string): string {
    if (!stored.startsWith(ENCRYPTED_PREFIX)) return stored;
    if (!this.#key) throw new Error('Signing keys are encrypted: set KEY_ENCRYPTION_SECRET to the secret they were stored with.');
    const raw = Buffer.from(stored.slice(ENCRYPTED_PREFIX.length), 'base64url');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      // GCM authentication failed: another secret, or the stored value was altered.
      throw new Error('Cannot decrypt a signing key: KEY_ENCRYPTION_SECRET is not the secret it was stored with.');
    }
  }
}

/** Create a new signing key and make it the one that signs; older keys verify until `retire_at`. */
export async function rotateSigningKey(
  db: Db,
  vault: KeyVault,
  options: { alg: SigningAlgorithm; now: number; verifyOldKeysForSeconds: number; onlyIfNone?: boolean },
): Promise<string> {
  const { publicKey, privateKey } = await generateKeyPair(options.alg, { extractable: true, ...(options.alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const publicJwk = await exportJWK(publicKey);
  const privateJwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const nowIso = new Date(options.now).toISOString();
  const retireAt = new Date(options.now + options.verifyOldKeysForSeconds * 1000).toISOString();
  return db.transaction().execute(async (trx) => {
    // Instances starting together on an empty PostgreSQL database must not each create a first
    // key (each would publish only its own for a minute). SQLite: `serve` makes it before forking.
    if (trx.getExecutor().adapter instanceof PostgresAdapter) await sql`lock table signing_keys in share row exclusive mode`.execute(trx);
    if (options.onlyIfNone) {
      const existing = await trx.selectFrom('signing_keys').select('kid').orderBy('created_at', 'desc').executeTakeFirst();
      if (existing) return existing.kid;
    }
    await trx.updateTable('signing_keys').set({ superseded_at: nowIso, retire_at: retireAt }).where('superseded_at', 'is', null).execute();
    await trx
      .insertInto('signing_keys')
      .values({
        kid,
        alg: options.alg,
        public_jwk: JSON.stringify({ ...publicJwk, kid, alg: options.alg, use: 'sig' }),
        private_jwk: vault.seal(JSON.stringify(privateJwk)),
        created_at: nowIso,
        superseded_at: null,
        retire_at: null,
      })
      .execute();
    return kid;
  });
}

/**
 * The keys every instance reads from the database: the newest unsuperseded key signs, every
 * key not yet retired verifies.
 */
export class KeyRing {
  #keys: LoadedKey[] = [];
  #loadedAt = 0;
  #lastUnknownKidReload = 0;
  #loading: Promise<void> | null = null;

  constructor(
    private readonly db: Db,
    private readonly vault: KeyVault,
    private readonly clock: () => number,
  ) {}

  /** Load keys, creating the first one if the database has none. */
  async init(alg: SigningAlgorithm, verifyOldKeysForSeconds: number): Promise<void> {
    await this.reload();
    if (this.#keys.length === 0) {
      await rotateSigningKey(this.db, this.vault, { alg, now: this.clock(), verifyOldKeysForSeconds, onlyIfNone: true });
      await this.reload();
    }
  }

  async reload(): Promise<void> {
    this.#loading ??= this.#load().finally(() => {
      this.#loading = null;
    });
    await this.#loading;
  }

  async #load(): Promise<void> {
    // Retired keys stay in the table (an audit trail) but are never decrypted or loaded again.
    const rows = await this.db
      .selectFrom('signing_keys')
      .selectAll()
      .where((eb) => eb.or([eb('retire_at', 'is', null), eb('retire_at', '>', new Date(this.clock()).toISOString())]))
      .orderBy('created_at', 'desc')
      .execute();
    const keys: LoadedKey[] = [];
    for (const row of rows) {
      const alg = row.alg as SigningAlgorithm;
      const publicJwk = JSON.parse(row.public_jwk) as JWK;
      keys.push({
        kid: row.kid,
        alg,
        publicJwk,
        publicKey: (await importJWK(publicJwk, alg)) as CryptoKey,
        privateKey: (await importJWK(JSON.parse(this.vault.open(row.private_jwk)) as JWK, alg)) as CryptoKey,
        createdAt: row.created_at,
        supersededAt: row.superseded_at,
        retireAt: row.retire_at,
        retireAtMs: row.retire_at === null ? Infinity : Date.parse(row.retire_at),
      });
    }
    this.#keys = keys;
    this.#loadedAt = this.clock();
  }

  async #fresh(): Promise<void> {
    if (this.clock() - this.#loadedAt >= RELOAD_INTERVAL_MS) await this.reload();
  }

  #live(): LoadedKey[] {
    const now = this.clock();
    return this.#keys.filter((key) => key.retireAtMs > now);
  }

  async signingKey(): Promise<LoadedKey> {
    await this.#fresh();
    const key = this.#live().find((k) => k.supersededAt === null) ?? this.#live()[0];
    if (!key) throw new Error('No signing key available.');
    return key;
  }

  /** The verification key for a `kid`, reloading once when another instance may have rotated. */
  async verificationKey(kid: string, alg: string): Promise<CryptoKey | null> {
    await this.#fresh();
    let key = this.#live().find((k) => k.kid === kid);
    if (!key && this.clock() - this.#lastUnknownKidReload >= UNKNOWN_KID_RELOAD_MS) {
      this.#lastUnknownKidReload = this.clock();
      await this.reload();
      key = this.#live().find((k) => k.kid === kid);
    }
    return key && key.alg === alg ? key.publicKey : null;
  }

  /** Whether a key still verifies (known here and not retired); no reload, for the hot path. */
  isLive(kid: string): boolean {
    const now = this.clock();
    for (const key of this.#keys) if (key.kid === kid) return key.retireAtMs > now;
    return false;
  }

  /** Public keys for the JWKS document. */
  async publicJwks(): Promise<JWK[]> {
    await this.#fresh();
    return this.#live().map((k) => k.publicJwk);
  }
}
