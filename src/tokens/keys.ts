import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { PostgresAdapter, sql } from 'kysely';
import type { Db } from '../storage/database.js';

export type SigningAlgorithm = 'EdDSA' | 'ES256';
export const SUPPORTED_ALGORITHMS: SigningAlgorithm[] = ['EdDSA', 'ES256'];
/** Every algorithm a stored key may have: the access tokens' two, and RS256 for OpenID Connect ID tokens. */
export type KeyAlgorithm = SigningAlgorithm | 'RS256';
/**
 * What a key signs: `access` — Gatehouse's access tokens (JWT_ALGORITHM, published at
 * /.well-known/jwks.json); `oidc` — the OpenID Connect provider's ID tokens (RS256, published at
 * its own JWKS). Both kinds live in `signing_keys`, are sealed alike and rotate together.
 */
export type KeyPurpose = 'access' | 'oidc';

/**
 * How often an instance re-reads the key table, so a key rotated elsewhere is published and, from
 * its `activates_at`, signs here too. Old keys verify for ACCESS_TOKEN_TTL + 60 s after their
 * successor starts signing; an instance that learns of an immediate (`--now`) rotation up to this
 * long afterwards still issues tokens that expire (with the 5 s verification tolerance) before
 * that key retires.
 */
export const RELOAD_INTERVAL_MS = 30_000;
/** JWKS Cache-Control max-age. Verifiers also refetch on an unknown `kid` (jose's remote key set does). */
export const JWKS_MAX_AGE_SECONDS = 300;
export { PUBLISH_BEFORE_SIGNING_SECONDS } from './key-timing.js';
/** An unknown `kid` triggers a reload, at most this often, so junk tokens cannot hammer the database. */
const UNKNOWN_KID_RELOAD_MS = 1_000;

/** What verification needs: public material only. Private keys are read and decrypted apart, to sign. */
interface PublishedKey {
  kid: string;
  alg: KeyAlgorithm;
  publicJwk: JWK;
  publicKey: CryptoKey;
  /** ms since the epoch: signs in [signsFromMs, supersededAtMs), verifies until retireAtMs. */
  signsFromMs: number;
  /** Infinity while no newer key is due to take over. */
  supersededAtMs: number;
  /** Infinity while the key has no successor. */
  retireAtMs: number;
}

/** The key that signs access tokens now. */
export interface SigningKey {
  kid: string;
  alg: KeyAlgorithm;
  privateKey: CryptoKey;
}

/** The one thing KeyRing logs: a Fastify/pino logger fits. */
/** A public key as the JWKS serves it (OKP Ed25519 or EC P-256). */
export interface PublishedJwk {
  kty: string;
  kid: string;
  alg: string;
  use: string;
  crv: string;
  x: string;
  y?: string;
}

export interface KeyRingLog {
  info(fields: object, message: string): void;
}

const ENCRYPTED_PREFIX = 'enc:v1:';

/**
 * Private keys at rest: AES-256-GCM under a key derived (HKDF-SHA256) from KEY_ENCRYPTION_SECRET.
 * Without the secret (development only) they are stored as plain JWK.
 */
export class KeyVault {
  readonly #key: Buffer | null;

  /** `purpose`: each kind of secret gets a key of its own, derived from the one KEY_ENCRYPTION_SECRET. */
  constructor(secret: string | null, purpose = 'signing-key-encryption') {
    this.#key = secret === null ? null : Buffer.from(hkdfSync('sha256', secret, 'gatehouse', purpose, 32));
  }

  /** Whether `seal` encrypts (a secret is configured). */
  get encrypts(): boolean {
    return this.#key !== null;
  }

  /** Whether a stored value is ciphertext (as opposed to a plain JWK from before the secret was set). */
  static isSealed(stored: string): boolean {
    return stored.startsWith(ENCRYPTED_PREFIX);
  }

