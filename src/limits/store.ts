import { OverloadedError } from '../errors.js';

export interface Counter {
  count: number;
  /** When the window ends (ms since the epoch). */
  resetAt: number;
}

/** What `slidingAdd` decided, and how many events the window holds after it. */
export interface SlidingCount {
  allowed: boolean;
  count: number;
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
  /**
   * A sliding window, for caps over "any `windowMs`" rather than fixed windows: forget the events
   * of `key` older than `windowMs`, then, if fewer than `limit` remain, record one now. One atomic
   * step per key, so of N concurrent calls with room for L exactly min(N, L) are allowed; a refused
   * call records nothing. A key is used with this operation only, never with the counters above.
   *
   * @example const { allowed } = await store.slidingAdd('mail:links:…', 3600_000, 5);
   */
  slidingAdd(key: string, windowMs: number, limit: number): Promise<SlidingCount>;
}

/** The budgets of MemoryLimitStore's counters: per-address counters, blocks and strikes, attempt counters. */
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
 *
 * Sliding windows (`slidingAdd`) are a fourth budget of `maxKeys` keys that also refuses rather
 * than forgets: dropping one would let a sender past a cap (a mail-bomb). Each key holds at most
 * `limit` timestamps, since a refused call records nothing.
 */
export class MemoryLimitStore implements LimitStore {
  readonly #tiers: Record<Tier, Budget>;
  readonly #windows: SlidingWindows;

  constructor(
    private readonly clock: () => number = Date.now,
    maxKeys = 100_000,
  ) {
    this.#tiers = { address: new Budget(maxKeys, 'evict-oldest'), held: new Budget(maxKeys, 'refuse'), counter: new Budget(maxKeys, 'refuse') };
    this.#windows = new SlidingWindows(maxKeys);
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
    this.#windows.delete(key);
  }

  async slidingAdd(key: string, windowMs: number, limit: number): Promise<SlidingCount> {
    return this.#windows.add(key, windowMs, limit, this.clock());
  }

  /** Keys held per budget (`window`: the sliding windows), for tests and metrics. */
  size(tier: Tier | 'window'): number {
    return tier === 'window' ? this.#windows.size : this.#tiers[tier].size;
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
    if (this.#entries.size >= this.maxKeys) throw new OverloadedError(retryAfterSeconds(this.#noSweepBefore, now));
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

/** Seconds until the earliest expiry, as a Retry-After for a full budget (1–60). */
function retryAfterSeconds(noSweepBefore: number, now: number): number {
  return Math.min(60, Math.max(1, Math.ceil((noSweepBefore - now) / 1000)));
}

interface Window {
  /** When each counted event happened (ms since the epoch); at most the largest `limit` asked for. */
  stamps: number[];
  /** When the newest event leaves the window: after this the key holds nothing. */
  expiresAt: number;
}

/** The sliding windows of MemoryLimitStore: a bounded map that refuses when full of live keys. */
class SlidingWindows {
  readonly #entries = new Map<string, Window>();
  /** No window expires before this (a lower bound), as in Budget. */
  #noSweepBefore = Number.POSITIVE_INFINITY;

  constructor(private readonly maxKeys: number) {}

  get size(): number {
    return this.#entries.size;
  }

  add(key: string, windowMs: number, limit: number, now: number): SlidingCount {
    const cutoff = now - windowMs;
    const existing = this.#entries.get(key);
    // Filtered rather than cut at the first live stamp: a test clock may move backwards.
    const live = existing ? existing.stamps.filter((stamp) => stamp > cutoff) : [];
    if (live.length >= limit) {
      if (existing) existing.stamps = live;
      return { allowed: false, count: live.length };
    }
    if (!existing && this.#entries.size >= this.maxKeys) this.#makeRoom(now);
    live.push(now);
    const expiresAt = now + windowMs;
    this.#entries.set(key, { stamps: live, expiresAt });
    this.#noSweepBefore = Math.min(this.#noSweepBefore, expiresAt);
    return { allowed: true, count: live.length };
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  #makeRoom(now: number): void {
    if (now >= this.#noSweepBefore) {
      let nextExpiry = Number.POSITIVE_INFINITY;
      for (const [key, entry] of this.#entries) {
        if (entry.expiresAt <= now) this.#entries.delete(key);
        else nextExpiry = Math.min(nextExpiry, entry.expiresAt);
      }
      this.#noSweepBefore = nextExpiry;
    }
    if (this.#entries.size >= this.maxKeys) throw new OverloadedError(retryAfterSeconds(this.#noSweepBefore, now));
  }
}
