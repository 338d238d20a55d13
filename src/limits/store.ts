import { OverloadedError } from '../errors.js';

export interface Counter {
  count: number;
  /** When the window ends (ms since the epoch). */
  resetAt: number;
}

/**
 * Counters with an expiry, shared by all instances when backed by Redis.
 * Values are small integers. Each operation is atomic on its key, in every implementation, so a
 * count read back from `increment` can be used to decide (reserve-then-act, never check-then-act).
 *
 * Keys name their kind, which is what the in-memory store budgets by:
 * - `ip:…` per-address counters (cheap for a client to create: one request each);
 * - `<namespace>:block:…` and `<namespace>:strikes:…` blocks and strike counts (see LoginThrottle);
 * - anything else: attempt and failure counters.
 */
export interface LimitStore {
  /** Add one to `key`, starting a window of `windowMs` if none is open; returns the new count and when the window ends. */
  increment(key: string, windowMs: number): Promise<Counter>;
  /** Take one back from `key`, keeping its window; at zero the key is gone. An absent key stays absent. */
  decrement(key: string): Promise<void>;
  get(key: string): Promise<Counter | null>;
  /** Set `key` to `count` until `resetAt`. */
  set(key: string, count: number, resetAt: number): Promise<void>;
  delete(key: string): Promise<void>;
}

/** The budgets of MemoryLimitStore: per-address counters, blocks and strikes, attempt counters. */
export type Tier = 'address' | 'held' | 'counter';

/** The budget a key is counted against; see LimitStore for the naming. */
export function tierOf(key: string): Tier {
  if (key.startsWith('ip:')) return 'address';
  const kind = key.split(':', 2)[1];
  return kind === 'block' || kind === 'strikes' ? 'held' : 'counter';
}

/**
 * One process's counters, in three budgets of `maxKeys` each, so that spraying one kind of key
 * can never push out another:
 * - per-address counters go oldest-first when full: forgetting one only gives an address a fresh
 *   minute, and refusing new ones would let a spray lock every new client out;
 * - blocks, strikes and attempt counters are never dropped before they expire, since dropping one
 *   would hand a guesser fresh attempts. When such a budget is full, expired entries are swept; if
 *   it is still full the operation is refused with OverloadedError (503) rather than forgetting.
 *   Filling it costs a password hash per key, so it is bounded by hash throughput.
 */
export class MemoryLimitStore implements LimitStore {
  readonly #tiers: Record<Tier, Budget>;

  constructor(
    private readonly clock: () => number = Date.now,
    maxKeys = 100_000,
  ) {
    this.#tiers = { address: new Budget(maxKeys, 'evict-oldest'), held: new Budget(maxKeys, 'refuse'), counter: new Budget(maxKeys, 'refuse') };
  }

  async increment(key: string, windowMs: number): Promise<Counter> {
    const now = this.clock();
    const budget = this.#budget(key);
    const current = budget.live(key, now);
    const next = current ? { count: current.count + 1, resetAt: current.resetAt } : { count: 1, resetAt: now + windowMs };
    budget.put(key, next, now);
    return { ...next };
  }

  async decrement(key: string): Promise<void> {
    const budget = this.#budget(key);
    const current = budget.live(key, this.clock());
    if (!current) return;
    if (current.count <= 1) budget.delete(key);
    else current.count -= 1;
  }

  async get(key: string): Promise<Counter | null> {
    const entry = this.#budget(key).live(key, this.clock());
    return entry ? { ...entry } : null;
  }

  async set(key: string, count: number, resetAt: number): Promise<void> {
    const now = this.clock();
    if (resetAt <= now) this.#budget(key).delete(key);
    else this.#budget(key).put(key, { count, resetAt }, now);
  }

  async delete(key: string): Promise<void> {
    this.#budget(key).delete(key);
  }

  /** Keys held per budget, for tests and metrics. */
  size(tier: Tier): number {
    return this.#tiers[tier].size;
  }

  #budget(key: string): Budget {
    return this.#tiers[tierOf(key)];
  }
}

/** One bounded map of counters and what it does when full. */
class Budget {
  readonly #entries = new Map<string, Counter>();
  /** No entry expires before this (a lower bound): sweeping sooner would free nothing. */
  #noSweepBefore = Number.POSITIVE_INFINITY;

  constructor(
    private readonly maxKeys: number,
    private readonly whenFull: 'evict-oldest' | 'refuse',
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  live(key: string, now: number): Counter | null {
    const entry = this.#entries.get(key);
    if (!entry) return null;
    if (entry.resetAt <= now) {
      this.#entries.delete(key);
      return null;
    }
    return entry;
  }

  put(key: string, value: Counter, now: number): void {
    if (!this.#entries.has(key) && this.#entries.size >= this.maxKeys) this.#makeRoom(now);
    // Re-inserted, so Map order is least recently written first: what evict-oldest drops.
    this.#entries.delete(key);
    this.#entries.set(key, value);
    this.#noSweepBefore = Math.min(this.#noSweepBefore, value.resetAt);
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  #makeRoom(now: number): void {
    if (this.whenFull === 'evict-oldest') {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
      return;
    }
    if (now >= this.#noSweepBefore) this.#sweep(now);
    if (this.#entries.size >= this.maxKeys) throw new OverloadedError(Math.min(60, Math.max(1, Math.ceil((this.#noSweepBefore - now) / 1000))));
  }

  /** Drops what has expired and notes the earliest expiry left, so a full budget is swept once per expiry, not once per call. */
  #sweep(now: number): void {
    let nextExpiry = Number.POSITIVE_INFINITY;
    for (const [key, entry] of this.#entries) {
      if (entry.resetAt <= now) this.#entries.delete(key);
      else nextExpiry = Math.min(nextExpiry, entry.resetAt);
    }
    this.#noSweepBefore = nextExpiry;
  }
}