  seal(plaintext: string): string {
    if (!this.#key) return plaintext;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ENCRYPTED_PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  open(stored: string): string {
    if (!KeyVault.isSealed(stored)) return stored;
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

export interface RotateOptions {
  alg: KeyAlgorithm;
  /** The kind of key (default `access`); only keys of the same purpose are superseded. */
  purpose?: KeyPurpose;
  now: number;
  /** How long keys it supersedes keep verifying after it starts signing (ACCESS_TOKEN_TTL + 60). */
  verifyOldKeysForSeconds: number;
  /**
   * How long the new key is only published before it signs: PUBLISH_BEFORE_SIGNING_SECONDS for a
   * planned rotation; 0 (the default) signs at once — the first key, or a key that may have leaked.
   */
  signsAfterSeconds?: number;
  onlyIfNone?: boolean;
}

/**
 * Create a new signing key, published at once, signing from `now + signsAfterSeconds`; the keys it
 * supersedes sign until then and verify until `verifyOldKeysForSeconds` later.
 *
 * @example await rotateSigningKey(db, vault, { alg: 'EdDSA', now: Date.now(), verifyOldKeysForSeconds: 960, signsAfterSeconds: PUBLISH_BEFORE_SIGNING_SECONDS });
 */
export async function rotateSigningKey(db: Db, vault: KeyVault, options: RotateOptions): Promise<string> {
  const purpose = options.purpose ?? 'access';
  const { publicKey, privateKey } = await generateKeyPair(options.alg, {
    extractable: true,
    ...(options.alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
    ...(options.alg === 'RS256' ? { modulusLength: 2048 } : {}),
  });
  const publicJwk = await exportJWK(publicKey);
  const privateJwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const nowIso = new Date(options.now).toISOString();
  const signsFrom = options.now + (options.signsAfterSeconds ?? 0) * 1000;
  const signsFromIso = new Date(signsFrom).toISOString();
  const retireAt = new Date(signsFrom + options.verifyOldKeysForSeconds * 1000).toISOString();
  return db.transaction().execute(async (trx) => {
    // Instances starting together on an empty PostgreSQL database must not each create a first
    // key (each would publish only its own for a minute). SQLite: `serve` makes it before forking.
    if (trx.getExecutor().adapter instanceof PostgresAdapter) await sql`lock table signing_keys in share row exclusive mode`.execute(trx);
    if (options.onlyIfNone) {
      const existing = await trx.selectFrom('signing_keys').select('kid').where('purpose', '=', purpose).orderBy('created_at', 'desc').executeTakeFirst();
      if (existing) return existing.kid;
    }
    await assertVaultOpensLiveKeys(trx, vault, nowIso);
    // Keys due to hand over later than the new key starts (a pending successor, or the key it was
    // to replace) hand over when the new key starts instead.
    await trx
      .updateTable('signing_keys')
      .set({ superseded_at: signsFromIso, retire_at: retireAt })
      .where('purpose', '=', purpose)
      .where((eb) => eb.or([eb('superseded_at', 'is', null), eb('superseded_at', '>', signsFromIso)]))
      .execute();
    await trx
      .insertInto('signing_keys')
      .values({
        kid,
        alg: options.alg,
        public_jwk: JSON.stringify({ ...publicJwk, kid, alg: options.alg, use: 'sig' }),
        private_jwk: vault.seal(JSON.stringify(privateJwk)),
        created_at: nowIso,
        activates_at: signsFromIso,
        superseded_at: null,
        retire_at: null,
        purpose,
      })
      .execute();
    return kid;
  });
}

/**
 * A rotation run with another KEY_ENCRYPTION_SECRET than the servers' would seal a key they
 * cannot open, and signing would fail everywhere once it activates: refuse it here instead.
 */
async function assertVaultOpensLiveKeys(db: Db, vault: KeyVault, nowIso: string): Promise<void> {
  const rows = await db
    .selectFrom('signing_keys')
    .select('private_jwk')
    .where((eb) => eb.or([eb('retire_at', 'is', null), eb('retire_at', '>', nowIso)]))
    .execute();
  for (const row of rows) vault.open(row.private_jwk);
}

/** Encrypt, in place, private keys stored as plain JWK; returns how many this call sealed. */
async function resealPlaintextKeys(db: Db, vault: KeyVault): Promise<number> {
  if (!vault.encrypts) return 0;
  const rows = await db.selectFrom('signing_keys').select(['kid', 'private_jwk']).execute();
  let sealed = 0;
  for (const row of rows.filter((r) => !KeyVault.isSealed(r.private_jwk))) {
    // Conditional: an instance starting beside this one may have sealed the row already.
    const result = await db
      .updateTable('signing_keys')
      .set({ private_jwk: vault.seal(row.private_jwk) })
      .where('kid', '=', row.kid)
      .where('private_jwk', '=', row.private_jwk)
      .executeTakeFirst();
    sealed += Number(result.numUpdatedRows);
  }
  return sealed;
}

const silent: KeyRingLog = { info() {} };

/**
 * The keys every instance reads from the database. Every key not yet retired is published and
 * verifies; the one that signs is the latest whose `activates_at` has come and that no newer key
 * has taken over from. Verification only ever touches public keys: a private key is read and
 * decrypted when it is first needed to sign, then kept.
 */
export class KeyRing {
  #keys: PublishedKey[] = [];
  #signing = new Map<string, Promise<SigningKey>>();
  #privateJwks = new Map<string, Promise<JWK>>();
  #loadedAt = 0;
  #lastUnknownKidReload = 0;
  #loading: Promise<void> | null = null;

  constructor(
    private readonly db: Db,
    private readonly vault: KeyVault,
    private readonly clock: () => number,
    private readonly log: KeyRingLog = silent,
    /** Which keys this ring reads, makes and signs with. */
    readonly purpose: KeyPurpose = 'access',
  ) {}

  /**
   * Encrypt keys left in plain JWK when a secret is now configured, load the keys, create the
   * first one if the database has none, and decrypt the signing key: a wrong KEY_ENCRYPTION_SECRET
   * stops the start, not the first login.
   */
  async init(alg: KeyAlgorithm, verifyOldKeysForSeconds: number): Promise<void> {
    const sealed = await resealPlaintextKeys(this.db, this.vault);
    if (sealed > 0) {
      this.log.info({ sealed }, `encrypted ${sealed} signing key(s) stored in plain JWK (made before KEY_ENCRYPTION_SECRET was set)`);
    }
    await this.reload();
    if (this.#keys.length === 0) {
      // Signs at once: nobody can have cached a key set before the first key existed.
      await rotateSigningKey(this.db, this.vault, { alg, purpose: this.purpose, now: this.clock(), verifyOldKeysForSeconds, onlyIfNone: true });
      await this.reload();
    }
    await this.signingKey();
  }

  async reload(): Promise<void> {
    this.#loading ??= this.#load().finally(() => {
      this.#loading = null;
    });
    await this.#loading;
  }

  async #load(): Promise<void> {
    // Public columns only. Retired keys stay in the table (an audit trail) but are never loaded again.
    const rows = await this.db
      .selectFrom('signing_keys')
      .select(['kid', 'alg', 'public_jwk', 'created_at', 'activates_at', 'superseded_at', 'retire_at'])
      .where('purpose', '=', this.purpose)
      .where((eb) => eb.or([eb('retire_at', 'is', null), eb('retire_at', '>', new Date(this.clock()).toISOString())]))
      .orderBy('created_at', 'desc')
      .execute();
    const previous = new Map(this.#keys.map((key) => [key.kid, key]));
    const keys: PublishedKey[] = [];
    for (const row of rows) {
      const alg = row.alg as KeyAlgorithm;
      const known = previous.get(row.kid);
      const publicJwk = known?.publicJwk ?? (JSON.parse(row.public_jwk) as JWK);
      keys.push({
        kid: row.kid,
        alg,
        publicJwk,
        publicKey: known?.publicKey ?? ((await importJWK(publicJwk, alg)) as CryptoKey),
        signsFromMs: Date.parse(row.activates_at ?? row.created_at),
        supersededAtMs: row.superseded_at === null ? Infinity : Date.parse(row.superseded_at),
        retireAtMs: row.retire_at === null ? Infinity : Date.parse(row.retire_at),
      });
    }
    this.#keys = keys;
    this.#loadedAt = this.clock();
    // A retired key's private half leaves memory with it.
    for (const kid of this.#signing.keys()) if (!keys.some((key) => key.kid === kid)) this.#signing.delete(kid);
    for (const kid of this.#privateJwks.keys()) if (!keys.some((key) => key.kid === kid)) this.#privateJwks.delete(kid);
  }

  async #fresh(): Promise<void> {
    if (this.clock() - this.#loadedAt >= RELOAD_INTERVAL_MS) await this.reload();
  }

  #live(): PublishedKey[] {
    const now = this.clock();
    return this.#keys.filter((key) => key.retireAtMs > now);
  }

  /** The latest key in its signing window; else (no key active yet, e.g. clock skew after the first key) the soonest due. */
  #signer(): PublishedKey | undefined {
    const now = this.clock();
    const live = this.#live();
    let signer: PublishedKey | undefined;
    for (const key of live) {
      if (key.signsFromMs > now || key.supersededAtMs <= now) continue;
      // Ties go to the newer key: rows come newest first.
      if (!signer || key.signsFromMs > signer.signsFromMs) signer = key;
    }
    return signer ?? [...live].sort((a, b) => a.signsFromMs - b.signsFromMs)[0];
  }

  async signingKey(): Promise<SigningKey> {
    await this.#fresh();
    const key = this.#signer();
    if (!key) throw new Error('No signing key available.');
    let signing = this.#signing.get(key.kid);
    if (!signing) {
      signing = this.#decrypt(key);
      this.#signing.set(key.kid, signing);
      // A failure (a wrong secret, the database away) is not kept: the next call tries again.
      signing.catch(() => {
        if (this.#signing.get(key.kid) === signing) this.#signing.delete(key.kid);
      });
    }
    return signing;
  }

  async #decrypt(key: PublishedKey): Promise<SigningKey> {
    const row = await this.db.selectFrom('signing_keys').select('private_jwk').where('kid', '=', key.kid).executeTakeFirstOrThrow();
    const privateJwk = JSON.parse(this.vault.open(row.private_jwk)) as JWK;
    return { kid: key.kid, alg: key.alg, privateKey: (await importJWK(privateJwk, key.alg)) as CryptoKey };
  }

  /**
   * Which keys are live and which one signs, as one string that changes when either does (a
   * rotation here or, after the next reload, on another instance). The OpenID Connect provider
   * rebuilds its key set when it changes.
   */
  async keySetVersion(): Promise<string> {
    await this.#fresh();
    return `${this.#signer()?.kid ?? ''}|${this.#live().map((key) => key.kid).join(',')}`;
  }

  /**
   * Every live key as a private JWK (with `kid`, `alg` and `use`), the signing key first: the
   * OpenID Connect provider signs with the first key of its set and verifies with any of them.
   * Decrypted once per key, then kept until the key retires.
   */
  async privateJwks(): Promise<JWK[]> {
    await this.#fresh();
    const signer = this.#signer();
    const ordered = [...(signer ? [signer] : []), ...this.#live().filter((key) => key !== signer)];
    return Promise.all(
      ordered.map((key) => {
        let jwk = this.#privateJwks.get(key.kid);
        if (!jwk) {
          jwk = this.#openPrivateJwk(key);
          this.#privateJwks.set(key.kid, jwk);
          jwk.catch(() => {
            if (this.#privateJwks.get(key.kid) === jwk) this.#privateJwks.delete(key.kid);
          });
        }
        return jwk;
      }),
    );
  }

  async #openPrivateJwk(key: PublishedKey): Promise<JWK> {
    const row = await this.db.selectFrom('signing_keys').select('private_jwk').where('kid', '=', key.kid).executeTakeFirstOrThrow();
    return { ...(JSON.parse(this.vault.open(row.private_jwk)) as JWK), kid: key.kid, alg: key.alg, use: 'sig' };
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

  /** Public keys for the JWKS document: every key not retired, including one published ahead of signing. */
  async publicJwks(): Promise<PublishedJwk[]> {
    await this.#fresh();
    return this.#live().map(({ publicJwk: k }) => ({
      kty: String(k.kty),
      kid: String(k.kid),
      alg: String(k.alg),
      use: String(k.use),
      crv: String(k.crv),
      x: String(k.x),
      ...(typeof k.y === 'string' ? { y: k.y } : {}),
    }));
  }
}
