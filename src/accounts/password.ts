import { createRequire } from 'node:module';
import bcrypt from 'bcrypt';
import { OverloadedError } from '../errors.js';
import { HashPool } from './hash-pool.js';

export const PASSWORD_MIN_BYTES = 8;
/** bcrypt reads at most 72 bytes; longer passwords are refused rather than silently truncated. */
export const PASSWORD_MAX_BYTES = 72;

const require = createRequire(import.meta.url);
const { dictionary } = require('@zxcvbn-ts/language-common') as { dictionary: Record<string, string[]> };

/** The maintained zxcvbn-ts list of common passwords, reduced to those long enough to be accepted otherwise. */
const COMMON_PASSWORDS: ReadonlySet<string> = new Set(
  (dictionary['passwords-common'] ?? []).filter((p) => Buffer.byteLength(p) >= PASSWORD_MIN_BYTES).map((p) => p.toLowerCase()),
);

/** Unicode passwords are compared in NFC so the same text typed on two keyboards matches. */
export function normalizePassword(password: string): string {
  return password.normalize('NFC');
}

/** A lone UTF-16 surrogate cannot be encoded as UTF-8; stored or hashed, it silently becomes U+FFFD. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when `text` is well-formed Unicode (String.prototype.isWellFormed, which ES2023 typings lack). */
export function isWellFormedText(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

/** The reason a new password is refused, or null when it is acceptable. */
export function passwordProblem(password: string, username?: string): string | null {
  // Two different lone surrogates would hash alike (both become U+FFFD), so refuse them outright.
  if (!isWellFormedText(password)) return 'Password must be valid Unicode text.';
  const normalized = normalizePassword(password);
  const bytes = Buffer.byteLength(normalized, 'utf8');
  if (bytes < PASSWORD_MIN_BYTES) return `Password must be at least ${PASSWORD_MIN_BYTES} bytes long.`;
  if (bytes > PASSWORD_MAX_BYTES) return `Password must be at most ${PASSWORD_MAX_BYTES} bytes long (UTF-8).`;
  // bcrypt stops at a NUL byte, so everything after it would be ignored.
  if (normalized.includes('\0')) return 'Password must not contain NUL characters.';
  const lower = normalized.toLowerCase();
  if (COMMON_PASSWORDS.has(lower)) return 'This password is too common. Choose another.';
  if (username !== undefined && lower === username.toLowerCase()) return 'Password must not be the username.';
  return null;
}

/**
 * bcrypt off the event loop, on `concurrency` low-priority worker threads (HashPool), and at most
 * `queueMax` waiting: beyond that a login is shed with 503 rather than letting every caller wait.
 */
export class PasswordHasher {
  #running = 0;
  readonly #waiting: Array<() => void> = [];
  #dummyHash: Promise<string> | null = null;

  #pool: HashPool | null = null;

  constructor(
    readonly cost: number,
    readonly concurrency: number,
    readonly queueMax: number,
    /** Scheduling niceness of the hash threads (0–19); 0 keeps them equal to the event loop. */
    readonly niceness = 10,
  ) {}

  /** Threads start on first use, so a hasher that never hashes costs nothing. */
  get #workers(): HashPool {
    this.#pool ??= new HashPool(this.concurrency, this.niceness);
    return this.#pool;
  }

  async close(): Promise<void> {
    await this.#pool?.close();
    this.#pool = null;
  }

  get queueDepth(): number {
    return this.#waiting.length;
  }

  get inFlight(): number {
    return this.#running;
  }

  async hash(password: string): Promise<string> {
    return this.#withSlot(() => this.#workers.run({ op: 'hash', password: normalizePassword(password), cost: this.cost }));
  }

  /** Compare a password with a stored hash; an absent hash is compared with a dummy so both paths cost the same. */
  async verify(password: string, hash: string | null): Promise<boolean> {
    const target = hash ?? (await this.dummyHash());
    const normalized = normalizePassword(password);
    // Over-long or NUL-bearing input can never match a stored password, but still pays for one hash.
    const acceptable = Buffer.byteLength(normalized) <= PASSWORD_MAX_BYTES && !normalized.includes('\0');
    const candidate = acceptable ? normalized : 'x'.repeat(PASSWORD_MIN_BYTES);
    const matches = await this.#withSlot(() => this.#workers.run({ op: 'compare', password: candidate, hash: target }));
    return matches && acceptable && hash !== null;
  }

  needsRehash(hash: string): boolean {
    return bcrypt.getRounds(hash) !== this.cost;
  }

  dummyHash(): Promise<string> {
    this.#dummyHash ??= bcrypt.hash('gatehouse-dummy-password', this.cost);
    return this.#dummyHash;
  }

  async #withSlot<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running >= this.concurrency) {
      if (this.#waiting.length >= this.queueMax) throw new OverloadedError(1);
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running += 1;
    }
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      // The slot passes straight to the next waiter, so `running` stays the same.
      if (next) next();
      else this.#running -= 1;
    }
  }
}
