import { createRequire } from 'node:module';
import bcrypt from 'bcrypt';
import { OverloadedError } from '../errors.js';
import { addressKey } from '../limits/address.js';
import { HashPool } from './hash-pool.js';
import type { HashJob, HashWorkers } from './hash-pool.js';

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

/** A caller waiting for a hashing slot. */
interface Waiter {
  start(): void;
  shed(error: OverloadedError): void;
}

/** Callers that name no source (the CLI, an unknown address) share one. */
const NO_SOURCE = '';

/**
 * bcrypt off the event loop, on `concurrency` low-priority worker threads (HashPool), and at most
 * `queueMax` waiting: beyond that a login is shed with 503 rather than letting every caller wait.
 *
 * The queue is shared fairly between sources (client addresses, an IPv6 client by its /64): each
 * source waits in a line of its own and the lines are served in turn, so a source's wait depends
 * on how many sources are waiting, not on how much each sent. When the queue is full, a newcomer
 * from a source holding fewer places than the largest holder takes that holder's newest place
 * (the holder's request is shed instead); otherwise the newcomer is shed. So a few busy addresses
 * cannot keep everyone else's logins at 503.
 */
export class PasswordHasher {
  #running = 0;
  /** Waiting callers by source, in the order the sources are served (round-robin). */
  readonly #lines = new Map<string, Waiter[]>();
  #queued = 0;
  #dummyHash: Promise<string> | null = null;

  #pool: HashWorkers | null = null;

  constructor(
    readonly cost: number,
    readonly concurrency: number,
    readonly queueMax: number,
    /** Scheduling niceness of the hash threads (0–19); 0 keeps them equal to the event loop. */
    readonly niceness = 10,
    /** What runs the jobs; tests inject a stand-in to hold or count them. */
    private readonly startWorkers: (size: number, niceness: number) => HashWorkers = (size, nice) => new HashPool(size, nice),
  ) {}

  /** Threads start on first use, so a hasher that never hashes costs nothing. */
  get #workers(): HashWorkers {
    this.#pool ??= this.startWorkers(this.concurrency, this.niceness);
    return this.#pool;
  }

  async close(): Promise<void> {
    await this.#pool?.close();
    this.#pool = null;
  }

  get queueDepth(): number {
    return this.#queued;
  }

  get inFlight(): number {
    return this.#running;
  }

  /** Hash a new password. `source`: the client address asking, for a fair share of the queue. */
  async hash(password: string, source?: string | null): Promise<string> {
    const result = await this.#withSlot(source, () => this.#workers.run({ op: 'hash', password: normalizePassword(password), cost: this.cost }));
    if (typeof result !== 'string') throw new Error('hash worker answered a hash job with a comparison');
    return result;
  }

  /**
   * Compare a password with a stored hash. Every path costs at least one comparison at the
   * configured cost: an absent hash is compared with a dummy, and a stored hash of a lower cost is
   * followed by a comparison with the dummy in the same job, so neither answers faster than a real
   * account does. `source`: the client address asking, for a fair share of the queue.
   */
  async verify(password: string, hash: string | null, source?: string | null): Promise<boolean> {
    const target = hash ?? (await this.dummyHash());
    const pad = hash !== null && this.#cheaperThanConfigured(hash) ? await this.dummyHash() : undefined;
    const normalized = normalizePassword(password);
    // Over-long or NUL-bearing input can never match a stored password, but still pays for one hash.
    const acceptable = Buffer.byteLength(normalized) <= PASSWORD_MAX_BYTES && !normalized.includes('\0');
    const candidate = acceptable ? normalized : 'x'.repeat(PASSWORD_MIN_BYTES);
    const job: HashJob = { op: 'compare', password: candidate, hash: target, ...(pad === undefined ? {} : { pad }) };
    const matches = await this.#withSlot(source, () => this.#workers.run(job));
    if (typeof matches !== 'boolean') throw new Error('hash worker answered a comparison with a hash');
    return matches && acceptable && hash !== null;
  }

  needsRehash(hash: string): boolean {
    return bcrypt.getRounds(hash) !== this.cost;
  }

  dummyHash(): Promise<string> {
    this.#dummyHash ??= bcrypt.hash('gatehouse-dummy-password', this.cost);
    return this.#dummyHash;
  }

  /** A hash whose cost cannot be read is treated as cheap: it must not answer faster either. */
  #cheaperThanConfigured(hash: string): boolean {
    try {
      return bcrypt.getRounds(hash) < this.cost;
    } catch {
      return true;
    }
  }

  async #withSlot<T>(source: string | null | undefined, work: () => Promise<T>): Promise<T> {
    if (this.#running < this.concurrency) this.#running += 1;
    // A waiter that is started inherits the slot of the caller that finished, so `running` stays.
    else await this.#wait(source ? addressKey(source) : NO_SOURCE);
    try {
      return await work();
    } finally {
      const next = this.#nextWaiter();
      if (next) next.start();
      else this.#running -= 1;
    }
  }

  #wait(source: string): Promise<void> {
    if (this.#queued >= this.queueMax) this.#makeRoomFor(source);
    return new Promise<void>((start, shed) => {
      const line = this.#lines.get(source);
      if (line) line.push({ start, shed });
      else this.#lines.set(source, [{ start, shed }]);
      this.#queued += 1;
    });
  }

  /** Sheds the largest holder's newest waiter for a source that holds fewer places; else refuses the newcomer. */
  #makeRoomFor(source: string): void {
    const held = this.#lines.get(source)?.length ?? 0;
    let largest: [string, Waiter[]] | null = null;
    for (const entry of this.#lines) if (!largest || entry[1].length > largest[1].length) largest = entry;
    if (!largest || held >= largest[1].length) throw new OverloadedError(1);
    const [holder, line] = largest;
    const shed = line.pop();
    if (line.length === 0) this.#lines.delete(holder);
    this.#queued -= 1;
    shed?.shed(new OverloadedError(1));
  }

  /** The first waiter of the source whose turn it is; that source then goes to the back of the round. */
  #nextWaiter(): Waiter | undefined {
    const turn = this.#lines.entries().next();
    if (turn.done) return undefined;
    const [source, line] = turn.value;
    const next = line.shift();
    this.#lines.delete(source);
    if (line.length > 0) this.#lines.set(source, line);
    this.#queued -= 1;
    return next;
  }
}
